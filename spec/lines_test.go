package spec

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
	want := map[string]int{
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
	if diff := cmp.Diff(want, keyLines([]byte(doc))); diff != "" {
		t.Errorf("key lines (-want +got):\n%s", diff)
	}
}

func TestKeyLinesEndsOnGarbage(t *testing.T) {
	// Not TOML at all: the scanner must still end and not panic.
	for _, doc := range []string{"", "[", "[[", "a = \"", "a = '''", "= = =", "{{{{", "]]]]", "\"\\", "a.\"b", "x = [{,}]\n}"} {
		keyLines([]byte(doc))
	}
}
