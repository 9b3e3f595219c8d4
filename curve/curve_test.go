package curve

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// same is equality with NaN equal to NaN.
func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestAt(t *testing.T) {
	c := []Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}, {MACs: 30, Top1: 65}}
	for _, tc := range []struct{ budget, want float64 }{
		{5, math.NaN()}, {10, 50}, {15, 60}, {20, 70}, {25, 70}, {100, 70},
	} {
		if got := At(c, tc.budget); !same(tc.want, got) {
			t.Errorf("At(%v) = %v, want %v", tc.budget, got, tc.want)
		}
	}
	if got := At(nil, 10); !math.IsNaN(got) {
		t.Errorf("At of no points = %v, want NaN", got)
	}
}

func TestStepAt(t *testing.T) {
	exits := []Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}, {MACs: 30, Top1: 65}}
	for _, tc := range []struct{ budget, want float64 }{
		{5, math.NaN()}, {10, 50}, {15, 50}, {29, 70}, {30, 65}, {100, 65},
	} {
		if got := StepAt(exits, tc.budget); !same(tc.want, got) {
			t.Errorf("StepAt(%v) = %v, want %v", tc.budget, got, tc.want)
		}
	}
}

func TestArea(t *testing.T) {
	exits := []Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}, {MACs: 40, Top1: 80}}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// (10·60 + 20·75) / 30 = 70.
		{"sorted", Area(exits), 70},
		{"unsorted", Area([]Point{exits[2], exits[0], exits[1]}), 70},
		{"one point", Area(exits[:1]), 50},
		{"equal costs", Area([]Point{{MACs: 5, Top1: 40}, {MACs: 5, Top1: 60}}), 50},
		{"no points", Area(nil), math.NaN()},
	}
	for _, tt := range tests {
		if !same(tt.want, tt.got) && math.Abs(tt.got-tt.want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestMean(t *testing.T) {
	a := []Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}}
	b := []Point{{MACs: 12, Top1: 54}, {MACs: 22, Top1: 72}}
	if diff := cmp.Diff([]Point{{MACs: 11, Top1: 52}, {MACs: 21, Top1: 71}}, Mean([][]Point{a, b})); diff != "" {
		t.Errorf("Mean (-want +got):\n%s", diff)
	}
	if got := Mean([][]Point{a, b[:1]}); got != nil {
		t.Errorf("Mean of curves of different lengths = %v, want nil", got)
	}
}

func TestFrontAndHypervolume(t *testing.T) {
	pts := []Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}, {MACs: 30, Top1: 65}, {MACs: 40, Top1: 80}, {MACs: 20, Top1: 70}}
	if diff := cmp.Diff([]int{0, 1, 3, 4}, Front(pts)); diff != "" {
		t.Errorf("Front (-want +got):\n%s", diff)
	}
	if !Dominates(pts[1], pts[2]) || Dominates(pts[1], pts[4]) || Dominates(pts[0], pts[1]) {
		t.Errorf("Dominates disagrees with the front")
	}
	ref := Point{MACs: 44, Top1: 0}
	// (44-10)·50 + (44-20)·20 + (44-40)·10; the dominated point and the duplicate add nothing.
	if got, want := Hypervolume(pts, ref), 34.0*50+24*20+4*10; got != want {
		t.Errorf("Hypervolume = %v, want %v", got, want)
	}
	if got := Hypervolume([]Point{{MACs: 50, Top1: 90}, {MACs: 10, Top1: -1}}, ref); got != 0 {
		t.Errorf("Hypervolume of points outside the reference box = %v, want 0", got)
	}
}
