package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
)

// threadCases are small networks of every preset family.
var threadCases = []struct {
	preset string
	sets   []string
	init   nn.Init
}{
	{"msdnet-cifar10-small", nil, nn.InitPyTorch},
	{"ranet-cifar10", []string{"channels=4", "scales.gr_factor=4-2-1", "scales.bn_factor=4-2-1", "scales.resolution=1-2-3", "blocks.step=2", "blocks.block_step=1", "head.channels=16"}, nn.InitHeNormal},
	{"addad-cifar10-small", nil, nn.InitPyTorch},
	{"addad-cifar10", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=1", "head.channels=16"}, nn.InitPyTorch},                                                                     // GELU
	{"addad-cifar100", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=2", "head.channels=16", "classes=12", "blocks.attention=true", "blocks.attention_width=3"}, nn.InitPyTorch}, // attention block
}

// trainBits trains a fresh network a few SGD steps on threads goroutines, on batches of 20
// images (chunks of 8, 8 and 4), and returns its parameters, batch-norm buffers and the
// evaluation-mode logits of a batch as raw bits.
func trainBits(t *testing.T, preset string, sets []string, init nn.Init, threads int) map[string][]uint32 {
	t.Helper()
	s, err := spec.Resolve(preset, sets)
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, init, 1)
	if err != nil {
		t.Fatal(err)
	}
	kernels.SetThreads(threads)
	net.SetTrain(true)
	rng := rand.New(rand.NewPCG(5, 5))
	for step := range 3 {
		x := randomInput(net, 20, uint64(step))
		labels := make([]int, x.N)
		for i := range labels {
			labels[i] = rng.IntN(s.Classes)
		}
		net.ZeroGrad()
		logits := net.Forward(x, 0)
		var d []*kernels.Tensor
		for _, l := range logits {
			g := kernels.NewTensor(l.C, l.N, 1, 1)
			kernels.SoftmaxCrossEntropy(g.Data, l.Data, l.C, l.N, labels, nil, 0)
			d = append(d, g)
		}
		net.Backward(d)
		for _, p := range net.Params() {
			for i := range p.Data {
				p.Data[i] -= 0.05 * p.Grad[i]
			}
		}
	}
	bits := map[string][]uint32{}
	add := func(name string, v []float32) {
		b := make([]uint32, len(v))
		for i, f := range v {
			b[i] = math.Float32bits(f)
		}
		bits[name] = b
	}
	for _, p := range net.Params() {
		add(p.Name, p.Data)
		add(p.Name+".grad", p.Grad)
	}
	for _, b := range net.Buffers() {
		add(b.Name, b.Data)
	}
	net.SetTrain(false)
	for k, l := range net.Forward(randomInput(net, 20, 99), 0) {
		add(fmt.Sprintf("eval logits %d", k+1), l.Data)
	}
	return bits
}

// TestThreadCountIndependence checks the guarantee that training and inference give the
// same bits on any number of threads: a few training steps at 1, 2 and 3 threads must
// leave identical weights, gradients, batch-norm statistics and evaluation logits, for
// every preset family.
func TestThreadCountIndependence(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	for _, c := range threadCases {
		t.Run(c.preset, func(t *testing.T) {
			want := trainBits(t, c.preset, c.sets, c.init, 1)
			for _, threads := range []int{2, 3} {
				got := trainBits(t, c.preset, c.sets, c.init, threads)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%d threads differ from 1 (-1 thread +%d threads):\n%.2000s", threads, threads, diff)
				}
			}
		})
	}
}
