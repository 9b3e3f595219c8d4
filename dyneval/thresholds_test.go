package dyneval

import (
	"math"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// bruteThresholds recomputes FitThresholds differently: at every exit it collects the
// confidences of the samples still in play, sorts them from scratch and reads the out_n-th.
func bruteThresholds(conf [][]float32, quotas []int) []float32 {
	numExits, n := len(conf), len(conf[0])
	exited := make(map[int]bool)
	var t []float32
	for k := 0; k < numExits-1; k++ {
		var remaining []float64
		for i := 0; i < n; i++ {
			if !exited[i] {
				remaining = append(remaining, float64(conf[k][i]))
			}
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(remaining)))
		want := quotas[k]
		threshold := 1e8
		if want >= 1 && want <= len(remaining) {
			threshold = remaining[want-1]
		}
		t = append(t, float32(threshold))
		for i := 0; i < n; i++ {
			if float64(conf[k][i]) >= threshold {
				exited[i] = true
			}
		}
	}
	return append(t, -1e8)
}

// bruteExits recomputes ExitsTaken differently: the exit of a sample is the smallest of the
// exits whose threshold it meets, the last exit always being one of them.
func bruteExits(conf [][]float32, t []float32) []int {
	numExits := len(conf)
	exits := make([]int, len(conf[0]))
	for i := range exits {
		meets := []int{numExits - 1}
		for k := numExits - 1; k >= 0; k-- {
			if conf[k][i] >= t[k] {
				meets = append(meets, k)
			}
		}
		sort.Ints(meets)
		exits[i] = meets[0]
	}
	return exits
}

