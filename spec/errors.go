package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem with a spec, located at the file, line and field that caused it.
type Error struct {
	// File is the spec file name, "<preset NAME>" for an embedded preset, or "--set" for a
	// command-line override.
	File string
	// Line is the 1-based line of the offending key; for "--set" it is the 1-based index of
	// the override. Zero means the value is a default that no line set.
	Line int
	// Field is the dotted field path, e.g. "blocks.step_mode"; empty for syntax errors.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "file:line: field: msg", leaving out the parts that are unknown.
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

// ErrorList is every problem found in one spec, in file and line order. Load, Parse and
// Resolve return an ErrorList (never empty) for any problem with the spec's content.
type ErrorList []*Error

// Error prints one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortErrors orders by file (spec files first, then presets, then overrides), line and field,
// so that reports are deterministic.
func sortErrors(l ErrorList) {
	rank := func(file string) int {
		switch {
		case file == setFile:
			return 2
		case strings.HasPrefix(file, "<preset "):
			return 1
		}
		return 0
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if ra, rb := rank(a.File), rank(b.File); ra != rb {
			return ra < rb
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Field < b.Field
	})
}

// setFile is the File of errors and positions that come from --set overrides.
const setFile = "--set"

// Pos is where one field's value was written.
type Pos struct {
	// File is as in Error.File.
	File string
	// Line is as in Error.Line; zero means a default.
	Line int
	// Text is the override text ("path=value") for values from --set; empty otherwise.
	Text string
}

// Origin records where the values of a resolved Spec came from.
type Origin struct {
	// File is the name of the spec file (or "<preset NAME>") that was resolved. Defaults
	// are reported against it, with line 0.
	File string
	// Fields maps a dotted field path to where its value was last written. Table paths
	// ("blocks") map to their header line, and are used when a field of the table was not
	// written.
	Fields map[string]Pos
}

// Errorf returns an Error about the given dotted field path, located where the field's
// value was written: its own line, else the line of its enclosing table, else line 0 of the
// spec file (the value is a default). Values from --set overrides are reported against
// "--set" and quote the override. The builder uses it to reject specs that cannot run.
func (s *Spec) Errorf(field, format string, args ...any) *Error {
	e := &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
	if s.Origin == nil {
		e.File = s.Name
		return e
	}
	e.File = s.Origin.File
	if p, ok := s.Origin.Fields[field]; ok {
		e.File, e.Line = p.File, p.Line
		switch {
		case p.Text != "":
			e.Msg += fmt.Sprintf(" (--set %s)", p.Text)
		case p.File != s.Origin.File && strings.HasPrefix(p.File, "<preset "):
			e.Msg += " (value from the preset named by extends)"
		}
		return e
	}
	e.Msg += " (default value)"
	for parent := field; ; {
		i := strings.LastIndexByte(parent, '.')
		if i < 0 {
			break
		}
		parent = parent[:i]
		if p, ok := s.Origin.Fields[parent]; ok && p.File != setFile {
			e.File, e.Line = p.File, p.Line
			break
		}
	}
	return e
}
