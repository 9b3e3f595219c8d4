package dyneval

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Written formats. Numbers in CSV are written as encoding/json writes them: the shortest
// decimal that reads back to the same float64 (float32 for thresholds), without an exponent
// unless the magnitude is below 1e-6 or at least 1e21. NoExit and AcceptAll thus appear as
// 100000000 and -100000000, as in JSON. Exits are numbered from 1 in every format.

// WriteJSON writes r as indented JSON, with the field names of the struct tags of
// AnytimeResult and AnytimeExit, followed by a newline.
func (r *AnytimeResult) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteJSON writes r as indented JSON, with the field names of the struct tags of
// BudgetedResult, BudgetSetting and Outcome, followed by a newline.
func (r *BudgetedResult) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("dyneval: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteCSV writes r as CSV with a header row and one row per exit. The columns are
//
//	exit, n, correct_top1, correct_top5, top1_percent, top5_percent, cost_<model>...
//
// with one cost column per cost model, in the order of r.CostModels.
func (r *AnytimeResult) WriteCSV(w io.Writer) error {
	header := []string{"exit", "n", "correct_top1", "correct_top5", "top1_percent", "top5_percent"}
	for _, m := range r.CostModels {
		header = append(header, "cost_"+m)
	}
	rows := [][]string{header}
	for _, e := range r.Exits {
		row := []string{itoa(e.Exit), itoa(r.N), itoa(e.Correct1), itoa(e.Correct5), ftoa(e.Top1), ftoa(e.Top5)}
		for _, m := range r.CostModels {
			row = append(row, ftoa(e.Cost[m]))
		}
		rows = append(rows, row)
	}
	return writeCSV(w, rows)
}

// WriteCSV writes r as CSV with a header row and one row per budget setting. The columns are
//
//	p, q, n, correct, top1_percent, expected_cost_<model>...,
//	val_n, val_correct, val_top1_percent, val_expected_cost_<model>...,
//	exits_1..exits_K, val_exits_1..val_exits_K, threshold_1..threshold_K
//
// with one expected-cost column per cost model, in the order of r.CostModels; the unprefixed
// columns are the test split's, exits_k counts the samples leaving at exit k and threshold_k
// is exit k's threshold.
func (r *BudgetedResult) WriteCSV(w io.Writer) error {
	header := []string{"p", "q", "n", "correct", "top1_percent"}
	for _, m := range r.CostModels {
		header = append(header, "expected_cost_"+m)
	}
	header = append(header, "val_n", "val_correct", "val_top1_percent")
	for _, m := range r.CostModels {
		header = append(header, "val_expected_cost_"+m)
	}
	for _, prefix := range []string{"exits_", "val_exits_", "threshold_"} {
		for k := range r.NumExits {
			header = append(header, prefix+itoa(k+1))
		}
	}
	rows := [][]string{header}
	for _, s := range r.Settings {
		row := []string{itoa(s.P), ftoa(s.Q)}
		for _, o := range []Outcome{s.Test, s.Validation} {
			row = append(row, itoa(o.N), itoa(o.Correct), ftoa(o.Top1))
			for _, m := range r.CostModels {
				row = append(row, ftoa(o.ExpectedCost[m]))
			}
		}
		for _, c := range s.Test.ExitCounts {
			row = append(row, itoa(c))
		}
		for _, c := range s.Validation.ExitCounts {
			row = append(row, itoa(c))
		}
		for _, t := range s.Thresholds {
			row = append(row, formatFloat(float64(t), 32))
		}
		rows = append(rows, row)
	}
	return writeCSV(w, rows)
}

func writeCSV(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("dyneval: %w", err)
	}
	return nil
}

// WriteTable writes r as a plain-text table with right-aligned columns: exit, top-1 and
// top-5 accuracy in percent and the exit's cost under every cost model (see FormatCost).
func (r *AnytimeResult) WriteTable(w io.Writer) error {
	tw := newTableWriter(w)
	header := []string{"exit", "top1 %", "top5 %"}
	for _, m := range r.CostModels {
		header = append(header, "cost "+m)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, e := range r.Exits {
		row := []string{itoa(e.Exit), fmt.Sprintf("%.2f", e.Top1), fmt.Sprintf("%.2f", e.Top5)}
		for _, m := range r.CostModels {
			row = append(row, FormatCost(e.Cost[m]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

// WriteTable writes r as a plain-text table with right-aligned columns: p, q, test top-1
// accuracy in percent, the expected cost under every cost model (see FormatCost) and the
// test samples leaving at each exit, separated by '/'.
func (r *BudgetedResult) WriteTable(w io.Writer) error {
	tw := newTableWriter(w)
	header := []string{"p", "q", "top1 %"}
	for _, m := range r.CostModels {
		header = append(header, "E[cost "+m+"]")
	}
	header = append(header, "exits (test)")
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, s := range r.Settings {
		row := []string{itoa(s.P), fmt.Sprintf("%.2f", s.Q), fmt.Sprintf("%.2f", s.Test.Top1)}
		for _, m := range r.CostModels {
			row = append(row, FormatCost(s.Test.ExpectedCost[m]))
		}
		counts := make([]string, len(s.Test.ExitCounts))
		for k, c := range s.Test.ExitCounts {
			counts[k] = itoa(c)
		}
		row = append(row, strings.Join(counts, "/"))
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

// tableWriter aligns tab-terminated cells to the right, two spaces apart, and drops the two
// spaces that tabwriter puts before the first column.
type tableWriter struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTableWriter(w io.Writer) *tableWriter {
	t := &tableWriter{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	return t
}

func (t *tableWriter) Write(p []byte) (int, error) { return t.tw.Write(p) }

func (t *tableWriter) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range strings.Lines(t.buf.String()) {
		out.WriteString(strings.TrimPrefix(line, "  "))
	}
	_, err := t.w.Write(out.Bytes())
	return err
}

// FormatCost formats a cost for people: with two decimals and the suffix G, M or k at or
// above 1e9, 1e6 or 1e3, and with four significant digits below.
func FormatCost(c float64) string {
	a := math.Abs(c)
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.2fG", c/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", c/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.2fk", c/1e3)
	}
	return strconv.FormatFloat(c, 'g', 4, 64)
}

func itoa(i int) string     { return strconv.Itoa(i) }
func ftoa(f float64) string { return formatFloat(f, 64) }

// formatFloat formats f like encoding/json: plain decimals between 1e-6 and 1e21.
func formatFloat(f float64, bitSize int) string {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'g'
	}
	return strconv.FormatFloat(f, format, -1, bitSize)
}
