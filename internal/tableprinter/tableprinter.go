// Package tableprinter prints rows as an aligned table for people on a terminal and as
// tab-separated values for programs when output is piped, the way the GitHub CLI does.
package tableprinter

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Printer collects rows and writes them on Render.
type Printer struct {
	w        io.Writer
	terminal bool
	rows     [][]string
	right    []bool
}

// New returns a Printer writing to w; terminal selects aligned output instead of TSV.
func New(w io.Writer, terminal bool) *Printer { return &Printer{w: w, terminal: terminal} }

// AlignRight right-aligns the given columns on a terminal (numbers read better that way).
func (p *Printer) AlignRight(cols ...int) {
	for _, c := range cols {
		for len(p.right) <= c {
			p.right = append(p.right, false)
		}
		p.right[c] = true
	}
}

// AddRow appends one row.
func (p *Printer) AddRow(fields ...string) { p.rows = append(p.rows, fields) }

// Render writes all rows. Tabs and newlines inside fields are replaced by spaces so that
// piped output stays one record per line.
func (p *Printer) Render() error {
	clean := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
	if !p.terminal {
		for _, r := range p.rows {
			out := make([]string, len(r))
			for i, f := range r {
				out[i] = clean.Replace(f)
			}
			if _, err := fmt.Fprintln(p.w, strings.Join(out, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	var widths []int
	for _, r := range p.rows {
		for i, f := range r {
			for len(widths) <= i {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(clean.Replace(f)))
		}
	}
	for _, r := range p.rows {
		var b strings.Builder
		for i, f := range r {
			f = clean.Replace(f)
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(f))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(p.right) && p.right[i] {
				b.WriteString(pad + f)
			} else if i < len(r)-1 {
				b.WriteString(f + pad)
			} else {
				b.WriteString(f)
			}
		}
		if _, err := fmt.Fprintln(p.w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// Human formats n with an SI suffix and two decimals (15128842 → "15.13M"); values below
// a thousand are printed as they are.
func Human(n int64) string {
	v := float64(n)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	for _, u := range []struct {
		scale  float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.scale {
			return fmt.Sprintf("%s%.2f%s", sign, v/u.scale, u.suffix)
		}
	}
	return fmt.Sprintf("%s%d", sign, int64(v))
}
