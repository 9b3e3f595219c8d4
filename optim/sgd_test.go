package optim

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/kernels"
)

// TestSGDHand checks three steps against values worked out by hand. All inputs are dyadic
// rationals, so every intermediate is exact and rounding plays no part.
func TestSGDHand(t *testing.T) {
	grads := [][]float32{{0.5, 1}, {0.25, -1}, {0, 0.5}}
	qGrads := []float32{1, 1, 0}
	for _, tc := range []struct {
		name  string
		cfg   SGDConfig
		wantP [][]float32 // p after each step
		wantQ []float32   // q (no weight decay) after each step
	}{
		{
			// d = g + wd·p; buf = m·buf + d (buf = d at step 1); p -= lr·buf
			// step 1: d = [0.75, 0.5], buf = d, p = [1-0.375, -2-0.25]
			// step 2: d = [0.25+0.15625, -1-0.5625] = [0.40625, -1.5625]
			//         buf = [0.375+0.40625, 0.25-1.5625] = [0.78125, -1.3125]
			//         p = [0.625-0.390625, -2.25+0.65625]
			// step 3: d = [0.05859375, 0.5-0.3984375] = [0.05859375, 0.1015625]
			//         buf = [0.390625+0.05859375, -0.65625+0.1015625] = [0.44921875, -0.5546875]
			//         p = [0.234375-0.224609375, -1.59375+0.27734375]
			// q: buf = 1, 1.5, 0.75; q = 4-0.5, 3.5-0.75, 2.75-0.375
			name:  "momentum",
			cfg:   SGDConfig{Momentum: 0.5, WeightDecay: 0.25},
			wantP: [][]float32{{0.625, -2.25}, {0.234375, -1.59375}, {0.009765625, -1.31640625}},
			wantQ: []float32{3.5, 2.75, 2.375},
		},
		{
			// As above, but the step uses d + m·buf.
			// step 1: d = buf = [0.75, 0.5]; d+m·buf = [1.125, 0.75]; p = [0.4375, -2.375]
			// step 2: d = [0.25+0.109375, -1-0.59375] = [0.359375, -1.59375]
			//         buf = [0.375+0.359375, 0.25-1.59375] = [0.734375, -1.34375]
			//         d+m·buf = [0.7265625, -2.265625]; p = [0.4375-0.36328125, -2.375+1.1328125]
			// step 3: d = [0.25·0.07421875, 0.5-0.310546875] = [0.0185546875, 0.189453125]
			//         buf = [0.3671875+0.0185546875, -0.671875+0.189453125] = [0.3857421875, -0.482421875]
			//         d+m·buf = [0.21142578125, -0.0517578125]; p = [0.07421875-0.105712890625, -1.2421875+0.02587890625]
			// q: buf = 1, 1.5, 0.75; d+m·buf = = 1.5, 1.75, 0.375; q = 4-0.75, 3.25-0.875, 2.375-0.1875
			name:  "nesterov",
			cfg:   SGDConfig{Momentum: 0.5, WeightDecay: 0.25, Nesterov: true},
			wantP: [][]float32{{0.4375, -2.375}, {0.07421875, -1.2421875}, {-0.031494140625, -1.21630859375}},
			wantQ: []float32{3.25, 2.375, 2.1875},
		},
		{
			// No buffers: p -= lr·(g + wd·p).
			// step 1: p = [1-0.5·0.75, -2-0.5·0.5]; step 2: p = [0.625-0.5·0.40625, -2.25+0.5·1.5625]
			// step 3: p = [0.421875-0.5·0.10546875, -1.46875-0.5·0.1328125]
			name:  "plain",
			cfg:   SGDConfig{WeightDecay: 0.25},
			wantP: [][]float32{{0.625, -2.25}, {0.421875, -1.46875}, {0.369140625, -1.53515625}},
			wantQ: []float32{3.5, 3, 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Param{Name: "p", Value: []float32{1, -2}, Grad: make([]float32, 2), Decay: true}
			q := Param{Name: "q", Value: []float32{4}, Grad: make([]float32, 1)}
			o := NewSGD([]Param{p, q}, tc.cfg)
			for step, g := range grads {
				copy(p.Grad, g)
				q.Grad[0] = qGrads[step]
				o.Step(0.5)
				if diff := cmp.Diff(tc.wantP[step], p.Value); diff != "" {
					t.Errorf("p after step %d (-want +got):\n%s", step+1, diff)
				}
				if diff := cmp.Diff(tc.wantQ[step], q.Value[0]); diff != "" {
					t.Errorf("q after step %d (-want +got):\n%s", step+1, diff)
				}
				if diff := cmp.Diff(g, p.Grad); diff != "" {
					t.Errorf("step %d changed the gradient (-want +got):\n%s", step+1, diff)
				}
			}
			if o.Steps() != 3 {
				t.Errorf("Steps() = %d, want 3", o.Steps())
			}
		})
	}
}