func TestFitThresholdsHandMade(t *testing.T) {
	tests := []struct {
		name   string
		conf   [][]float32
		target []float64
		want   Thresholds
		exits  []int // of the validation samples themselves
	}{
		{
			// out_n = 2 at exit 1: samples 0 and 1. At exit 2, sample 1 has the highest
			// confidence but has already exited, so the first unmarked one is sample 2.
			name:   "marked samples are skipped",
			conf:   [][]float32{{0.9, 0.8, 0.7, 0.6}, {0.5, 0.95, 0.85, 0.4}, {0, 0, 0, 0}},
			target: []float64{0.5, 0.25, 0.25},
			want:   Thresholds{0.8, 0.85, AcceptAll},
			exits:  []int{0, 0, 1, 2},
		},
		{
			// out_n = 2 at exit 1 lands inside a tie at 0.7: all three tied samples exit,
			// four in all. At exit 2, out_n = 4 takes every sample still left.
			name:   "ties exit past out_n",
			conf:   [][]float32{{0.9, 0.7, 0.7, 0.7, 0.2, 0.1, 0.3, 0.6}, {0.1, 0.1, 0.1, 0.1, 0.3, 0.5, 0.6, 0.2}, {0, 0, 0, 0, 0, 0, 0, 0}},
			target: []float64{0.25, 0.5, 0.25},
			want:   Thresholds{0.7, 0.2, AcceptAll},
			exits:  []int{0, 0, 0, 0, 1, 1, 1, 1},
		},
		{
			name:   "too few left",
			conf:   [][]float32{{0.9, 0.8, 0.8, 0.1}, {0.2, 0.3, 0.3, 0.9}, {0, 0, 0, 0}},
			target: []float64{0.5, 0.5, 0},
			want:   Thresholds{0.8, NoExit, AcceptAll},
			exits:  []int{0, 0, 0, 2},
		},
		{
			// floor(3·0.25) = 0 at both inner exits.
			name:   "out_n is zero",
			conf:   [][]float32{{0.9, 0.8, 0.7}, {0.9, 0.8, 0.7}, {0.1, 0.2, 0.3}},
			target: []float64{0.25, 0.25, 0.5},
			want:   Thresholds{NoExit, NoExit, AcceptAll},
			exits:  []int{2, 2, 2},
		},
		{
			name:   "single exit",
			conf:   [][]float32{{0.3, 0.9}},
			target: []float64{1},
			want:   Thresholds{AcceptAll},
			exits:  []int{0, 0},
		},
		{
			// Every sample ties at exit 1, so out_n = 1 marks them all.
			name:   "all confident at exit 1",
			conf:   [][]float32{{0.99, 0.99, 0.99, 0.99}, {0.5, 0.6, 0.7, 0.8}, {0, 0, 0, 0}},
			target: []float64{0.25, 0.25, 0.5},
			want:   Thresholds{0.99, NoExit, AcceptAll},
			exits:  []int{0, 0, 0, 0},
		},
		{
			name:   "target puts everyone at exit 1",
			conf:   [][]float32{{0.4, 0.9, 0.6}, {0.5, 0.6, 0.7}},
			target: []float64{1, 0},
			want:   Thresholds{0.4, AcceptAll},
			exits:  []int{0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			val := confSplit(tt.conf, nil)
			got := FitThresholds(val, tt.target)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FitThresholds mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]float32(tt.want), bruteThresholds(tt.conf, ExitQuotas(len(tt.conf[0]), tt.target))); diff != "" {
				t.Errorf("hand-made want disagrees with the brute-force recomputation (-want +brute):\n%s", diff)
			}
			if diff := cmp.Diff(tt.exits, ExitsTaken(val, got)); diff != "" {
				t.Errorf("ExitsTaken mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFitThresholdsIgnoresTieOrder(t *testing.T) {
	// The same confidences in two sample orders give the same thresholds.
	a := [][]float32{{0.5, 0.5, 0.9, 0.5, 0.1}, {0.3, 0.8, 0.2, 0.8, 0.8}, {0, 0, 0, 0, 0}}
	perm := []int{4, 3, 2, 1, 0}
	b := make([][]float32, len(a))
	for k := range a {
		for _, i := range perm {
			b[k] = append(b[k], a[k][i])
		}
	}
	target := []float64{0.4, 0.4, 0.2}
	ta, tb := FitThresholds(confSplit(a, nil), target), FitThresholds(confSplit(b, nil), target)
	if diff := cmp.Diff(ta, tb); diff != "" {
		t.Errorf("thresholds depend on sample order (-original +permuted):\n%s", diff)
	}
}

func TestGeometricQuotas(t *testing.T) {
	tests := []struct {
		n, p, numExits int
		want           []int
	}{
		{9999, 2, 4, []int{9000, 900, 90, 9}}, // n·P_1 is 9000 exactly; float64 gives 8999.999…
		{9999, 13, 2, []int{6060, 3939}},      // 9999·20/33 = 6060
		// 7322.998… at exit 3, where the reference's float32 gives 7323. Computed with
		// Python's fractions.Fraction.
		{50000, 12, 8, []int{20341, 12204, 7322, 4393, 2636, 1581, 949, 569}},
		{10, 20, 4, []int{2, 2, 2, 2}},
		{7, 39, 1, []int{7}},
		{0, 5, 3, []int{0, 0, 0}},
	}
	for _, tt := range tests {
		got := GeometricQuotas(tt.n, tt.p, tt.numExits)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GeometricQuotas(%d, %d, %d) mismatch (-want +got):\n%s", tt.n, tt.p, tt.numExits, diff)
		}
	}
	// Away from integers, the exact quotas agree with floor(n·P_k) in float64.
	for _, n := range []int{1, 17, 5000, 10000, 45000} {
		for numExits := 1; numExits <= 10; numExits++ {
			for p := 1; p <= NumBudgetSettings; p++ {
				target := TargetDistribution(BudgetQ(p), numExits)
				for k, q := range GeometricQuotas(n, p, numExits) {
					x := float64(n) * target[k]
					if math.Abs(x-math.Round(x)) > 1e-6 && q != int(math.Floor(x)) {
						t.Errorf("GeometricQuotas(%d, %d, %d)[%d] = %d, want floor(%v)", n, p, numExits, k, q, x)
					}
				}
			}
		}
	}
}

func TestExitOf(t *testing.T) {
	th := Thresholds{0.8, 0.6, AcceptAll}
	tests := []struct {
		name string
		conf []float32
		want int
	}{
		{"confident at once", []float32{0.9, 0.1, 0.1}, 0},
		{"tie exits", []float32{0.8, 0.1, 0.1}, 0},
		{"second exit", []float32{0.7, 0.6, 0.1}, 1},
		{"last exit takes anything", []float32{0.1, 0.1, 0}, 2},
		{"undecided prefix", []float32{0.1}, 1},
		{"decided prefix", []float32{0.1, 0.7}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := th.ExitOf(tt.conf); got != tt.want {
				t.Errorf("ExitOf(%v) = %d, want %d", tt.conf, got, tt.want)
			}
		})
	}
	if !(Thresholds{NoExit, AcceptAll}).Accepts(1, float32(math.NaN())) {
		t.Error("the last exit refuses a NaN confidence")
	}
}

func TestTargetDistribution(t *testing.T) {
	approx := cmpopts.EquateApprox(1e-15, 0)
	tests := []struct {
		q    float64
		k    int
		want []float64
	}{
		{1, 4, []float64{0.25, 0.25, 0.25, 0.25}},
		{0.5, 3, []float64{4.0 / 7, 2.0 / 7, 1.0 / 7}},
		{2, 3, []float64{1.0 / 7, 2.0 / 7, 4.0 / 7}},
		{0.05, 1, []float64{1}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, TargetDistribution(tt.q, tt.k), approx); diff != "" {
			t.Errorf("TargetDistribution(%v, %d) mismatch (-want +got):\n%s", tt.q, tt.k, diff)
		}
	}
	var qs []float64
	for p := 1; p <= NumBudgetSettings; p++ {
		qs = append(qs, BudgetQ(p))
	}
	if qs[0] != 0.05 || qs[19] != 1 || qs[38] != 1.95 {
		t.Errorf("BudgetQ(1, 20, 39) = %v, %v, %v; want 0.05, 1, 1.95", qs[0], qs[19], qs[38])
	}
}

func TestExpectedCost(t *testing.T) {
	tests := []struct {
		name   string
		counts []int
		costs  []float64
		want   float64
	}{
		{"weighted mean", []int{2, 1, 1}, []float64{10, 20, 40}, 20},
		{"all last", []int{0, 0, 5}, []float64{10, 20, 40}, 40},
		{"no samples", []int{0, 0}, []float64{1, 2}, 0},
		// Exact MAC counts stay exact: 3/4·8_000_000 + 1/4·121_560_000.
		{"MAC counts", []int{3, 1}, CostsFromInt64([]int64{8_000_000, 121_560_000}), 36_390_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpectedCost(tt.counts, tt.costs); got != tt.want {
				t.Errorf("ExpectedCost(%v, %v) = %v, want %v", tt.counts, tt.costs, got, tt.want)
			}
		})
	}
}

