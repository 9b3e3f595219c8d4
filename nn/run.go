package nn

import (
	"fmt"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
)

// chunk is one fixed slice of the batch, images [n0, n0+n), with its own activations,
// gradients and scratch storage: the unit of work of a pass (see the package
// documentation).
type chunk struct {
	net   *Network
	index int // position in the batch's chunks
	n0, n int
	// input holds the chunk's images: the caller's tensor itself when the batch is one
	// chunk, else a copy.
	input    *kernels.Tensor
	own      *kernels.Tensor // storage for input when it is a copy
	out      []*kernels.Tensor
	grad     []*kernels.Tensor
	written  []bool // grad[i] holds a value (first writer overwrites, later ones add)
	scratch  []float32
	flatGrad []float32 // gradient of a flattened linear-layer input
	discard  []float32 // see discardGrads
	io       stepIO    // the chunk's view of its tensors, made once (see prepare)
}

// prepare allocates the chunks and their activation and gradient tensors for a batch of n
// images: one tensor per run node and chunk, except that nodes placed inside a
// concatenation's slab get views of it.
func (net *Network) prepare(n int) {
	if net.batch == n {
		return
	}
	nodes := net.g.Nodes
	net.batch = n
	k := (n + net.chunkImages - 1) / net.chunkImages
	net.chunks = make([]*chunk, k)
	net.workerScratch = nil
	net.images = make([]int, k)
	for j := range net.chunks {
		n0 := j * net.chunkImages
		net.images[j] = min(net.chunkImages, n-n0)
		net.chunks[j] = net.newChunk(j, n0, net.images[j])
	}
	net.saveMean = make([][]float32, len(nodes))
	net.saveInvStd = make([][]float32, len(nodes))
	net.partA = make([][]float32, len(nodes))
	net.partB = make([][]float32, len(nodes))
	for _, st := range net.writer {
		if st != nil && st.bn != nil {
			c, id := st.node.Out.C, st.node.ID
			net.saveMean[id], net.saveInvStd[id] = make([]float32, c), make([]float32, c)
			net.partA[id], net.partB[id] = make([]float32, k*c), make([]float32, k*c)
		}
	}
	net.logits = make([]*kernels.Tensor, 0, len(net.g.Exits))
	net.batchOut = make([]*kernels.Tensor, len(net.g.Exits))
	net.gradsIn = make([]*kernels.Tensor, 0, len(net.g.Exits))
	for i, ex := range net.g.Exits {
		if k == 1 {
			net.batchOut[i] = net.chunks[0].out[ex.Output]
		} else {
			net.batchOut[i] = kernels.NewTensor(nodes[ex.Output].Out.C, n, 1, 1)
		}
	}
}

// newChunk allocates the tensors of a chunk of n images starting at image n0.
func (net *Network) newChunk(index, n0, n int) *chunk {
	nodes := net.g.Nodes
	c := &chunk{net: net, index: index, n0: n0, n: n,
		out:     make([]*kernels.Tensor, len(nodes)),
		grad:    make([]*kernels.Tensor, len(nodes)),
		written: make([]bool, len(nodes)),
	}
	if n0 > 0 || n < net.batch {
		in := net.g.Input
		c.own = kernels.NewTensor(in.C, n, in.H, in.W)
	}
	largest := 0
	for id, st := range net.writer {
		if st == nil || net.place[id].root != id {
			continue
		}
		s := nodes[id].Out
		c.out[id] = kernels.NewTensor(s.C, n, s.H, s.W)
		c.grad[id] = kernels.NewTensor(s.C, n, s.H, s.W)
	}
	for id, st := range net.writer {
		if st == nil {
			continue
		}
		if p := net.place[id]; p.root != id {
			ch := nodes[id].Out.C
			c.out[id] = c.out[p.root].Channels(p.offset, p.offset+ch)
			c.grad[id] = c.grad[p.root].Channels(p.offset, p.offset+ch)
		}
		largest = max(largest, c.out[id].Len())
		for _, in := range st.node.In {
			largest = max(largest, int(in.Numel())*n)
		}
	}
	c.scratch = make([]float32, largest)
	// The chunk's view of the tensors, made once: closures made per call would escape to
	// the heap (the step IO flows into kernel tasks), allocating on every pass.
	c.io = stepIO{
		input: func(id int) *kernels.Tensor {
			if id == graph.Input {
				return c.input
			}
			return c.out[id]
		},
		inPlace: net.inPlace,
		scratch: func(n int) []float32 { return c.scratch[:n] },
		packed:  n < net.batch, // several chunks: Network.run packs the weights
	}
	return c
}

