package nn

import (
	"fmt"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/internal/par"
	"github.com/msdx/msdx/kernels"
)

// Decision is where a sample left the network under real early exit and what it was
// classified as there.
type Decision struct {
	// Exit is the index of the exit taken, from 0 (exit 1).
	Exit int
	// Class is the argmax of the exit's softmax output; the lowest class index wins ties.
	Class int
	// Confidence is the largest softmax probability of the exit, the value the exit rule
	// compared with its threshold.
	Confidence float32
}

// AcceptFunc decides whether a sample whose largest softmax probability at exit (counted
// from 0) is conf leaves the network there. dyneval.Thresholds.Accepts is the rule msdx
// uses, shared with the simulated evaluation; the last exit takes every remaining sample
// whatever the rule says.
type AcceptFunc func(exit int, conf float32) bool

// EarlyExit runs a network with real early exit: it evaluates the exits of a batch in
// order, and after each exit the samples it accepts leave the batch. The samples left go
// on with a smaller batch (their activations gathered out of the previous batch's
// tensors), and exit k+1 computes only the nodes of its dependency cone not already
// computed for exits 1..k. Every sample thus pays for the union of the cones of the exits
// it reached, and the logits it gets are those of a full evaluation-mode Forward.
//
// Like Forward, Run cuts the batch into chunks of ChunkImages samples that run on separate
// goroutines (kernels.Threads of them), each chunk exiting its samples on its own: samples
// never wait for other chunks, and the decisions do not depend on the thread count.
//
// An EarlyExit uses the network's parameters but none of its state, so it may run
// alongside Forward calls on other goroutines as long as the parameters do not change.
// An EarlyExit itself is not safe for concurrent use.
type EarlyExit struct {
	net *Network
	// steps lists, for every exit, the steps its cone adds to the cones of earlier exits,
	// in execution order.
	steps [][]*step
	// keep[k] lists the nodes computed by exits 1..k+1 that a later exit reads: the
	// tensors to gather for the samples that go on after exit k+1.
	keep [][]int
	// readsInput[k] reports whether an exit after k+1 reads the image itself.
	readsInput []bool
	// macs[k] is the MACs per sample of steps[k] (graph.Cost.MACs).
	macs []int64

	lanes []*exitLane // one per chunk of the largest batch seen
	task  exitTask    // Run's work, handed to the goroutines
	done  int64       // sample-MACs of the lanes' finished runs since the last ResetMACs
}

// exitLane is the early-exit state of one chunk of a batch.
type exitLane struct {
	e       *EarlyExit
	out     []*kernels.Tensor // activations of the current (shrinking) batch, by node ID
	headers []kernels.Tensor  // what out points to: headers made per call would be allocated
	store   [][]float32       // backing storage of out, reused across batches
	input   []float32         // the remaining samples' images once the batch shrinks
	image   []float32         // the chunk's images, copied out of a batch of several chunks
	scratch []float32         // flattened linear inputs
	probs   []float32
	live    []int // the batch positions (in the chunk) of the samples still running
	from    []int // the positions in the current batch of the samples that go on
	done    int64 // sample-MACs executed in the current Run
	// capacity is the largest chunk seen: storage is sized for it at once, so that a
	// batch whose survivors outnumber an earlier one's never reallocates (and page-faults)
	// its tensors.
	capacity int
	io       stepIO          // the lane's view of its tensors, made once
	current  *kernels.Tensor // the images of the current batch
	images   kernels.Tensor  // the header of a copy of the chunk's images, or of its survivors
}

// exitTask is Run's work on chunk i of the batch x.
type exitTask struct {
	e      *EarlyExit
	x      *kernels.Tensor
	accept AcceptFunc
	dst    []Decision
}

func (t *exitTask) Run(_, i int) {
	size := t.e.net.chunkImages
	n0 := i * size
	t.e.lanes[i].run(t.x, n0, min(size, t.x.N-n0), t.accept, t.dst[n0:])
}

