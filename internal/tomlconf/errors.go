package tomlconf

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem, located at the file, line and field that caused it.
type Error struct {
	// File names the source: a file, an embedded preset, or a command-line override.
	File string
	// Line is the 1-based line of the offending key; 0 when no line applies.
	Line int
	// Field is the dotted field path, e.g. "blocks.step_mode"; empty for syntax errors.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "file:line: field: msg", leaving out the parts that are
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// List is every problem found in one source.
type List []*Error

// Error prints one problem per line.
func (l List) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the individual errors to errors.Is and errors.As.
func (l List) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// EditDistance is the Levenshtein distance between a and b, used to suggest the known key
// nearest to a misspelt one. Inputs longer than 64 bytes count as 64 apart, which keeps
// the cost bounded on hostile input (no key is that long).
func EditDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Describe names the kind and value of a decoded TOML value for messages such as
// "want a number, got string "x"".
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

// SetFlag is the usual command-line flag of overrides ("--set path=value").
const SetFlag = "--set"

// SetError returns an Error about field in the override text, given by the index-th
// (0-based) use of the command-line flag: its File is the flag, its Line the 1-based
// position among that flag's uses, and the message quotes the override.
func SetError(flag string, index int, text, field, format string, args ...any) *Error {
	return &Error{File: flag, Line: index + 1, Field: field, Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (%s %s)", flag, text)}
}

// Sort orders problems by rank of their file (nil: all equal), then file, line and field;
// overrides come last, in command-line order. Reports are then deterministic.
func Sort(l []*Error, rank func(file string) int) {
	key := func(e *Error) int {
		switch {
		case strings.HasPrefix(e.File, "--"): // an override's flag
			return 1 << 30
		case rank != nil:
			return rank(e.File)
		}
		return 0
	}
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(key(a), key(b)), strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Field, b.Field))
	})
}