// loadInput points the chunk at its images of x: x itself for a batch of one chunk, else
// a copy of its images (contiguous within each channel in CNHW).
func (c *chunk) loadInput(x *kernels.Tensor) {
	if c.own == nil {
		c.input = x
		return
	}
	plane := x.H * x.W
	for ch := range x.C {
		copy(c.own.Data[ch*c.n*plane:(ch+1)*c.n*plane], x.Data[(ch*x.N+c.n0)*plane:(ch*x.N+c.n0+c.n)*plane])
	}
	c.input = c.own
}

// scratchLike returns a scratch tensor shaped like t (valid until the next use).
func (c *chunk) scratchLike(t *kernels.Tensor) kernels.Tensor {
	return kernels.Tensor{C: t.C, N: t.N, H: t.H, W: t.W, Data: c.scratch[:t.Len()]}
}

// Forward runs the network on x (CNHW, shaped as the graph's input) and returns the logits of
// exits 1..upTo, computing only the nodes those exits need; upTo <= 0 means all exits. The
// returned slice and tensors belong to the network and are overwritten by the next call. In
// steady state (same batch size as the previous call) Forward allocates nothing.
func (net *Network) Forward(x *kernels.Tensor, upTo int) []*kernels.Tensor {
	in := net.g.Input
	if x.C != in.C || x.H != in.H || x.W != in.W || x.N < 1 {
		panic(fmt.Sprintf("nn: input %v does not match the network's %s", x, in))
	}
	if upTo <= 0 || upTo > len(net.g.Exits) {
		upTo = len(net.g.Exits)
	}
	net.prepare(x.N)
	net.input = x
	net.run(net.planForward(net.train, upTo), passForward)
	net.logits = net.logits[:upTo]
	for i := range net.logits {
		b := net.batchOut[i]
		if len(net.chunks) > 1 {
			id := net.g.Exits[i].Output
			for _, c := range net.chunks {
				l := c.out[id]
				for row := range l.C {
					copy(b.Data[row*b.N+c.n0:row*b.N+c.n0+c.n], l.Data[row*c.n:(row+1)*c.n])
				}
			}
		}
		net.logits[i] = b
	}
	net.maxExit = upTo
	return net.logits
}

// stepIO is what a step's forward computation reads besides its own parameters.
type stepIO struct {
	// input returns a node's output tensor (graph.Input for the image).
	input func(id int) *kernels.Tensor
	// inPlace reports whether input k of a concatenation already sits in its output; nil
	// means none does.
	inPlace func(nd *graph.Node, k int) bool
	// scratch returns n floats of temporary storage.
	scratch func(n int) []float32
	// train selects batch statistics: a batch norm computes its chunk's partial
	// statistics into partA and partB, and normalises in finishForward once the
	// chunks' statistics are combined.
	train        bool
	partA, partB []float32
	// packed says that convolutions run from their packed weights (step.packed).
	packed bool
}

