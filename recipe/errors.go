package recipe

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a recipe.
type Error struct {
	// File is the recipe file, the embedded preset file ("presets/msdnet.toml") or, for
	// a bad override, the override itself ("--set optimizer.lr=x").
	File string
	// Line is the 1-based line of the offending key, or 0 when there is none (a missing key,
	// an override).
	Line int
	// Field is the dotted key path, e.g. "optimizer.lr"; empty for some syntax errors.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats e as "file:line: field: message", leaving out what is unknown.
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

// ErrorList is every problem found in one recipe, in file order.
type ErrorList []*Error

// Error returns the problems one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// sort orders the problems by file, then line, then field; overrides come last, in the
// order setOrder gives their File.
func (l ErrorList) sort(setOrder map[string]int) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		ao, bo := strings.HasPrefix(a.File, "--set "), strings.HasPrefix(b.File, "--set ")
		if ao != bo {
			if ao {
				return 1
			}
			return -1
		}
		if ao {
			return cmp.Compare(setOrder[a.File], setOrder[b.File])
		}
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Field, b.Field))
	})
}
