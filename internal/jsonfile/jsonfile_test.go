package jsonfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndStrictness(t *testing.T) {
	type doc struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	name := filepath.Join(t.TempDir(), "x.json")
	if err := Write(name, doc{1, "x"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n"; got != want {
		t.Errorf("written %q, want %q", got, want)
	}
	var d doc
	if err := Read(name, &d); err != nil || d != (doc{1, "x"}) {
		t.Errorf("Read = %+v, %v", d, err)
	}
	if err := os.WriteFile(name, []byte(`{"a": 1, "c": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Read(name, &d); err == nil || !strings.Contains(err.Error(), name+`: json: unknown field "c"`) {
		t.Errorf("Read of an unknown field: %v", err)
	}
	if err := Read(filepath.Join(t.TempDir(), "none.json"), &d); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read of a missing file: %v, want os.ErrNotExist", err)
	}
}