// NewEarlyExit returns an early-exit executor for net. Only evaluation mode is supported;
// Run panics if net is in training mode.
func NewEarlyExit(net *Network) *EarlyExit {
	g := net.g
	k := len(g.Exits)
	e := &EarlyExit{
		net:        net,
		steps:      make([][]*step, k),
		keep:       make([][]int, k),
		readsInput: make([]bool, k),
		macs:       make([]int64, k),
	}
	for _, st := range net.steps {
		if st == nil || st.node.Needed == 0 {
			continue
		}
		// The first exit that needs a node computes it; later exits reuse it.
		first := st.node.Needed.First() - 1
		e.steps[first] = append(e.steps[first], st)
		e.macs[first] += st.node.Cost.MACs
		if st.out != st.node.ID {
			e.macs[first] += g.Nodes[st.out].Cost.MACs // the fused activation
		}
	}
	// A node (or the image) read by a step of exit j is needed after exit i < j, so it is
	// kept at every exit from the one that computes it up to j-1.
	lastReader := make([]int, len(g.Nodes))
	for i := range lastReader {
		lastReader[i] = -1
	}
	imageReader := -1
	for j, sts := range e.steps {
		for _, st := range sts {
			for _, in := range st.node.Inputs {
				if in == graph.Input {
					imageReader = max(imageReader, j)
				} else {
					lastReader[in] = max(lastReader[in], j)
				}
			}
		}
	}
	for j, sts := range e.steps {
		for _, st := range sts {
			// A fused step's tensor is named by its activation, which is what readers read.
			if r := max(lastReader[st.node.ID], lastReader[st.out]); r > j {
				for i := j; i < r; i++ {
					e.keep[i] = append(e.keep[i], st.out)
				}
			}
		}
	}
	for i := 0; i < imageReader; i++ {
		e.readsInput[i] = true
	}
	return e
}

// ExitMACs returns, for every exit k, the MACs per sample of the nodes exit k adds to the
// cones of exits before it; their running sum is what a sample leaving at exit k costs.
func (e *EarlyExit) ExitMACs() []int64 { return append([]int64(nil), e.macs...) }

// MACs returns the MACs executed since the executor was made or ResetMACs was called,
// summed over samples: Σ over the executed nodes of their per-sample MACs times the number
// of samples they ran on.
func (e *EarlyExit) MACs() int64 { return e.done }

// ResetMACs sets the executed MAC count to zero.
func (e *EarlyExit) ResetMACs() { e.done = 0 }

// Run classifies the N samples of x (CNHW, shaped as the network's input) with early exit
// under accept, and returns one Decision per sample in batch order, reusing dst's storage.
// x is not modified. accept is called from several goroutines at once when the batch has
// several chunks. In steady state (batches no larger than before) Run allocates nothing.
func (e *EarlyExit) Run(x *kernels.Tensor, accept AcceptFunc, dst []Decision) []Decision {
	net := e.net
	if net.train {
		panic("nn: early exit needs a network in evaluation mode")
	}
	in := net.g.Input
	if x.C != in.C || x.H != in.H || x.W != in.W || x.N < 1 {
		panic(fmt.Sprintf("nn: input %v does not match the network's %s", x, in))
	}
	if cap(dst) < x.N {
		dst = make([]Decision, x.N)
	}
	dst = dst[:x.N]
	chunks := (x.N + net.chunkImages - 1) / net.chunkImages
	for len(e.lanes) < chunks {
		e.lanes = append(e.lanes, e.newLane())
	}
	workers := min(kernels.Threads(), chunks)
	if workers > 1 {
		kernels.BeginSerial()
		defer kernels.EndSerial()
	}
	e.task = exitTask{e, x, accept, dst}
	par.Do(workers, chunks, &e.task)
	e.task = exitTask{}
	for _, l := range e.lanes[:chunks] {
		e.done += l.done
	}
	return dst
}

// newLane returns the state of one more chunk.
func (e *EarlyExit) newLane() *exitLane {
	nodes := len(e.net.g.Nodes)
	l := &exitLane{e: e, out: make([]*kernels.Tensor, nodes), headers: make([]kernels.Tensor, nodes), store: make([][]float32, nodes)}
	l.io = stepIO{
		input: func(id int) *kernels.Tensor {
			if id == graph.Input {
				return l.current
			}
			return l.out[id]
		},
		scratch: func(size int) []float32 {
			l.scratch = grow(l.scratch, size)
			return l.scratch
		},
	}
	return l
}

