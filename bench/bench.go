// Package bench measures how fast msdx runs a network: per-exit inference latency and
// throughput, and training throughput, on random weights and inputs, with the heap
// allocations each pass makes. Timings are wall-clock and depend on the machine's load;
// compare against a peer measured in the same run.
//
// # JSON schema
//
// `msdx bench --json` prints one Result (with the spec's "name" added) as a JSON object.
// The schema is stable: fields are only ever added, and Schema is raised when a field's
// meaning changes. Version 1:
//
//	{
//	  "schema": 1,
//	  "name": "msdnet-cifar100-anytime",  // the spec's name
//	  "batch": 64, "threads": 1, "kernels": "avx512",
//	  "exits": [                           // one object per exit k, evaluation mode,
//	    {                                  // computing exits 1..k only
//	      "exit": 1,                       // 1-based
//	      "macs": 15128064,                // cumulative MACs per image (execution semantics)
//	      "batch_seconds": 0.0123,         // mean wall time of one pass through exits 1..k
//	      "images_per_second": 5203.2,     // batch / batch_seconds
//	      "gmacs_per_second": 78.7,
//	      "allocs_per_image": 0.5,         // heap allocations per image of one pass
//	      "bytes_per_image": 120.0         // heap bytes allocated per image of one pass
//	    }
//	  ],
//	  "train_images_per_second": 147.2,    // forward, per-exit losses, backward, SGD step
//	  "train_step_seconds": 0.435,
//	  "train_allocs_per_image": 40.1,
//	  "train_bytes_per_image": 98000.0,
//	  "train_cpu_seconds_per_image": 0.0068, // process CPU time (user + system) per image
//	  "scaling": [                         // only with Options.Scaling (msdx bench --scaling)
//	    {
//	      "threads": 1,
//	      "train_images_per_second": 147.2,
//	      "inference_images_per_second": 520.3, // evaluation mode, all exits
//	      "train_cpu_seconds_per_image": 0.0068,
//	      "inference_cpu_seconds_per_image": 0.0019
//	    }
//	  ]
//	}
//
// Every exit object also has "cpu_seconds_per_image". Allocation figures are steady-state
// means over the timed passes (runtime.MemStats Mallocs and TotalAlloc), after a warm-up
// pass has sized the network's tensors. CPU time is the process's, from getrusage (0 where
// the system has none); on a machine that other processes share, wall-clock rates fall
// with their load while CPU time per image barely moves, so it tells whether a second
// thread added work (CPU time per image up) or only waited (wall-clock rate flat, CPU time
// per image flat).
//
// # Scaling
//
// With Options.Scaling, the training and all-exit inference rates are also measured at
// each of the listed thread counts, interleaved: each of Options.Rounds rounds measures
// every count once, rotating which goes first, and each figure is the median over the
// rounds, so that load drifting during the measurement affects every count alike.
package bench

import (
	"math/rand/v2"
	"runtime"
	"slices"
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
	// Scaling lists thread counts at which to measure training and all-exit inference
	// (see the package documentation); none means no scaling curve.
	Scaling []int
	// Rounds is the number of interleaved rounds of the scaling curve (at least 1).
	Rounds int
	// Progress, when not nil, is called after each measurement (one per exit, then
	// training, then two per thread count and round of the scaling curve) with the number done and the number in all.
	Progress func(done, total int)
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
	// AllocsPerImage is the number of heap allocations of one pass, per image.
	AllocsPerImage float64 `json:"allocs_per_image"`
	// BytesPerImage is the heap bytes one pass allocates, per image.
	BytesPerImage float64 `json:"bytes_per_image"`
	// CPUSecondsPerImage is the process CPU time of one pass, per image.
	CPUSecondsPerImage float64 `json:"cpu_seconds_per_image"`
}

// ScalingPoint is the speed at one thread count.
type ScalingPoint struct {
	Threads                  int     `json:"threads"`
	TrainImagesPerSecond     float64 `json:"train_images_per_second"`
	InferenceImagesPerSecond float64 `json:"inference_images_per_second"`
	// TrainCPUSecondsPerImage and InferenceCPUSecondsPerImage are process CPU time per image.
	TrainCPUSecondsPerImage     float64 `json:"train_cpu_seconds_per_image"`
	InferenceCPUSecondsPerImage float64 `json:"inference_cpu_seconds_per_image"`
}

// Schema is the version of the JSON form of Result (see the package documentation).
const Schema = 1

// Result is a full measurement.
type Result struct {
	// Schema is the JSON schema version, Schema.
	Schema  int          `json:"schema"`
	Batch   int          `json:"batch"`
	Threads int          `json:"threads"`
	Kernels string       `json:"kernels"`
	Exits   []ExitTiming `json:"exits"`
	// TrainImagesPerSecond counts forward, per-exit losses, backward and an SGD step.
	TrainImagesPerSecond float64 `json:"train_images_per_second"`
	// TrainStepSeconds is the mean wall time of one training step.
	TrainStepSeconds float64 `json:"train_step_seconds"`
	// TrainAllocsPerImage is the number of heap allocations of one training step, per image.
	TrainAllocsPerImage float64 `json:"train_allocs_per_image"`
	// TrainBytesPerImage is the heap bytes one training step allocates, per image.
	TrainBytesPerImage float64 `json:"train_bytes_per_image"`
	// TrainCPUSecondsPerImage is the process CPU time of one training step, per image.
	TrainCPUSecondsPerImage float64 `json:"train_cpu_seconds_per_image"`
	// Scaling is the scaling curve, one point per Options.Scaling thread count.
	Scaling []ScalingPoint `json:"scaling,omitempty"`
}

