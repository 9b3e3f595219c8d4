package dyneval

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// table is a random probability table: probs[k][i] is exit k's softmax row for sample i.
type table struct {
	probs  [][][]float32
	labels []int
}

// randomTable returns a table of up to 6 exits, 1..60 samples and 3..12 classes. With
// quantise, probabilities are rounded to sixteenths so that confidences tie often.
func randomTable(r *rand.Rand, numExits int, quantise bool) table {
	n, classes := 1+r.IntN(60), 3+r.IntN(10)
	tb := table{labels: make([]int, n), probs: make([][][]float32, numExits)}
	for i := range tb.labels {
		tb.labels[i] = r.IntN(classes)
	}
	for k := range tb.probs {
		for range n {
			logits := make([]float64, classes)
			sum := 0.0
			for c := range logits {
				logits[c] = math.Exp(3 * r.NormFloat64())
				sum += logits[c]
			}
			row := make([]float32, classes)
			for c := range row {
				p := logits[c] / sum
				if quantise {
					p = math.Round(p*16) / 16
				}
				row[c] = float32(p)
			}
			tb.probs[k] = append(tb.probs[k], row)
		}
	}
	return tb
}

func (tb table) split(t *testing.T) *Split {
	t.Helper()
	s, err := SplitFromProbabilities(tb.probs, tb.labels)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// directAnytime evaluates every exit straight from the probability rows, ranking the
// classes of every row by a full sort.
func directAnytime(tb table) (top1, top5 []int) {
	for _, exit := range tb.probs {
		c1, c5 := 0, 0
		for i, row := range exit {
			order := make([]int, len(row))
			for c := range order {
				order[c] = c
			}
			sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
			if order[0] == tb.labels[i] {
				c1++
			}
			for _, c := range order[:min(5, len(order))] {
				if c == tb.labels[i] {
					c5++
				}
			}
		}
		top1, top5 = append(top1, c1), append(top5, c5)
	}
	return top1, top5
}

func increasingCosts(r *rand.Rand, numExits int) []float64 {
	costs := make([]float64, numExits)
	sum := 0.0
	for k := range costs {
		sum += float64(1 + r.IntN(1_000_000))
		costs[k] = sum
	}
	return costs
}

func TestAnytimeAgainstDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 100 {
		tb := randomTable(r, 1+r.IntN(6), trial%2 == 0)
		costs := []CostModel{{"cumulative", increasingCosts(r, len(tb.probs))}}
		got, err := Anytime(tb.split(t), costs)
		if err != nil {
			t.Fatal(err)
		}
		top1, top5 := directAnytime(tb)
		n := len(tb.labels)
		for k, e := range got.Exits {
			want := AnytimeExit{
				Exit: k + 1, Correct1: top1[k], Correct5: top5[k],
				Top1: 100 * float64(top1[k]) / float64(n), Top5: 100 * float64(top5[k]) / float64(n),
				Cost: map[string]float64{"cumulative": costs[0].Costs[k]},
			}
			if diff := cmp.Diff(want, e); diff != "" {
				t.Fatalf("trial %d, exit %d mismatch (-direct +Anytime):\n%s", trial, k+1, diff)
			}
		}
		if got.N != n || len(got.Exits) != len(tb.probs) {
			t.Fatalf("trial %d: N = %d with %d exits, want %d with %d", trial, got.N, len(got.Exits), n, len(tb.probs))
		}
	}
}

func TestBudgetedAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 60 {
		numExits := 1 + r.IntN(6)
		quantise := trial%2 == 0
		valTable, testTable := randomTable(r, numExits, quantise), randomTable(r, numExits, quantise)
		val, test := valTable.split(t), testTable.split(t)
		costs := []CostModel{{"cumulative", increasingCosts(r, numExits)}, {"cone", increasingCosts(r, numExits)}}
		got, err := Budgeted(val, test, costs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Settings) != NumBudgetSettings {
			t.Fatalf("%d settings, want %d", len(got.Settings), NumBudgetSettings)
		}
		for p, s := range got.Settings {
			thresholds := bruteThresholds(val.Confidence, GeometricQuotas(val.NumSamples(), p+1, numExits))
			if diff := cmp.Diff(thresholds, []float32(s.Thresholds)); diff != "" {
				t.Fatalf("trial %d, p = %d: thresholds mismatch (-brute +got):\n%s", trial, p+1, diff)
			}
			for _, c := range []struct {
				name    string
				split   *Split
				outcome Outcome
			}{{"test", test, s.Test}, {"validation", val, s.Validation}} {
				want := Outcome{N: c.split.NumSamples(), ExitCounts: make([]int, numExits), ExpectedCost: map[string]float64{}}
				for i, k := range bruteExits(c.split.Confidence, thresholds) {
					want.ExitCounts[k]++
					if int(c.split.Prediction[k][i]) == c.split.Labels[i] {
						want.Correct++
					}
				}
				want.Top1 = 100 * float64(want.Correct) / float64(want.N)
				for _, m := range costs {
					for k, count := range want.ExitCounts {
						want.ExpectedCost[m.Name] += float64(count) * m.Costs[k] / float64(want.N)
					}
				}
				if diff := cmp.Diff(want, c.outcome, cmp.Comparer(closeFloat)); diff != "" {
					t.Fatalf("trial %d, p = %d, %s outcome mismatch (-brute +got):\n%s", trial, p+1, c.name, diff)
				}
			}
		}
	}
}

