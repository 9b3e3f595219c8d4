package spec

import (
	"fmt"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// Error is one problem with a spec, located at the file, line and field that caused it.
// File is the spec file name, "<preset NAME>" for an embedded preset, or "--set" for a
// command-line override; for "--set", Line is the 1-based index of the override, and zero
// means the value is a default that no line set.
type Error = tomlconf.Error

// ErrorList is every problem found in one spec, in file and line order. Load, Parse and
// Resolve return an ErrorList (never empty) for any problem with the spec's content. It is a
// type of its own, so that errors.As tells a spec's problems from a recipe's.
type ErrorList []*Error

// Error prints one problem per line.
func (l ErrorList) Error() string { return tomlconf.List(l).Error() }

// Unwrap gives the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error { return tomlconf.List(l).Unwrap() }

// sortErrors orders by file (spec files first, then presets, then overrides), line and field,
// so that reports are deterministic.
func sortErrors(l ErrorList) {
	tomlconf.Sort(l, func(file string) int {
		if strings.HasPrefix(file, "<preset ") {
			return 1
		}
		return 0
	})
}

// setFile is the File of errors and positions that come from --set overrides.
const setFile = tomlconf.SetFlag

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