// measurement is the mean cost of one run of a repeated function.
type measurement struct {
	seconds, allocs, bytes, cpu float64
}

// repeat runs f once to warm up, then until minTime has passed, and returns the mean time
// and heap allocations of one run.
func repeat(minTime time.Duration, f func()) measurement {
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuSeconds()
	start, n := time.Now(), 0
	for n == 0 || time.Since(start) < minTime {
		f()
		n++
	}
	sec := time.Since(start).Seconds() / float64(n)
	cpu := (cpuSeconds() - cpu0) / float64(n)
	runtime.ReadMemStats(&after)
	return measurement{sec, float64(after.Mallocs-before.Mallocs) / float64(n),
		float64(after.TotalAlloc-before.TotalAlloc) / float64(n), cpu}
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
	res := &Result{Schema: Schema, Batch: opts.Batch, Threads: kernels.Threads(), Kernels: kernels.Path()}
	batch := float64(opts.Batch)

	total := net.NumExits() + 1
	if len(opts.Scaling) > 0 {
		total += 2 * len(opts.Scaling) * max(opts.Rounds, 1)
	}
	progress := func(done int) {
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	net.SetTrain(false)
	costs := flops.Exits(g)
	for k := 1; k <= net.NumExits(); k++ {
		m := repeat(opts.MinTime, func() { net.Forward(x, k) })
		progress(k)
		res.Exits = append(res.Exits, ExitTiming{
			Exit: k, MACs: costs[k-1].MACs, BatchSeconds: m.seconds,
			ImagesPerSecond: batch / m.seconds,
			GMACsPerSecond:  float64(costs[k-1].MACs) * batch / m.seconds / 1e9,
			AllocsPerImage:  m.allocs / batch,
			BytesPerImage:   m.bytes / batch,

			CPUSecondsPerImage: m.cpu / batch,
		})
	}

	var params []optim.Param
	for _, p := range net.Params() {
		params = append(params, optim.Param{Name: p.Name, Value: p.Data, Grad: p.Grad, Decay: true})
	}
	sgd := optim.NewSGD(params, optim.SGDConfig{Momentum: 0.9, WeightDecay: 1e-4})
	dlogits := make([]*kernels.Tensor, net.NumExits())
	trainStep := func() {
		net.ZeroGrad()
		for k, l := range net.Forward(x, 0) {
			if dlogits[k] == nil {
				dlogits[k] = kernels.NewTensor(l.C, l.N, 1, 1)
			}
			kernels.SoftmaxCrossEntropy(dlogits[k].Data, l.Data, l.C, l.N, labels, nil, 0)
		}
		net.Backward(dlogits)
		sgd.Step(1e-3)
	}
	net.SetTrain(true)
	m := repeat(opts.MinTime, trainStep)
	progress(net.NumExits() + 1)
	res.TrainStepSeconds = m.seconds
	res.TrainImagesPerSecond = batch / m.seconds
	res.TrainAllocsPerImage = m.allocs / batch
	res.TrainBytesPerImage = m.bytes / batch
	res.TrainCPUSecondsPerImage = m.cpu / batch

	if len(opts.Scaling) > 0 {
		res.Scaling = scaling(net, opts, x, trainStep, func(done int) { progress(net.NumExits() + 1 + done) })
	}
	return res, nil
}

// scaling measures the scaling curve: every thread count once per round, the first one
// rotating, and the median of each figure over the rounds. It calls progress with the
// number of measurements done.
func scaling(net *nn.Network, opts Options, x *kernels.Tensor, trainStep func(), progress func(done int)) []ScalingPoint {
	defer kernels.SetThreads(kernels.Threads())
	counts := opts.Scaling
	rounds := max(opts.Rounds, 1)
	train := make([][]measurement, len(counts))
	infer := make([][]measurement, len(counts))
	done := 0
	for r := range rounds {
		for i := range counts {
			j := (i + r) % len(counts)
			kernels.SetThreads(counts[j])
			net.SetTrain(false)
			infer[j] = append(infer[j], repeat(opts.MinTime, func() { net.Forward(x, 0) }))
			net.SetTrain(true)
			train[j] = append(train[j], repeat(opts.MinTime, trainStep))
			done += 2
			progress(done)
		}
	}
	batch := float64(x.N)
	pts := make([]ScalingPoint, len(counts))
	for j, n := range counts {
		pts[j] = ScalingPoint{
			Threads:                     n,
			TrainImagesPerSecond:        batch / median(train[j], func(m measurement) float64 { return m.seconds }),
			InferenceImagesPerSecond:    batch / median(infer[j], func(m measurement) float64 { return m.seconds }),
			TrainCPUSecondsPerImage:     median(train[j], func(m measurement) float64 { return m.cpu }) / batch,
			InferenceCPUSecondsPerImage: median(infer[j], func(m measurement) float64 { return m.cpu }) / batch,
		}
	}
	return pts
}

// median returns the median of f over ms.
func median(ms []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}