// closeFloat compares floats to a relative 1e-12: the brute force sums in another order.
func closeFloat(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestBudgetedProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 100 {
		numExits := 1 + r.IntN(6)
		valTable, testTable := randomTable(r, numExits, trial%3 == 0), randomTable(r, numExits, trial%3 == 0)
		val, test := valTable.split(t), testTable.split(t)
		cum := increasingCosts(r, numExits)
		costs := []CostModel{{"cumulative", cum}}
		got, err := Budgeted(val, test, costs)
		if err != nil {
			t.Fatal(err)
		}
		prevExit1 := map[string]int{"test": math.MaxInt, "validation": math.MaxInt}
		for _, s := range got.Settings {
			for name, o := range map[string]Outcome{"test": s.Test, "validation": s.Validation} {
				sum := 0
				for _, c := range o.ExitCounts {
					sum += c
				}
				if sum != o.N {
					t.Fatalf("trial %d, p = %d, %s: exit counts %v sum to %d, want %d", trial, s.P, name, o.ExitCounts, sum, o.N)
				}
				// P_1 falls as q grows, so exit 1's threshold can only rise.
				if o.ExitCounts[0] > prevExit1[name] {
					t.Fatalf("trial %d, p = %d, %s: %d samples leave at exit 1, more than the %d at smaller q", trial, s.P, name, o.ExitCounts[0], prevExit1[name])
				}
				prevExit1[name] = o.ExitCounts[0]
				if e := o.ExpectedCost["cumulative"]; e < cum[0]*(1-1e-12) || e > cum[numExits-1]*(1+1e-12) {
					t.Fatalf("trial %d, p = %d, %s: expected cost %v outside [%v, %v]", trial, s.P, name, e, cum[0], cum[numExits-1])
				}
			}
			// On the split they were fitted on, at least out_n samples leave at exit 1.
			if outN := s.Quotas[0]; numExits > 1 && s.Validation.ExitCounts[0] < outN {
				t.Fatalf("trial %d, p = %d: %d validation samples leave at exit 1, fewer than out_n = %d", trial, s.P, s.Validation.ExitCounts[0], outN)
			}
		}

		// Thresholds that send everyone to the last exit reproduce its anytime accuracy.
		lastOnly := make([]float64, numExits)
		lastOnly[numExits-1] = 1
		o, err := Apply(test, FitThresholds(val, lastOnly), costs)
		if err != nil {
			t.Fatal(err)
		}
		any, err := Anytime(test, costs)
		if err != nil {
			t.Fatal(err)
		}
		last := any.Exits[numExits-1]
		if o.ExitCounts[numExits-1] != o.N || o.Top1 != last.Top1 || o.ExpectedCost["cumulative"] != cum[numExits-1] {
			t.Fatalf("trial %d: everyone-last outcome %+v, want all %d at the last exit with top-1 %v and cost %v", trial, o, o.N, last.Top1, cum[numExits-1])
		}
	}
}

func TestBudgetedErrors(t *testing.T) {
	two := confSplit([][]float32{{0.9, 0.4}, {0.5, 0.5}}, nil)
	three := confSplit([][]float32{{0.9}, {0.5}, {0.1}}, nil)
	empty := NewSplit(2, nil)
	costs := []CostModel{{"c", []float64{1, 2}}}
	tests := []struct {
		name      string
		val, test *Split
		costs     []CostModel
	}{
		{"exit counts differ", two, three, nil},
		{"empty validation", empty, two, costs},
		{"empty test", two, empty, costs},
		{"cost vector too long", two, two, []CostModel{{"c", []float64{1, 2, 3}}}},
		{"malformed test", two, &Split{}, costs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Budgeted(tt.val, tt.test, tt.costs); err == nil {
				t.Error("Budgeted error = nil, want one")
			}
		})
	}
	if _, err := Anytime(empty, costs); err == nil {
		t.Error("Anytime on an empty split: error = nil, want one")
	}
}
