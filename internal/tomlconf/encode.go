package tomlconf

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Writer writes a TOML document in canonical form: one "key = value" line per field, in the
// order written, with a "[table]" header before the first key of each table. Keys of the
// top level must come first.
type Writer struct {
	buf   bytes.Buffer
	table string
}

// Key writes the value text (already TOML, e.g. from String or Float) of the dotted path
// "table.key" or "key".
func (w *Writer) Key(path, value string) {
	key := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		if t := path[:i]; t != w.table {
			w.table = t
			fmt.Fprintf(&w.buf, "\n[%s]\n", t)
		}
		key = path[i+1:]
	}
	fmt.Fprintf(&w.buf, "%s = %s\n", key, value)
}

// Comment writes a "# text" line.
func (w *Writer) Comment(text string) {
	fmt.Fprintf(&w.buf, "# %s\n", text)
}

// Bytes returns the document written so far.
func (w *Writer) Bytes() []byte { return w.buf.Bytes() }

// String quotes s as a TOML basic string, escaping quotes, backslashes and control
// characters.
func String(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Float writes the shortest decimal that reads back as x, always as a TOML float ("1.0",
// "nan", "inf").
func Float(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	t := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(t, ".eEn") {
		t += ".0"
	}
	return t
}

// Floats writes a TOML array of floats: "[0.5, 1.0]".
func Floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = Float(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Ints writes a TOML array of integers: "[1, 2, 4]".
func Ints(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
