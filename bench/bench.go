// Package bench measures how fast msdx runs a network: per-exit inference latency and
// throughput, and training throughput, on random weights and inputs. Timings are wall-clock
// and depend on the machine's load; compare against a peer measured in the same run.
package bench

import (
	"math/rand/v2"
	"time"

	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/optim"
)

// Options control a measurement.
type Options struct {
	// Batch is the number of images per pass.
	Batch int
	// MinTime is how long each measurement repeats at least (after one warm-up pass).
	MinTime time.Duration
	// Seed seeds the weights and inputs.
	Seed uint64
}

// ExitTiming is the inference speed up to one exit.
type ExitTiming struct {
	// Exit is the 1-based exit.
	Exit int `json:"exit"`
	// MACs is the exit's cumulative cost per image (execution semantics).
	MACs int64 `json:"macs"`
	// BatchSeconds is the mean wall time of one pass through exits 1..Exit.
	BatchSeconds float64 `json:"batch_seconds"`
	// ImagesPerSecond is Batch / BatchSeconds.
	ImagesPerSecond float64 `json:"images_per_second"`
	// GMACsPerSecond is the arithmetic rate achieved, in billions of reference MACs.
	GMACsPerSecond float64 `json:"gmacs_per_second"`
}

// Result is a full measurement.
type Result struct {
	Batch   int          `json:"batch"`
	Threads int          `json:"threads"`
	Kernels string       `json:"kernels"`
	Exits   []ExitTiming `json:"exits"`
	// TrainImagesPerSecond counts forward, per-exit losses, backward and an SGD step.
	TrainImagesPerSecond float64 `json:"train_images_per_second"`
	// TrainStepSeconds is the mean wall time of one training step.
	TrainStepSeconds float64 `json:"train_step_seconds"`
}

// repeat runs f once to warm up, then until minTime has passed, and returns the mean time
// of one run.
func repeat(minTime time.Duration, f func()) float64 {
	f()
	start, n := time.Now(), 0
	for n == 0 || time.Since(start) < minTime {
		f()
		n++
	}
	return time.Since(start).Seconds() / float64(n)
}

// Run measures g with opts.
func Run(g *graph.Graph, init nn.Init, opts Options) (*Result, error) {
	net, err := nn.New(g, init, opts.Seed)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 1))
	in := g.Input
	x := kernels.NewTensor(in.C, opts.Batch, in.H, in.W)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	classes := g.Nodes[g.Exits[0].Output].Out.C
	labels := make([]int, opts.Batch)
	for i := range labels {
		labels[i] = rng.IntN(classes)
	}
	res := &Result{Batch: opts.Batch, Threads: kernels.Threads(), Kernels: kernels.Path()}

	net.SetTrain(false)
	costs := flops.Exits(g)
	for k := 1; k <= net.NumExits(); k++ {
		sec := repeat(opts.MinTime, func() { net.Forward(x, k) })
		res.Exits = append(res.Exits, ExitTiming{
			Exit: k, MACs: costs[k-1].MACs, BatchSeconds: sec,
			ImagesPerSecond: float64(opts.Batch) / sec,
			GMACsPerSecond:  float64(costs[k-1].MACs) * float64(opts.Batch) / sec / 1e9,
		})
	}

	net.SetTrain(true)
	var params []optim.Param
	for _, p := range net.Params() {
		params = append(params, optim.Param{Name: p.Name, Value: p.Data, Grad: p.Grad, Decay: true})
	}
	sgd := optim.NewSGD(params, optim.SGDConfig{Momentum: 0.9, WeightDecay: 1e-4})
	dlogits := make([]*kernels.Tensor, net.NumExits())
	sec := repeat(opts.MinTime, func() {
		net.ZeroGrad()
		for k, l := range net.Forward(x, 0) {
			if dlogits[k] == nil {
				dlogits[k] = kernels.NewTensor(l.C, l.N, 1, 1)
			}
			kernels.SoftmaxCrossEntropy(dlogits[k].Data, l.Data, l.C, l.N, labels, nil, 0)
		}
		net.Backward(dlogits)
		sgd.Step(1e-3)
	})
	res.TrainStepSeconds = sec
	res.TrainImagesPerSecond = float64(opts.Batch) / sec
	return res, nil
}