func TestApplyOutcome(t *testing.T) {
	s := confSplit(
		[][]float32{{0.9, 0.8, 0.7, 0.6}, {0.5, 0.95, 0.85, 0.4}, {0, 0, 0, 0}},
		[][]bool{{true, false, true, true}, {true, true, false, true}, {true, true, true, false}},
	)
	costs := []CostModel{{"cumulative", []float64{10, 20, 40}}, {"cone", []float64{10, 15, 25}}}
	got, err := Apply(s, Thresholds{0.8, 0.85, AcceptAll}, costs)
	if err != nil {
		t.Fatal(err)
	}
	// Exits 0, 0, 1, 2: correct, wrong, wrong, wrong.
	want := Outcome{
		N: 4, ExitCounts: []int{2, 1, 1}, Correct: 1, Top1: 25,
		ExpectedCost: map[string]float64{"cumulative": 20, "cone": 15},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyErrors(t *testing.T) {
	s := confSplit([][]float32{{0.9}, {0.5}}, nil)
	tests := []struct {
		name  string
		t     Thresholds
		costs []CostModel
	}{
		{"short cost vector", Thresholds{0.5, AcceptAll}, []CostModel{{"c", []float64{1}}}},
		{"bad name", Thresholds{0.5, AcceptAll}, []CostModel{{"a,b", []float64{1, 2}}}},
		{"empty name", Thresholds{0.5, AcceptAll}, []CostModel{{"", []float64{1, 2}}}},
		{"duplicate name", Thresholds{0.5, AcceptAll}, []CostModel{{"c", []float64{1, 2}}, {"c", []float64{1, 2}}}},
		{"negative cost", Thresholds{0.5, AcceptAll}, []CostModel{{"c", []float64{-1, 2}}}},
		{"NaN cost", Thresholds{0.5, AcceptAll}, []CostModel{{"c", []float64{math.NaN(), 2}}}},
		{"wrong threshold count", Thresholds{AcceptAll}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply(s, tt.t, tt.costs); err == nil {
				t.Error("Apply error = nil, want one")
			}
		})
	}
}
