package nsga2

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/pareto"
)

func zdt(shape func(f1, g float64) float64) func(x []float64) ([]float64, float64) {
	return func(x []float64) ([]float64, float64) {
		s := 0.0
		for _, v := range x[1:] {
			s += v
		}
		g := 1 + 9*s/float64(len(x)-1)
		return []float64{x[0], g * shape(x[0], g)}, 0
	}
}

var (
	zdt1 = zdt(func(f1, g float64) float64 { return 1 - math.Sqrt(f1/g) })
	zdt2 = zdt(func(f1, g float64) float64 { return 1 - (f1/g)*(f1/g) })
)

func front(pop []Individual) [][]float64 {
	var out [][]float64
	for _, ind := range pop {
		if ind.Violation == 0 {
			out = append(out, ind.F)
		}
	}
	return out
}

// TestZDT runs NSGA-II with 30 variables, a population of 100 and 250 generations
// (25,000 evaluations) on ZDT1 and ZDT2 and checks the hypervolume of the final
// population with respect to (1, 1) against the true fronts' 2/3 and 1/3. Seeds 1 to 8
// gave 0.6589-0.6595 on ZDT1 and 0.3259-0.3265 on ZDT2.
func TestZDT(t *testing.T) {
	tests := []struct {
		name     string
		f        func([]float64) ([]float64, float64)
		min, opt float64
	}{
		{"ZDT1", zdt1, 0.655, 2.0 / 3},
		{"ZDT2", zdt2, 0.322, 1.0 / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pop := Minimize(Config{Vars: 30, Pop: 100, Seed: 1}, 250, tt.f)
			hv := pareto.Hypervolume(front(pop), []float64{1, 1})
			t.Logf("%s: hypervolume %.4f (optimum %.4f)", tt.name, hv, tt.opt)
			if hv < tt.min || hv > tt.opt+1e-9 {
				t.Errorf("%s: hypervolume %.4f, want in [%.3f, %.4f]", tt.name, hv, tt.min, tt.opt)
			}
		})
	}
}

// constr is Deb's CONSTR problem: minimise x1 and (1+x2)/x1 over x1 in [0.1, 1], x2 in
// [0, 5], subject to x2 + 9 x1 >= 6 and -x2 + 9 x1 >= 1. Without the constraints the
// front is x2 = 0 for every x1; the first constraint cuts it off for x1 < 2/3, where the
// constrained front follows x2 = 6 - 9 x1.
func constr(x []float64) ([]float64, float64) {
	x1, x2 := 0.1+0.9*x[0], 5*x[1]
	v := math.Max(0, 6-(x2+9*x1)) + math.Max(0, 1-(-x2+9*x1))
	return []float64{x1, (1 + x2) / x1}, v
}

func TestConstrained(t *testing.T) {
	pop := Minimize(Config{Vars: 2, Pop: 60, Seed: 3}, 100, constr)
	var left int
	for _, ind := range pop {
		if ind.Violation > 0 {
			t.Fatalf("infeasible individual %v (violation %g) in the final population", ind.X, ind.Violation)
		}
		x1, x2 := 0.1+0.9*ind.X[0], 5*ind.X[1]
		if x1 < 2.0/3-0.01 {
			left++
			// On the constrained part of the front the first constraint is active.
			if d := x2 - (6 - 9*x1); d > 0.25 {
				t.Errorf("x = (%.3f, %.3f): %.3f above the constraint boundary", x1, x2, d)
			}
		}
	}
	if left < 10 {
		t.Errorf("%d of %d individuals on the constrained part of the front (x1 < 2/3), want at least 10", left, len(pop))
	}
	hv := pareto.Hypervolume(front(pop), []float64{1, 10})
	t.Logf("CONSTR: hypervolume %.4f w.r.t. (1, 10)", hv)
	// The true front's hypervolume is 19(2/3 - 7/19) - 7 ln(19·2/21) + 10/3 - ln 1.5 ≈ 4.443;
	// seeds 1 to 8 gave 4.361-4.380.
	if hv < 4.3 {
		t.Errorf("CONSTR hypervolume %.4f, want at least 4.3", hv)
	}
}

func TestDeterministic(t *testing.T) {
	run := func(seed uint64) []Individual {
		return Minimize(Config{Vars: 5, Pop: 20, Seed: seed}, 10, zdt1)
	}
	if diff := cmp.Diff(run(7), run(7)); diff != "" {
		t.Errorf("two runs with seed 7 differ:\n%s", diff)
	}
	if cmp.Equal(run(7), run(8)) {
		t.Errorf("runs with seeds 7 and 8 are identical")
	}
}

func TestAskTell(t *testing.T) {
	o := New(Config{Vars: 3, Pop: 8, Seed: 1})
	xs := o.Ask()
	if len(xs) != 8 {
		t.Fatalf("Ask returned %d points, want 8", len(xs))
	}
	for _, x := range xs {
		for _, v := range x {
			if v < 0 || v > 1 {
				t.Fatalf("point %v outside the unit cube", x)
			}
		}
	}
	inds := make([]Individual, len(xs))
	for i, x := range xs {
		f, v := zdt1(x)
		inds[i] = Individual{X: x, F: f, Violation: v}
	}
	o.Tell(inds)
	if got := len(o.Population()); got != 8 {
		t.Fatalf("population of %d, want 8", got)
	}
	if o.Population()[0].Rank != 0 {
		t.Errorf("population does not start with the first front")
	}
}
