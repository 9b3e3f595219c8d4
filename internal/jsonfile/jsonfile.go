// Package jsonfile reads and writes msdx's own JSON files (run.json, status.json,
// ablation.json, eval/report.json, ...) under one rule, written once: a reader rejects
// unknown fields, so that a file is read only by an msdx that knows all of it, and a
// writer writes indented JSON with a final newline, atomically.
package jsonfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/msdx/msdx/internal/atomicfile"
)

// Read decodes the JSON file name into v, rejecting unknown fields. An error reading the
// file is returned as os gives it (it names the file and wraps os.ErrNotExist when there
// is none); an error decoding it names the file and wraps the decoder's.
func Read(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := Decode(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Decode decodes one JSON value from b into v, rejecting unknown fields: for JSON that is
// not a file of its own (a journal line, a checkpoint's metadata).
func Decode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Write writes v to the file name as indented JSON ending in a newline, atomically.
func Write(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(name, append(b, '\n'), 0o644)
}