// TestSGDResume checks that exporting the state mid-run and importing it into a fresh
// optimizer continues bit for bit.
func TestSGDResume(t *testing.T) {
	gradAt := func(step, i int) float32 { return float32(math.Sin(float64(7*step + i))) }
	run := func(v []float32, o *SGD, p Param, from, to int) {
		for step := from; step < to; step++ {
			for i := range p.Grad {
				p.Grad[i] = gradAt(step, i)
			}
			o.Step(0.05)
		}
	}
	cfg := SGDConfig{Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true}
	whole := Param{Name: "w", Value: []float32{0.3, -1.7, 2.2}, Grad: make([]float32, 3), Decay: true}
	wo := NewSGD([]Param{whole}, cfg)
	run(whole.Value, wo, whole, 0, 6)

	first := Param{Name: "w", Value: []float32{0.3, -1.7, 2.2}, Grad: make([]float32, 3), Decay: true}
	fo := NewSGD([]Param{first}, cfg)
	run(first.Value, fo, first, 0, 2)
	state := fo.State()
	saved := slices.Clone(first.Value)
	run(first.Value, fo, first, 2, 3) // moving on must not disturb the exported copy

	second := Param{Name: "w", Value: saved, Grad: make([]float32, 3), Decay: true}
	so := NewSGD([]Param{second}, cfg)
	if err := so.SetState(state); err != nil {
		t.Fatal(err)
	}
	run(second.Value, so, second, 2, 6)
	if diff := cmp.Diff(whole.Value, second.Value); diff != "" {
		t.Errorf("resumed run differs (-whole +resumed):\n%s", diff)
	}
	if so.Steps() != 6 {
		t.Errorf("Steps() = %d, want 6", so.Steps())
	}
}

func TestSetStateErrors(t *testing.T) {
	newOpt := func(m float64) *SGD {
		return NewSGD([]Param{
			{Name: "a", Value: make([]float32, 2), Grad: make([]float32, 2)},
			{Name: "b", Value: make([]float32, 1), Grad: make([]float32, 1)},
		}, SGDConfig{Momentum: m})
	}
	good := newOpt(0.9).State()
	for _, tc := range []struct {
		name  string
		m     float64
		state SGDState
	}{
		{"negative steps", 0.9, SGDState{Steps: -1, Names: good.Names, Momentum: good.Momentum}},
		{"too few", 0.9, SGDState{Names: []string{"a"}, Momentum: good.Momentum[:1]}},
		{"renamed", 0.9, SGDState{Names: []string{"a", "c"}, Momentum: good.Momentum}},
		{"missing buffers", 0.9, SGDState{Names: good.Names}},
		{"unexpected buffers", 0, SGDState{Names: good.Names, Momentum: good.Momentum}},
		{"short buffer", 0.9, SGDState{Names: good.Names, Momentum: [][]float32{{1}, {1}}}},
		{"buffer count", 0.9, SGDState{Names: good.Names, Momentum: [][]float32{{1, 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOpt(tc.m)
			before := o.State()
			if err := o.SetState(tc.state); err == nil {
				t.Fatal("SetState accepted a mismatched state")
			}
			if diff := cmp.Diff(before, o.State()); diff != "" {
				t.Errorf("failed SetState changed the optimizer (-before +after):\n%s", diff)
			}
		})
	}
}

func TestNewSGDPanics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []Param
		cfg    SGDConfig
	}{
		{"momentum 1", nil, SGDConfig{Momentum: 1}},
		{"negative decay", nil, SGDConfig{WeightDecay: -1}},
		{"nesterov without momentum", nil, SGDConfig{Nesterov: true}},
		{"length mismatch", []Param{{Value: make([]float32, 2), Grad: make([]float32, 1)}}, SGDConfig{}},
		{"duplicate", []Param{{Name: "x"}, {Name: "x"}}, SGDConfig{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewSGD did not panic")
				}
			}()
			NewSGD(tc.params, tc.cfg)
		})
	}
}

func BenchmarkSGDStep(b *testing.B) {
	const n = 1 << 20 // about the size of a CIFAR MSDNet
	p := Param{Name: "w", Value: make([]float32, n), Grad: make([]float32, n), Decay: true}
	for i := range p.Grad {
		p.Grad[i] = float32(i%7) * 0.01
	}
	o := NewSGD([]Param{p}, SGDConfig{Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true})
	b.SetBytes(4 * n)
	for b.Loop() {
		o.Step(0.1)
	}
}

// TestSGDThreadCounts checks that a step gives the same bits on any number of threads, with
// parameters cut into several pieces and parameters smaller than one.
func TestSGDThreadCounts(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	sizes := []int{3*pieceLen + 5, 17, 1, pieceLen}
	run := func(threads int) [][]float32 {
		kernels.SetThreads(threads)
		var params []Param
		for i, n := range sizes {
			p := Param{Name: fmt.Sprint(i), Value: make([]float32, n), Grad: make([]float32, n), Decay: i%2 == 0}
			for j := range p.Value {
				p.Value[j] = float32(math.Sin(float64(j + i)))
			}
			params = append(params, p)
		}
		o := NewSGD(params, SGDConfig{Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true})
		for step := range 3 {
			for i, p := range params {
				for j := range p.Grad {
					p.Grad[j] = float32(math.Cos(float64(7*step + j + i)))
				}
			}
			o.Step(0.1)
		}
		var values [][]float32
		for _, p := range params {
			values = append(values, p.Value)
		}
		return values
	}
	want := run(1)
	for _, threads := range []int{2, 3} {
		if diff := cmp.Diff(want, run(threads)); diff != "" {
			t.Errorf("%d threads differ from one (-want +got):\n%s", threads, diff)
		}
	}
}
