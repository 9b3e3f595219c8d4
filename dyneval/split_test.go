package dyneval

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecord(t *testing.T) {
	tests := []struct {
		name  string
		label int
		probs []float32
		conf  float32
		pred  int32
		top5  bool
	}{
		{"label is argmax", 2, []float32{0.1, 0.2, 0.7}, 0.7, 2, true},
		{"fewer than five classes", 0, []float32{0.1, 0.2, 0.7}, 0.7, 2, true},
		{"tie goes to lower index", 1, []float32{0.4, 0.4, 0.2}, 0.4, 0, true},
		{"sixth of seven", 5, []float32{0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.1}, 0.2, 0, false},
		{"fifth of seven", 4, []float32{0.2, 0.2, 0.15, 0.15, 0.1, 0.1, 0.1}, 0.2, 0, true},
		{"below six others", 5, []float32{0.3, 0.2, 0.15, 0.12, 0.1, 0.05, 0.08}, 0.3, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSplit(1, []int{tt.label})
			if err := s.Record(0, 0, tt.probs); err != nil {
				t.Fatal(err)
			}
			got := []any{s.Confidence[0][0], s.Prediction[0][0], s.InTop5[0][0]}
			want := []any{tt.conf, tt.pred, tt.top5}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(conf, pred, top5) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordErrors(t *testing.T) {
	tests := []struct {
		name    string
		label   int
		probs   []float32
		message string
	}{
		{"NaN", 0, []float32{0.5, float32(math.NaN())}, "probability of class 1 is NaN"},
		{"Inf", 0, []float32{float32(math.Inf(1)), 0}, "probability of class 0 is +Inf"},
		{"label too large", 3, []float32{0.5, 0.5}, "label 3 outside the 2 classes"},
		{"negative label", -1, []float32{0.5, 0.5}, "label -1 outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewSplit(1, []int{tt.label}).Record(0, 0, tt.probs)
			if err == nil || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("Record error = %v, want one containing %q", err, tt.message)
			}
		})
	}
}

func TestSplitFromProbabilitiesShape(t *testing.T) {
	_, err := SplitFromProbabilities([][][]float32{{{1, 0}}, {}}, []int{0})
	if err == nil || !strings.Contains(err.Error(), "exit 2 has 0 samples, want 1") {
		t.Fatalf("error = %v, want a sample-count error for exit 2", err)
	}
	if _, err := SplitFromProbabilities(nil, nil); err == nil {
		t.Fatal("no error for a split without exits")
	}
}

func TestValidate(t *testing.T) {
	good := func() *Split { return confSplit([][]float32{{0.5, 0.6}, {0.7, 0.8}}, nil) }
	tests := []struct {
		name  string
		spoil func(s *Split)
	}{
		{"short exit", func(s *Split) { s.Confidence[1] = s.Confidence[1][:1] }},
		{"missing predictions", func(s *Split) { s.Prediction = s.Prediction[:1] }},
		{"NaN confidence", func(s *Split) { s.Confidence[0][1] = float32(math.NaN()) }},
		{"no exits", func(s *Split) { s.Confidence = nil }},
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate of a good split: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.spoil(s)
			if err := s.Validate(); err == nil {
				t.Error("Validate = nil, want an error")
			}
		})
	}
}

// confSplit builds a split directly from confidences conf[k][i] and correctness
// correct[k][i] (nil: all correct). Every label is 0; a wrong prediction is class 1, and
// top-5 correctness follows top-1.
func confSplit(conf [][]float32, correct [][]bool) *Split {
	s := NewSplit(len(conf), make([]int, len(conf[0])))
	for k := range conf {
		copy(s.Confidence[k], conf[k])
		for i := range conf[k] {
			ok := correct == nil || correct[k][i]
			if !ok {
				s.Prediction[k][i] = 1
			}
			s.InTop5[k][i] = ok
		}
	}
	return s
}