// forward computes st's op into y (the tensor of st.target(io.train)): the one definition
// of every op's forward pass on a chunk, shared by Forward and the early-exit executor. In
// evaluation mode a conv with evalBN applies the batch norm too, and absorbed steps are
// not run.
func (st *step) forward(y *kernels.Tensor, io stepIO) {
	nd := st.node
	var a *kernels.Tensor
	if len(nd.Inputs) > 0 {
		a = io.input(nd.Inputs[0])
	}
	switch nd.Op.Kind {
	case graph.Conv:
		switch bn := st.evalBN; {
		case bn != nil && !io.train && io.packed:
			st.packed.ForwardBatchNorm(y, a, bn.bn, bn.act)
		case bn != nil && !io.train:
			kernels.Conv2DBatchNorm(y, a, st.weight.Data, st.conv, bn.bn, bn.act)
		case io.packed:
			st.packed.Forward(y, a, paramData(st.bias))
		default:
			kernels.Conv2D(y, a, st.weight.Data, paramData(st.bias), st.conv)
		}
	case graph.BatchNorm:
		if io.train {
			st.bn.Partial(a, io.partA, io.partB) // finishForward normalises
		} else {
			st.bn.Inference(y, a, st.act)
		}
	case graph.ReLU:
		kernels.ReLU(y.Data, a.Data)
	case graph.GELU:
		kernels.GELU(y.Data, a.Data)
	case graph.MaxPool:
		kernels.MaxPool2D(y, a, st.pool)
	case graph.AvgPool:
		kernels.AvgPool2D(y, a, st.pool)
	case graph.AdaptiveAvgPool:
		kernels.AdaptiveAvgPool2D(y, a)
	case graph.Linear:
		var f kernels.Tensor
		kernels.Linear(y, features(&f, a, io.scratch), st.weight.Data, paramData(st.bias))
	case graph.Concat:
		c0 := 0
		for k, id := range nd.Inputs {
			src := io.input(id)
			if io.inPlace == nil || !io.inPlace(nd, k) {
				kernels.CopyChannels(y, c0, src)
			}
			c0 += src.C
		}
	case graph.Add:
		kernels.Add(y.Data, a.Data, io.input(nd.Inputs[1]).Data)
	case graph.Resize:
		switch {
		case a.H == y.H && a.W == y.W:
			copy(y.Data, a.Data)
		case nd.Op.AlignCorners:
			kernels.ResizeBilinearAlignCorners(y, a)
		default:
			kernels.ResizeBilinear(y, a)
		}
	case graph.MHSA:
		st.mhsa.Forward(y, a, st.weight.Data, st.proj.Data, st.bias.Data)
	case graph.LayerScale:
		kernels.LayerScale(y, a, st.weight.Data)
	case graph.Sigmoid:
		kernels.Sigmoid(y.Data, a.Data)
	case graph.ChannelScale:
		kernels.ChannelScale(y, a, io.input(nd.Inputs[1]))
	default:
		panic(fmt.Sprintf("nn: node %s: op kind %q has no kernel", nd.Name, nd.Op.Kind))
	}
}

// features presents a map as the feature-major matrix a linear layer reads, flattening it
// into scratch storage (described by f, which the caller provides so that it can live on
// the caller's stack) unless it is already 1×1.
func features(f, a *kernels.Tensor, scratch func(n int) []float32) *kernels.Tensor {
	if a.H == 1 && a.W == 1 {
		return a
	}
	*f = kernels.Tensor{C: a.C * a.H * a.W, N: a.N, H: 1, W: 1, Data: scratch(a.Len())}
	kernels.Flatten(f, a)
	return f
}

func paramData(p *Param) []float32 {
	if p == nil {
		return nil
	}
	return p.Data
}

// Backward propagates the per-exit logit gradients dlogits (index k for exit k+1; nil or a
// shorter slice skips exits) through the last training-mode Forward, adding the parameter
// gradients to Param.Grad.
func (net *Network) Backward(dlogits []*kernels.Tensor) {
	if !net.train {
		panic("nn: Backward after an evaluation-mode Forward")
	}
	if len(dlogits) > net.maxExit {
		panic(fmt.Sprintf("nn: gradients for %d exits after a forward pass through %d", len(dlogits), net.maxExit))
	}
	for k, d := range dlogits {
		if d == nil {
			continue
		}
		if g := net.batchOut[k]; !g.SameShape(d) {
			panic(fmt.Sprintf("nn: exit %d gradient %v, want %v", k+1, d, g))
		}
	}
	net.gradsIn = append(net.gradsIn[:0], dlogits...)
	net.run(net.planBackward(net.maxExit), passBackward)
	net.run(net.planBackward(net.maxExit), passWeights)
}

// startBackward readies the chunk's gradients for a backward pass from the logit
// gradients net.gradsIn.
func (c *chunk) startBackward() {
	net := c.net
	// Slabs are zeroed and every writer into them adds, since several nodes' gradients
	// share one slab; other gradients are overwritten by their first writer.
	clear(c.written)
	for id, p := range net.place {
		if net.writer[id] == nil {
			continue
		}
		if p.root == id && net.g.Nodes[id].Op.Kind == graph.Concat {
			clear(c.grad[id].Data)
		}
		if p.root != id || net.g.Nodes[id].Op.Kind == graph.Concat {
			c.written[id] = true
		}
	}
	for k, d := range net.gradsIn {
		if d == nil {
			continue
		}
		id := net.g.Exits[k].Output
		g := c.grad[id]
		for row := range g.C {
			copy(g.Data[row*c.n:(row+1)*c.n], d.Data[row*d.N+c.n0:row*d.N+c.n0+c.n])
		}
		c.written[id] = true
	}
}

// inputGrad returns where to write the gradient of input slot i of st and whether to add
// to it; ok is false for the image, which needs no gradient.
func (c *chunk) inputGrad(st *step, i int) (g *kernels.Tensor, accumulate, ok bool) {
	id := st.node.Inputs[i]
	if id == graph.Input {
		return nil, false, false
	}
	g, accumulate = c.grad[id], c.written[id]
	c.written[id] = true
	return g, accumulate, true
}

