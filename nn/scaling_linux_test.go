package nn

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/spec"
)

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// work records the thread CPU time of a pass's parts, in order: runs of parts of one phase
// (which the threads share) and serial work between them.
type work struct {
	last   time.Duration
	groups [][]time.Duration // parts of one phase (or weight pass), in part order
	serial time.Duration
	open   bool // the last group is still receiving parts
}

func (w *work) start() { w.last = threadCPU() }

// mark records the time since the last mark as a part (parallel) or as serial work.
func (w *work) mark(part int) {
	now := threadCPU()
	d := now - w.last
	w.last = now
	if part < 0 {
		w.serial += d
		w.open = false
		return
	}
	if !w.open || part == 0 {
		w.groups = append(w.groups, nil)
		w.open = true
	}
	w.groups[len(w.groups)-1] = append(w.groups[len(w.groups)-1], d)
}

// makespan returns the time the recorded work takes on t threads that take the parts of
// each group in order, each the next one as soon as it is free (as par.Do does), joining
// after every group; serial work runs alone.
func (w *work) makespan(t int) time.Duration {
	total := w.serial
	for _, g := range w.groups {
		free := make(durHeap, min(t, len(g)))
		heap.Init(&free)
		var end time.Duration
		for _, d := range g {
			f := free[0] + d
			free[0] = f
			heap.Fix(&free, 0)
			end = max(end, f)
		}
		total += end
	}
	return total
}

type durHeap []time.Duration

func (h durHeap) Len() int           { return len(h) }
func (h durHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h durHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *durHeap) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *durHeap) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

// BenchmarkScalingBound measures, on one thread, the CPU time of every part of a training
// step (forward, per-exit losses, backward, an SGD-like update) and of an all-exit
// inference pass on a batch, and reports the speedup the data-parallel design allows
// on 2, 4, 8 and 16 threads with cores to themselves: each phase's chunks scheduled on
// the threads as par.Do takes them, a join after every phase, serial work alone. It leaves
// out what the model cannot see (join latency, memory bandwidth the threads share), but
// thread CPU time barely moves with other processes' load, so it says what the design
// gives where wall-clock ratios on a shared machine cannot. It also reports the CPU time
// per image. $MSDX_BENCH_PRESET (default msdnet-cifar100-anytime), $MSDX_BENCH_BATCH
// (default 64) and $MSDX_BENCH_CHUNK (default ChunkImages) choose the network, the batch
// size and the chunk size; a batch has batch/chunk chunks, which bounds the speedup.
func BenchmarkScalingBound(b *testing.B) {
	preset := os.Getenv("MSDX_BENCH_PRESET")
	if preset == "" {
		preset = "msdnet-cifar100-anytime"
	}
	s, err := spec.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		b.Fatal(err)
	}
	init := InitPyTorch
	if s.Fusion.Rule == spec.RuleRANet {
		init = InitHeNormal
	}
	net, err := New(g, init, 1)
	if err != nil {
		b.Fatal(err)
	}
	if c, err := strconv.Atoi(os.Getenv("MSDX_BENCH_CHUNK")); err == nil {
		net.chunkImages = c
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(1)

	rng := rand.New(rand.NewPCG(1, 2))
	in := g.Input
	batch := 64
	if n, err := strconv.Atoi(os.Getenv("MSDX_BENCH_BATCH")); err == nil {
		batch = n
	}
	x := kernels.NewTensor(in.C, batch, in.H, in.W)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, x.N)
	for i := range labels {
		labels[i] = rng.IntN(s.Classes)
	}
	var d []*kernels.Tensor
	var w *work
	net.observe = func(_ passKind, _, part int) {
		if w != nil {
			w.mark(part)
		}
	}
	trainStep := func() {
		w.start()
		net.ZeroGrad()
		w.mark(-1)
		logits := net.Forward(x, 0)
		w.mark(-1) // gathering the logits
		if d == nil {
			for _, l := range logits {
				d = append(d, kernels.NewTensor(l.C, l.N, 1, 1))
			}
		}
		for k, l := range logits {
			kernels.SoftmaxCrossEntropy(d[k].Data, l.Data, l.C, l.N, labels, nil, 0)
		}
		net.Backward(d)
		for _, p := range net.Params() {
			for i := range p.Data {
				p.Data[i] -= 1e-3 * p.Grad[i]
			}
		}
		w.mark(-1)
	}
	infer := func() {
		w.start()
		net.Forward(x, 0)
		w.mark(-1)
	}
	threads := []int{2, 4, 8, 16}
	trainSpeedup := make([]float64, len(threads))
	inferSpeedup := make([]float64, len(threads))
	var trainCPU, inferCPU time.Duration
	w = &work{}
	net.SetTrain(true)
	trainStep() // warm up
	net.SetTrain(false)
	infer()
	b.ResetTimer()
	for range b.N {
		for mode, f := range []func(){trainStep, infer} {
			net.SetTrain(mode == 0)
			w = &work{}
			f()
			one := w.makespan(1)
			for i, t := range threads {
				r := float64(one) / float64(w.makespan(t))
				if mode == 0 {
					trainSpeedup[i] += r
				} else {
					inferSpeedup[i] += r
				}
			}
			if mode == 0 {
				trainCPU += one
			} else {
				inferCPU += one
			}
		}
	}
	n := float64(b.N)
	for i, t := range threads {
		b.ReportMetric(trainSpeedup[i]/n, fmt.Sprintf("train-x%d", t))
		b.ReportMetric(inferSpeedup[i]/n, fmt.Sprintf("infer-x%d", t))
	}
	b.ReportMetric(float64(trainCPU.Milliseconds())/n/float64(x.N), "train-cpu-ms/img")
	b.ReportMetric(float64(inferCPU.Microseconds())/1e3/n/float64(x.N), "infer-cpu-ms/img")
}
