package nn_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
)

func benchNet(b *testing.B, preset string, batch int) (*nn.Network, *kernels.Tensor, []int) {
	s, err := spec.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		b.Fatal(err)
	}
	net, err := nn.New(g, nn.InitPyTorch, 1)
	if err != nil {
		b.Fatal(err)
	}
	if c, err := strconv.Atoi(os.Getenv("MSDX_BENCH_CHUNK")); err == nil {
		nn.SetChunkImages(net, c)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := kernels.NewTensor(3, batch, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(s.Classes)
	}
	return net, x, labels
}

// BenchmarkTrainStep measures one forward and backward pass of msdnet-cifar100-anytime on a
// batch of 64 (the comparison with PyTorch); it reports images/s and the heap
// allocations per image of one steady-state step.
func BenchmarkTrainStep(b *testing.B) {
	net, x, labels := benchNet(b, benchPreset(), 64)
	net.SetTrain(true)
	var d []*kernels.Tensor
	step := func() {
		logits := net.Forward(x, 0)
		if d == nil {
			for _, l := range logits {
				d = append(d, kernels.NewTensor(l.C, l.N, 1, 1))
			}
		}
		for k, l := range logits {
			kernels.SoftmaxCrossEntropy(d[k].Data, l.Data, l.C, l.N, labels, nil, 0)
		}
		net.ZeroGrad()
		net.Backward(d)
	}
	step() // allocate the activations and fill the scratch pools outside the timing
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(b.N*x.N)/b.Elapsed().Seconds(), "images/s")
	b.StopTimer()
	b.ReportMetric(testing.AllocsPerRun(1, step)/float64(x.N), "allocs/image")
}

// BenchmarkInference measures an evaluation-mode forward pass through all exits; it
// reports images/s and the heap allocations per image of one pass.
func BenchmarkInference(b *testing.B) {
	net, x, _ := benchNet(b, benchPreset(), 64)
	net.SetTrain(false)
	net.Forward(x, 0) // allocate the activations outside the timing
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		net.Forward(x, 0)
	}
	b.ReportMetric(float64(b.N*x.N)/b.Elapsed().Seconds(), "images/s")
	b.StopTimer()
	b.ReportMetric(testing.AllocsPerRun(1, func() { net.Forward(x, 0) })/float64(x.N), "allocs/image")
}

// benchPreset is the network the nn benchmarks run: $MSDX_BENCH_PRESET, by default
// msdnet-cifar100-anytime.
func benchPreset() string {
	if p := os.Getenv("MSDX_BENCH_PRESET"); p != "" {
		return p
	}
	return "msdnet-cifar100-anytime"
}
