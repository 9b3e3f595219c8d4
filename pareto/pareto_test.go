package pareto

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDominates(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want bool
	}{
		{"better in both", []float64{1, 1}, []float64{2, 2}, true},
		{"better in one, equal in other", []float64{1, 2}, []float64{2, 2}, true},
		{"equal", []float64{2, 2}, []float64{2, 2}, false},
		{"trade-off", []float64{1, 3}, []float64{2, 2}, false},
		{"worse", []float64{3, 3}, []float64{2, 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Dominates(tt.a, tt.b); got != tt.want {
				t.Errorf("Dominates(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestConstrainedDominates(t *testing.T) {
	good, bad := []float64{1, 1}, []float64{5, 5}
	tests := []struct {
		name         string
		a, b         []float64
		violA, violB float64
		want         bool
	}{
		{"feasible beats infeasible even if worse", bad, good, 0, 0.1, true},
		{"infeasible never beats feasible", good, bad, 0.1, 0, false},
		{"smaller violation wins", bad, good, 0.1, 0.2, true},
		{"larger violation loses", good, bad, 0.2, 0.1, false},
		{"both feasible: Pareto", good, bad, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConstrainedDominates(tt.a, tt.b, tt.violA, tt.violB); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSort(t *testing.T) {
	points := [][]float64{
		{1, 5}, // 0: front 1
		{2, 2}, // 1: front 1
		{5, 1}, // 2: front 1
		{3, 3}, // 3: front 2 (dominated by 1)
		{4, 4}, // 4: front 3
		{2, 6}, // 5: front 2 (dominated by 0)
	}
	t.Run("plain", func(t *testing.T) {
		want := [][]int{{0, 1, 2}, {3, 5}, {4}}
		if diff := cmp.Diff(want, Sort(points, nil)); diff != "" {
			t.Errorf("fronts (-want +got):\n%s", diff)
		}
	})
	t.Run("constrained", func(t *testing.T) {
		viol := []float64{0, 0.5, 0, 0, 0, 1}
		want := [][]int{{0, 2, 3}, {4}, {1}, {5}}
		if diff := cmp.Diff(want, Sort(points, viol)); diff != "" {
			t.Errorf("fronts (-want +got):\n%s", diff)
		}
	})
	t.Run("front", func(t *testing.T) {
		if diff := cmp.Diff([]int{0, 1, 2}, Front(points)); diff != "" {
			t.Errorf("front (-want +got):\n%s", diff)
		}
	})
}

func TestCrowding(t *testing.T) {
	points := [][]float64{{0, 4}, {1, 2}, {2, 1}, {4, 0}}
	got := Crowding(points, []int{0, 1, 2, 3})
	inf := math.Inf(1)
	// Point 1: (2-0)/4 + (4-1)/4 = 1.25; point 2: (4-1)/4 + (2-0)/4 = 1.25.
	want := []float64{inf, 1.25, 1.25, inf}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("crowding (-want +got):\n%s", diff)
	}
}

func TestHypervolume(t *testing.T) {
	tests := []struct {
		name   string
		points [][]float64
		ref    []float64
		want   float64
	}{
		{"empty", nil, []float64{1, 1}, 0},
		{"one point 2d", [][]float64{{0.5, 0.5}}, []float64{1, 1}, 0.25},
		{"staircase 2d", [][]float64{{0, 2}, {1, 1}, {2, 0}}, []float64{3, 3}, 3 + 2 + 1},
		{"dominated and outside points ignored", [][]float64{{1, 1}, {2, 2}, {4, 0}, {0, 3}}, []float64{3, 3}, 4},
		{"one point 3d", [][]float64{{0, 0, 0}}, []float64{1, 2, 3}, 6},
		{"two points 3d", [][]float64{{0, 0, 1}, {1, 1, 0}}, []float64{2, 2, 2}, 4 + 2 - 1},
		{"1d", [][]float64{{3}, {1}}, []float64{4}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hypervolume(tt.points, tt.ref); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Hypervolume = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHypervolumeMonteCarlo checks the 3-objective slicing against a Monte Carlo estimate.
func TestHypervolumeMonteCarlo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var points [][]float64
	for i := 0; i < 30; i++ {
		points = append(points, []float64{r.Float64(), r.Float64(), r.Float64()})
	}
	ref := []float64{1, 1, 1}
	exact := Hypervolume(points, ref)
	const n = 200000
	hits := 0
	for i := 0; i < n; i++ {
		x := []float64{r.Float64(), r.Float64(), r.Float64()}
		for _, p := range points {
			if p[0] <= x[0] && p[1] <= x[1] && p[2] <= x[2] {
				hits++
				break
			}
		}
	}
	est := float64(hits) / n
	if math.Abs(est-exact) > 0.005 {
		t.Errorf("hypervolume %v, Monte Carlo estimate %v", exact, est)
	}
}