// run classifies the n samples of x from n0 on, writing their decisions to dst[0:n].
func (l *exitLane) run(x *kernels.Tensor, n0, n int, accept AcceptFunc, dst []Decision) {
	e := l.e
	net := e.net
	l.done = 0
	l.capacity = max(l.capacity, n)
	l.live = l.live[:0]
	for i := range n {
		l.live = append(l.live, i)
	}
	clear(l.out)
	chunk := x
	if n < x.N { // the chunk's images are a run of each channel's images in CNHW
		plane := x.H * x.W
		l.image = grow(l.image, x.C*n*plane)
		for c := range x.C {
			copy(l.image[c*n*plane:(c+1)*n*plane], x.Data[(c*x.N+n0)*plane:(c*x.N+n0+n)*plane])
		}
		l.images = kernels.Tensor{C: x.C, N: n, H: x.H, W: x.W, Data: l.image}
		chunk = &l.images
	}
	image := chunk
	last := len(net.g.Exits) - 1
	for k, ex := range net.g.Exits {
		n := len(l.live)
		l.current = image
		for _, st := range e.steps[k] {
			l.exec(st, n)
		}
		l.done += e.macs[k] * int64(n)

		logits := l.out[ex.Output]
		classes := logits.C
		l.probs = grow(l.probs, classes*n)
		kernels.Softmax(l.probs, logits.Data[:classes*n], classes, n)
		// The samples that go on move to the front of live, and from records their positions
		// in the current batch, in increasing order, so the compaction can run in place.
		kept := 0
		for i, orig := range l.live {
			best := 0
			for c := 1; c < classes; c++ {
				if l.probs[c*n+i] > l.probs[best*n+i] {
					best = c
				}
			}
			conf := l.probs[best*n+i]
			if k == last || accept(k, conf) {
				dst[orig] = Decision{Exit: k, Class: best, Confidence: conf}
				continue
			}
			l.live[kept] = orig
			l.from = append(l.from[:kept], i)
			kept++
		}
		if kept == 0 {
			break
		}
		if kept < n {
			from := l.from[:kept]
			for _, id := range e.keep[k] {
				gather(l.out[id], l.out[id].Data, l.out[id], from)
			}
			if e.readsInput[k] {
				if image == x { // the caller's images stay as they are
					l.input = grow(l.input, x.Len())
					gather(&l.images, l.input, x, from)
					image = &l.images
				} else {
					gather(image, image.Data, image, from)
				}
			}
		}
		l.live = l.live[:kept]
	}
	l.current = nil
}

// gather writes the samples at positions from (increasing) of src into a batch of
// len(from) samples stored in data, which may be src's storage, and makes dst (which may be
// src) that batch: in CNHW a sample subset is a gather of H·W runs per channel, and moving
// runs towards the front in increasing order never overwrites one not yet read.
func gather(dst *kernels.Tensor, data []float32, src *kernels.Tensor, from []int) {
	hw := src.H * src.W
	m := len(from)
	out := kernels.Tensor{C: src.C, N: m, H: src.H, W: src.W, Data: data[:src.C*m*hw]}
	for c := range src.C {
		for j, i := range from {
			d, s := (c*m+j)*hw, (c*src.N+i)*hw
			copy(out.Data[d:d+hw], src.Data[s:s+hw])
		}
	}
	*dst = out
}

// tensorFor returns node id's output tensor for a batch of n, reusing its storage.
func (l *exitLane) tensorFor(id, n int) *kernels.Tensor {
	s := l.e.net.g.Nodes[id].Out
	size := s.C * n * s.H * s.W
	if cap(l.store[id]) < size {
		l.store[id] = make([]float32, s.C*l.capacity*s.H*s.W)
	}
	t := &l.headers[id]
	*t = kernels.Tensor{C: s.C, N: n, H: s.H, W: s.W, Data: l.store[id][:size]}
	l.out[id] = t
	return t
}

// exec runs one step on the current batch of n samples, as Forward does in evaluation mode.
func (l *exitLane) exec(st *step, n int) {
	if st.absorbed { // its conv computed it
		return
	}
	for _, id := range st.node.Inputs {
		if id == graph.Input {
			continue
		}
		if t := l.out[id]; t == nil || t.N != n {
			panic(fmt.Sprintf("nn: early exit: node %s reads %s before it is computed for this batch", st.node.Name, l.e.net.g.Nodes[id].Name))
		}
	}
	st.forward(l.tensorFor(st.target(false), n), l.io)
}

// grow returns s with length at least n, reallocating only when its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
