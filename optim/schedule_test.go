package optim

import (
	"math"
	"testing"
)

func TestMultiStep(t *testing.T) {
	msdnet := MultiStep{Base: 0.1, Epochs: 300, Milestones: []float64{0.5, 0.75}, Gamma: 0.1}
	odd := MultiStep{Base: 1, Epochs: 7, Milestones: []float64{0.5, 0.75}, Gamma: 0.5}
	for _, tc := range []struct {
		s     MultiStep
		epoch int
		want  float64
	}{
		{msdnet, 0, 0.1},
		{msdnet, 149, 0.1},
		// The values Python prints for lr *= 0.1 and lr *= 0.1**2 (float64 rounding included).
		{msdnet, 150, 0.010000000000000002},
		{msdnet, 224, 0.010000000000000002},
		{msdnet, 225, 0.0010000000000000002},
		{msdnet, 299, 0.0010000000000000002},
		// 0.5·7 = 3.5 and 0.75·7 = 5.25: the drops come at epochs 4 and 6.
		{odd, 3, 1},
		{odd, 4, 0.5},
		{odd, 5, 0.5},
		{odd, 6, 0.25},
	} {
		for _, iter := range []int{0, 99} {
			if got := tc.s.LR(tc.epoch, iter, 100); got != tc.want {
				t.Errorf("%+v.LR(%d, %d, 100) = %v, want %v", tc.s, tc.epoch, iter, got, tc.want)
			}
		}
	}
}

func TestConstant(t *testing.T) {
	if got := (Constant{Base: 0.05}).LR(12, 3, 100); got != 0.05 {
		t.Errorf("Constant.LR = %v, want 0.05", got)
	}
}

func TestWarmupCosine(t *testing.T) {
	// 10 epochs of 4 iterations, 2 warm-up epochs: W = 8 warm-up iterations, T = 40.
	s := WarmupCosine{Base: 0.7, Min: 0.1, Epochs: 10, WarmupEpochs: 2}
	cosine := func(i float64) float64 { return 0.1 + 0.5*0.6*(1+math.Cos(math.Pi*i/32)) }
	for _, tc := range []struct {
		epoch, iter int
		want        float64
	}{
		{0, 0, 0},               // linspace(0, 0.7, 8)[0]
		{0, 1, 0.1},             // 1·0.7/7
		{1, 2, 0.6},             // t = 6: 6·0.1
		{1, 3, 0.7},             // t = 7, the last warm-up iteration, is Base exactly
		{2, 0, 0.7},             // t = 8: cosine starts at Base
		{6, 0, cosine(16)},      // halfway through the decay: (Base+Min)/2
		{9, 3, cosine(31)},      // last iteration
		{10, 0, cosine(31)},     // past the end: the last rate
		{3, 2, cosine(4 + 2.0)}, // t = 14
	} {
		got := s.LR(tc.epoch, tc.iter, 4)
		if math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("LR(%d, %d, 4) = %v, want %v", tc.epoch, tc.iter, got, tc.want)
		}
	}
	if got := s.LR(6, 0, 4); math.Abs(got-0.4) > 1e-15 {
		t.Errorf("midpoint LR = %v, want 0.4", got)
	}
	noWarmup := WarmupCosine{Base: 0.1, Epochs: 2}
	if got := noWarmup.LR(0, 0, 5); got != 0.1 {
		t.Errorf("LR without warm-up at t=0 = %v, want 0.1", got)
	}
	if got := noWarmup.LR(1, 0, 5); math.Abs(got-0.05) > 1e-15 {
		t.Errorf("LR without warm-up at t=T/2 = %v, want 0.05", got)
	}
	oneIter := WarmupCosine{Base: 0.1, Epochs: 2, WarmupEpochs: 1}
	if got := oneIter.LR(0, 0, 1); got != 0 {
		t.Errorf("LR with one warm-up iteration = %v, want 0 (numpy linspace)", got)
	}
}

func TestWarmupCosinePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("LR with warm-up as long as training did not panic")
		}
	}()
	WarmupCosine{Base: 0.1, Epochs: 3, WarmupEpochs: 3}.LR(0, 0, 10)
}
