package nn

import (
	"fmt"

	"github.com/msdx/msdx/graph"
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

	out     []*kernels.Tensor // activations of the current (shrinking) batch, by node ID
	store   [][]float32       // backing storage of out, reused across batches
	input   []float32         // the remaining samples' images once the batch shrinks
	scratch []float32         // flattened linear inputs
	probs   []float32
	live    []int // the batch positions (in the caller's x) of the samples still running
	from    []int // the positions in the current batch of the samples that go on
	done    int64 // sample-MACs executed since the last ResetMACs
	// capacity is the largest batch seen: storage is sized for it at once, so that a
	// batch whose survivors outnumber an earlier one's never reallocates (and page-faults)
	// its tensors.
	capacity int
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
		out:        make([]*kernels.Tensor, len(g.Nodes)),
		store:      make([][]float32, len(g.Nodes)),
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
// x is not modified.
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
	e.capacity = max(e.capacity, x.N)
	e.live = e.live[:0]
	for n := range x.N {
		e.live = append(e.live, n)
	}
	clear(e.out)
	image := x
	last := len(net.g.Exits) - 1
	for k, ex := range net.g.Exits {
		n := len(e.live)
		for _, st := range e.steps[k] {
			e.exec(st, image, n)
		}
		e.done += e.macs[k] * int64(n)

		logits := e.out[ex.Output]
		classes := logits.C
		e.probs = grow(e.probs, classes*n)
		kernels.Softmax(e.probs, logits.Data[:classes*n], classes, n)
		// The samples that go on move to the front of live, and from records their positions
		// in the current batch, in increasing order, so the compaction can run in place.
		kept := 0
		for i, orig := range e.live {
			best := 0
			for c := 1; c < classes; c++ {
				if e.probs[c*n+i] > e.probs[best*n+i] {
					best = c
				}
			}
			conf := e.probs[best*n+i]
			if k == last || accept(k, conf) {
				dst[orig] = Decision{Exit: k, Class: best, Confidence: conf}
				continue
			}
			e.live[kept] = orig
			e.from = append(e.from[:kept], i)
			kept++
		}
		if kept == 0 {
			break
		}
		if kept < n {
			from := e.from[:kept]
			for _, id := range e.keep[k] {
				e.out[id] = gather(e.out[id], e.out[id], from)
			}
			if e.readsInput[k] {
				if image == x { // the caller's images stay as they are
					e.input = grow(e.input, x.Len())
					image = gather(&kernels.Tensor{Data: e.input}, x, from)
				} else {
					image = gather(image, image, from)
				}
			}
		}
		e.live = e.live[:kept]
	}
	return dst
}

// gather writes the samples at positions from (increasing) of src into a batch of
// len(from) samples backed by dst's storage, which may be src's: in CNHW a sample subset is
// a gather of H·W runs per channel, and moving runs towards the front in increasing order
// never overwrites one not yet read.
func gather(dst, src *kernels.Tensor, from []int) *kernels.Tensor {
	hw := src.H * src.W
	m := len(from)
	out := &kernels.Tensor{C: src.C, N: m, H: src.H, W: src.W, Data: dst.Data[:src.C*m*hw]}
	for c := range src.C {
		for j, i := range from {
			d, s := (c*m+j)*hw, (c*src.N+i)*hw
			copy(out.Data[d:d+hw], src.Data[s:s+hw])
		}
	}
	return out
}

// tensorFor returns node id's output tensor for a batch of n, reusing its storage.
func (e *EarlyExit) tensorFor(id, n int) *kernels.Tensor {
	s := e.net.g.Nodes[id].Out
	size := s.C * n * s.H * s.W
	if cap(e.store[id]) < size {
		e.store[id] = make([]float32, s.C*e.capacity*s.H*s.W)
	}
	t := &kernels.Tensor{C: s.C, N: n, H: s.H, W: s.W, Data: e.store[id][:size]}
	e.out[id] = t
	return t
}

// exec runs one step on the current batch of n samples, as Forward does in evaluation mode.
func (e *EarlyExit) exec(st *step, image *kernels.Tensor, n int) {
	if st.absorbed { // its conv computed it
		return
	}
	nd := st.node
	tensor := func(id int) *kernels.Tensor {
		if id == graph.Input {
			return image
		}
		t := e.out[id]
		if t == nil || t.N != n {
			panic(fmt.Sprintf("nn: early exit: node %s reads %s before it is computed for this batch", nd.Name, e.net.g.Nodes[id].Name))
		}
		return t
	}
	st.forward(e.tensorFor(st.target(false), n), stepIO{
		input: tensor,
		scratch: func(size int) []float32 {
			e.scratch = grow(e.scratch, size)
			return e.scratch
		},
	})
}

// grow returns s with length at least n, reallocating only when its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
