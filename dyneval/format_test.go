package dyneval

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/internal/golden"
)

// goldenSplits returns a fixed three-exit validation and test split of eight samples each.
func goldenSplits() (val, test *Split) {
	val = confSplit(
		[][]float32{
			{0.95, 0.41, 0.62, 0.88, 0.3, 0.55, 0.71, 0.2},
			{0.97, 0.66, 0.81, 0.9, 0.45, 0.72, 0.85, 0.5},
			{0.99, 0.8, 0.9, 0.93, 0.6, 0.86, 0.9, 0.7},
		},
		[][]bool{
			{true, false, true, true, false, false, true, false},
			{true, true, true, true, false, true, true, false},
			{true, true, true, true, true, true, true, false},
		},
	)
	test = confSplit(
		[][]float32{
			{0.91, 0.35, 0.66, 0.8, 0.25, 0.6, 0.75, 0.5},
			{0.93, 0.7, 0.8, 0.92, 0.5, 0.7, 0.8, 0.55},
			{0.98, 0.85, 0.88, 0.95, 0.65, 0.8, 0.92, 0.75},
		},
		[][]bool{
			{true, false, false, true, false, true, true, false},
			{true, true, false, true, false, true, true, true},
			{true, true, true, true, false, true, true, true},
		},
	)
	return val, test
}

var goldenCosts = []CostModel{
	{"cumulative", CostsFromInt64([]int64{15_000_000, 42_500_000, 121_560_000})},
	{"cone", CostsFromInt64([]int64{15_000_000, 38_000_000, 79_500_000})},
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestGolden(t *testing.T) {
	val, test := goldenSplits()
	anytime, err := Anytime(test, goldenCosts)
	if err != nil {
		t.Fatal(err)
	}
	budgeted, err := Budgeted(val, test, goldenCosts)
	if err != nil {
		t.Fatal(err)
	}
	writers := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"anytime.json", func(b *bytes.Buffer) error { return anytime.WriteJSON(b) }},
		{"anytime.csv", func(b *bytes.Buffer) error { return anytime.WriteCSV(b) }},
		{"anytime.txt", func(b *bytes.Buffer) error { return anytime.WriteTable(b) }},
		{"budgeted.json", func(b *bytes.Buffer) error { return budgeted.WriteJSON(b) }},
		{"budgeted.csv", func(b *bytes.Buffer) error { return budgeted.WriteCSV(b) }},
		{"budgeted.txt", func(b *bytes.Buffer) error { return budgeted.WriteTable(b) }},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := w.write(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, w.name, b.Bytes())
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	val, test := goldenSplits()
	budgeted, err := Budgeted(val, test, goldenCosts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := budgeted.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back BudgetedResult
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(budgeted, &back); diff != "" {
		t.Errorf("JSON round trip mismatch (-written +read):\n%s", diff)
	}
}

func TestFormatCost(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{121_560_000, "121.56M"},
		{2_500_000_000, "2.50G"},
		{1500, "1.50k"},
		{12.345, "12.35"},
		{0, "0"},
	}
	for _, tt := range tests {
		if got := FormatCost(tt.in); got != tt.want {
			t.Errorf("FormatCost(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
