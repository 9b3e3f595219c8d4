package tomlconf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Doc is one parsed TOML document.
type Doc struct {
	// File names the document in errors: a file, an embedded preset.
	File string
	// Values is the decoded document.
	Values map[string]any
	// Lines locates its keys.
	Lines Lines
}

// Decode parses data, named file in errors. A syntax error comes back alone, located at its
// line and at the last key the decoder read.
func Decode(file string, data []byte) (*Doc, *Error) {
	var values map[string]any
	if _, err := toml.Decode(string(data), &values); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line := pe.Position.Line
			if line < 1 {
				// The decoder leaves the line unset for some errors at the end of input.
				line = 1 + bytes.Count(data[:min(max(pe.Position.Start, 0), len(data))], []byte("\n"))
			}
			return nil, &Error{File: file, Line: line, Field: strings.Trim(pe.LastKey, "."), Msg: pe.Message}
		}
		return nil, &Error{File: file, Msg: err.Error()}
	}
	return &Doc{File: file, Values: values, Lines: KeyLines(data)}, nil
}

// ReadErrorMsg is the reason of a failed read without the path, which the Error that
// carries it names already.
func ReadErrorMsg(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Errorf returns an Error about the dotted field path, located at its line in the document
// (or its nearest enclosing key's).
func (d *Doc) Errorf(path, format string, args ...any) *Error {
	return &Error{File: d.File, Line: d.Lines.Of(path), Field: path, Msg: fmt.Sprintf(format, args...)}
}
