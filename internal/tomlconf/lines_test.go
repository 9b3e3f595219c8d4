package tomlconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyLines(t *testing.T) {
	doc := `# comment with key = 1 and [table]
name = "a # not a comment" # comment
description = """
fake = 1
[fake]
"""
lit = '''x
y = 2'''
"quoted key" = 1
dotted . key = 2
arr = [
  1, # x = 3
  "[not]",
  { in = 1 },
]
inline = { a = 1, b = { c = 2 }, d = [ { e = 1 } ] }

[ scales ]
gr_factor = [1, 2]

[[runs]]
seed = 1
`
	want := Lines{
		"name":             2,
		"description":      3,
		"lit":              7,
		"quoted key":       9,
		"dotted":           10,
		"dotted.key":       10,
		"arr":              11,
		"arr.in":           14,
		"arr[1]":           14,
		"arr[1].in":        14,
		"inline":           16,
		"inline.a":         16,
		"inline.b":         16,
		"inline.b.c":       16,
		"inline.d":         16,
		"inline.d.e":       16,
		"inline.d[1]":      16,
		"inline.d[1].e":    16,
		"scales":           18,
		"scales.gr_factor": 19,
		"runs":             21,
		"runs.seed":        22,
		"runs[1]":          21,
		"runs[1].seed":     22,
	}
	if diff := cmp.Diff(want, KeyLines([]byte(doc))); diff != "" {
		t.Errorf("key lines (-want +got):\n%s", diff)
	}
}

func TestKeyLinesEndsOnGarbage(t *testing.T) {
	// Not TOML at all: the scanner must still end and not panic.
	for _, doc := range []string{"", "[", "[[", "a = \"", "a = '''", "= = =", "{{{{", "]]]]", "\"\\", "a.\"b", "x = [{,}]\n}"} {
		KeyLines([]byte(doc))
	}
}

func TestKeyLinesQuotedDottedAndMultiline(t *testing.T) {
	src := `a = 1 # comment with [brackets] and = sign
"quoted.key" = 2
arr = [
  1,
  [2, 3],
]
s = """
[not.a.table]
x = 1
"""
[t . "u"]
b = { c = 1 }
d.e = "x # not a comment"
[[list]]
f = 1
`
	want := Lines{
		"a": 1, "quoted.key": 2, "quoted": 2, "arr": 3, "s": 7, "t": 11, "t.u": 11, "t.u.b": 12, "t.u.b.c": 12,
		"t.u.d": 13, "t.u.d.e": 13, "list": 14, "list[1]": 14, "list.f": 15, "list[1].f": 15,
	}
	if diff := cmp.Diff(want, KeyLines([]byte(src))); diff != "" {
		t.Errorf("KeyLines (-want +got):\n%s", diff)
	}
}

func TestLinesOf(t *testing.T) {
	lines := Lines{"a": 1, "a.b": 2}
	for path, want := range map[string]int{"a": 1, "a.b": 2, "a.b.c": 2, "a.x": 1, "z": 0} {
		if got := lines.Of(path); got != want {
			t.Errorf("Of(%q) = %d, want %d", path, got, want)
		}
	}
}