// deliver writes or adds a gradient computed into tmp (a scratch tensor) to dst.
func deliver(dst, tmp *kernels.Tensor, accumulate bool) {
	if accumulate {
		kernels.AddTo(dst.Data, tmp.Data)
	}
}

// target returns the tensor an overwrite-only kernel should write the gradient into: dst
// itself when nothing is there yet, else scratch to be added afterwards, described by tmp
// (the caller's, so that it stays on the caller's stack rather than being allocated).
func (c *chunk) target(tmp, dst *kernels.Tensor, accumulate bool) *kernels.Tensor {
	if accumulate {
		*tmp = c.scratchLike(dst)
		return tmp
	}
	return dst
}

// input returns the forward tensor of input slot i of st (the chunk's images for the
// image).
func (c *chunk) inputOf(st *step, i int) *kernels.Tensor {
	if id := st.node.Inputs[i]; id != graph.Input {
		return c.out[id]
	}
	return c.input
}

// backwardStep propagates the chunk's gradient of st's output to its inputs: the one
// definition of every op's backward pass. Weight gradients, which sum over the whole
// batch, are left to weightGrad; a batch norm computes its chunk's partial sums here and
// finishes in finishBackward once the chunks' sums are combined.
func (c *chunk) backwardStep(st *step) {
	nd := st.node
	dy := c.grad[st.out]
	var tmp kernels.Tensor // scratch tensor header for target
	switch nd.Op.Kind {
	case graph.Conv:
		if dx, acc, ok := c.inputGrad(st, 0); !ok {
			break
		} else if c.io.packed {
			st.packed.BackwardData(dx, dy, acc)
		} else {
			kernels.Conv2DBackwardData(dx, dy, st.weight.Data, st.conv, acc)
		}
	case graph.BatchNorm:
		k, ch := c.index, nd.Out.C
		st.bn.BackwardPartial(dy, c.inputOf(st, 0), c.net.saveMean[nd.ID], c.net.saveInvStd[nd.ID], st.act,
			c.net.partA[nd.ID][k*ch:(k+1)*ch], c.net.partB[nd.ID][k*ch:(k+1)*ch])
	case graph.ReLU:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			t := c.target(&tmp, dx, acc)
			kernels.ReLUBackward(t.Data, dy.Data, c.out[nd.ID].Data)
			deliver(dx, t, acc)
		}
	case graph.GELU:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			t := c.target(&tmp, dx, acc)
			kernels.GELUBackward(t.Data, dy.Data, c.inputOf(st, 0).Data)
			deliver(dx, t, acc)
		}
	case graph.MaxPool:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			t := c.target(&tmp, dx, acc)
			kernels.MaxPool2DBackward(t, dy, c.inputOf(st, 0), st.pool)
			deliver(dx, t, acc)
		}
	case graph.AvgPool:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			t := c.target(&tmp, dx, acc)
			kernels.AvgPool2DBackward(t, dy, st.pool)
			deliver(dx, t, acc)
		}
	case graph.AdaptiveAvgPool:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			t := c.target(&tmp, dx, acc)
			kernels.AdaptiveAvgPool2DBackward(t, dy)
			deliver(dx, t, acc)
		}
	case graph.Linear:
		dx, acc, ok := c.inputGrad(st, 0)
		if !ok {
			break
		}
		a := c.inputOf(st, 0)
		if a.H == 1 && a.W == 1 {
			kernels.LinearBackward(dx, dy, a, st.weight.Data, nil, nil, acc)
			break
		}
		// Flattened input: the gradient comes back feature-major and is unflattened.
		// The scratch storage receives the unflattened gradient when it is added, so the
		// feature-major one gets storage of its own, kept for the next steps.
		c.flatGrad = grow(c.flatGrad, a.Len())
		df := &kernels.Tensor{C: a.C * a.H * a.W, N: a.N, H: 1, W: 1, Data: c.flatGrad}
		kernels.LinearBackward(df, dy, df, st.weight.Data, nil, nil, false) // x unread without dw
		t := c.target(&tmp, dx, acc)
		kernels.Unflatten(t, df)
		deliver(dx, t, acc)
	case graph.Concat:
		c0 := 0
		for i := range nd.Inputs {
			ch := nd.In[i].C
			part := dy.Data[c0*dy.N*dy.H*dy.W : (c0+ch)*dy.N*dy.H*dy.W] // channels [c0, c0+ch)
			c0 += ch
			if c.net.inPlace(nd, i) {
				continue // the input's gradient is this very slice
			}
			if dx, acc, ok := c.inputGrad(st, i); ok {
				if acc {
					kernels.AddTo(dx.Data, part)
				} else {
					copy(dx.Data, part)
				}
			}
		}
	case graph.Add:
		for i := range nd.Inputs {
			if dx, acc, ok := c.inputGrad(st, i); ok {
				if acc {
					kernels.AddTo(dx.Data, dy.Data)
				} else {
					copy(dx.Data, dy.Data)
				}
			}
		}
	case graph.MHSA, graph.LayerScale:
		// Only the input gradient here; the weight gradients sum over the batch (weightGrad).
		// The kernels compute both: the chunk's go to discarded scratch.
		dx, acc, ok := c.inputGrad(st, 0)
		if !ok {
			break
		}
		x := c.inputOf(st, 0)
		if nd.Op.Kind == graph.MHSA {
			w, p := len(st.weight.Grad), len(st.proj.Grad)
			d := c.discardGrads(w + p + len(st.bias.Grad))
			st.mhsa.Backward(dx, dy, x, st.weight.Data, st.proj.Data, d[:w], d[w:w+p], d[w+p:], acc)
		} else {
			kernels.LayerScaleBackward(dx, dy, x, st.weight.Data, c.discardGrads(len(st.weight.Grad)), acc)
		}
	case graph.Sigmoid:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			t := c.target(&tmp, dx, acc)
			kernels.SigmoidBackward(t.Data, dy.Data, c.out[nd.ID].Data)
			deliver(dx, t, acc)
		}
	case graph.ChannelScale:
		dx, accX, okX := c.inputGrad(st, 0)
		ds, accS, okS := c.inputGrad(st, 1)
		if !okX {
			dx = nil
		}
		if !okS {
			ds = nil
		}
		kernels.ChannelScaleBackward(dx, ds, accX, accS, dy, c.inputOf(st, 0), c.inputOf(st, 1))
	case graph.Resize:
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			switch {
			case dx.H == dy.H && dx.W == dy.W && acc:
				kernels.AddTo(dx.Data, dy.Data)
			case dx.H == dy.H && dx.W == dy.W:
				copy(dx.Data, dy.Data)
			default:
				t := c.target(&tmp, dx, acc)
				if st.node.Op.AlignCorners {
					kernels.ResizeBilinearAlignCornersBackward(t, dy)
				} else {
					kernels.ResizeBilinearBackward(t, dy)
				}
				deliver(dx, t, acc)
			}
		}
	}
}

// weightGrad adds the gradients of st's weight and bias over every chunk of the batch, in
// chunk order, so that they do not depend on which goroutine ran what; scratch is storage
// for a flattened linear input.
func (net *Network) weightGrad(st *step, scratch []float32) {
	id := st.node.ID
	for _, c := range net.chunks {
		dy := c.grad[st.out]
		x := c.inputOf(st, 0)
		switch st.node.Op.Kind {
		case graph.Conv:
			kernels.Conv2DBackwardWeight(st.weight.Grad, paramGrad(st.bias), x, dy, st.conv)
		case graph.Linear:
			var f kernels.Tensor
			x = features(&f, x, func(n int) []float32 { return scratch[:n] })
			kernels.LinearBackward(nil, dy, x, st.weight.Data, st.weight.Grad, paramGrad(st.bias), false)
		case graph.MHSA:
			st.mhsa.Backward(nil, dy, x, st.weight.Data, st.proj.Data, st.weight.Grad, st.proj.Grad, st.bias.Grad, false)
		case graph.LayerScale:
			kernels.LayerScaleBackward(nil, dy, x, st.weight.Data, st.weight.Grad, false)
		default:
			panic(fmt.Sprintf("nn: node %s: op kind %q has no weight gradient", net.g.Nodes[id].Name, st.node.Op.Kind))
		}
	}
}

// discardGrads returns n floats of the chunk's storage for weight gradients a kernel
// computes beside an input gradient and that weightGrad computes again over the batch.
func (c *chunk) discardGrads(n int) []float32 {
	if cap(c.discard) < n {
		c.discard = make([]float32, n)
	}
	return c.discard[:n]
}

func paramGrad(p *Param) []float32 {
	if p == nil {
		return nil
	}
	return p.Grad
}
