package nn

import (
	"fmt"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
)

// prepare allocates the activation and gradient tensors for a batch of n images: one per
// run node, except that nodes placed inside a concatenation's slab get views of it.
func (net *Network) prepare(n int) {
	if net.batch == n {
		return
	}
	nodes := net.g.Nodes
	net.batch = n
	net.out = make([]*kernels.Tensor, len(nodes))
	net.grad = make([]*kernels.Tensor, len(nodes))
	net.written = make([]bool, len(nodes))
	net.saveMean = make([][]float32, len(nodes))
	net.saveInvStd = make([][]float32, len(nodes))
	net.gradRoots = net.gradRoots[:0]
	largest := 0
	for id, st := range net.writer {
		if st == nil || net.place[id].root != id {
			continue
		}
		s := nodes[id].Out
		net.out[id] = kernels.NewTensor(s.C, n, s.H, s.W)
		net.grad[id] = kernels.NewTensor(s.C, n, s.H, s.W)
		if nodes[id].Op.Kind == graph.Concat {
			net.gradRoots = append(net.gradRoots, id)
		}
	}
	for id, st := range net.writer {
		if st == nil {
			continue
		}
		if p := net.place[id]; p.root != id {
			c := nodes[id].Out.C
			net.out[id] = net.out[p.root].Channels(p.offset, p.offset+c)
			net.grad[id] = net.grad[p.root].Channels(p.offset, p.offset+c)
		}
		largest = max(largest, net.out[id].Len())
		for _, in := range st.node.In {
			largest = max(largest, int(in.Numel())*n)
		}
		if st.bn != nil {
			c := st.node.Out.C
			net.saveMean[st.node.ID] = make([]float32, c)
			net.saveInvStd[st.node.ID] = make([]float32, c)
		}
	}
	net.scratch = make([]float32, largest)
	net.logits = make([]*kernels.Tensor, 0, len(net.g.Exits))
	// Forward's view of the tensors, made once: closures made per call would escape to the
	// heap (the step IO flows into kernel tasks), allocating on every pass.
	net.io = stepIO{
		input: func(id int) *kernels.Tensor {
			if id == graph.Input {
				return net.input
			}
			return net.out[id]
		},
		inPlace: net.inPlace,
		scratch: func(n int) []float32 { return net.scratch[:n] },
	}
}

// gradOf returns node id's gradient tensor.
func (net *Network) gradOf(id int) *kernels.Tensor { return net.grad[id] }

// scratchLike returns a scratch tensor shaped like t (valid until the next use).
func (net *Network) scratchLike(t *kernels.Tensor) kernels.Tensor {
	return kernels.Tensor{C: t.C, N: t.N, H: t.H, W: t.W, Data: net.scratch[:t.Len()]}
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
	mask := graph.ExitSet(1)<<upTo - 1
	io := net.io
	io.train = net.train
	for _, st := range net.steps {
		if st == nil || st.node.Needed&mask == 0 || (st.absorbed && !net.train) {
			continue
		}
		io.mean, io.invStd = net.saveMean[st.node.ID], net.saveInvStd[st.node.ID]
		st.forward(net.out[st.target(net.train)], io)
	}
	net.logits = net.logits[:upTo]
	for i := range net.logits {
		net.logits[i] = net.out[net.g.Exits[i].Output]
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
	// train selects batch statistics; mean and invStd receive them.
	train        bool
	mean, invStd []float32
}

// forward computes st's op into y (the tensor of st.target(io.train)): the one definition
// of every op's forward pass, shared by Forward and the early-exit executor. In evaluation
// mode a conv with evalBN applies the batch norm too, and absorbed steps are not run.
func (st *step) forward(y *kernels.Tensor, io stepIO) {
	nd := st.node
	var a *kernels.Tensor
	if len(nd.Inputs) > 0 {
		a = io.input(nd.Inputs[0])
	}
	switch nd.Op.Kind {
	case graph.Conv:
		if bn := st.evalBN; bn != nil && !io.train {
			kernels.Conv2DBatchNorm(y, a, st.weight.Data, st.conv, bn.bn, bn.act)
			break
		}
		kernels.Conv2D(y, a, st.weight.Data, paramData(st.bias), st.conv)
	case graph.BatchNorm:
		if io.train {
			st.bn.Train(y, a, io.mean, io.invStd, st.act)
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
	// Slabs are zeroed and every writer into them adds, since several nodes' gradients
	// share one slab; other gradients are overwritten by their first writer.
	clear(net.written)
	for _, id := range net.gradRoots {
		clear(net.grad[id].Data)
	}
	for id, p := range net.place {
		if net.writer[id] != nil && (p.root != id || net.g.Nodes[id].Op.Kind == graph.Concat) {
			net.written[id] = true
		}
	}
	for k, d := range dlogits {
		if d == nil {
			continue
		}
		id := net.g.Exits[k].Output
		g := net.gradOf(id)
		if !g.SameShape(d) {
			panic(fmt.Sprintf("nn: exit %d gradient %v, want %v", k+1, d, g))
		}
		copy(g.Data, d.Data)
		net.written[id] = true
	}
	for i := len(net.steps) - 1; i >= 0; i-- {
		st := net.steps[i]
		if st == nil || !net.written[st.out] {
			continue
		}
		net.backwardStep(st)
	}
}

// inputGrad returns where to write the gradient of input slot i of st and whether to add
// to it; ok is false for the image, which needs no gradient.
func (net *Network) inputGrad(st *step, i int) (g *kernels.Tensor, accumulate, ok bool) {
	id := st.node.Inputs[i]
	if id == graph.Input {
		return nil, false, false
	}
	g, accumulate = net.gradOf(id), net.written[id]
	net.written[id] = true
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
func (net *Network) target(tmp, dst *kernels.Tensor, accumulate bool) *kernels.Tensor {
	if accumulate {
		*tmp = net.scratchLike(dst)
		return tmp
	}
	return dst
}

func (net *Network) backwardStep(st *step) {
	nd := st.node
	dy := net.grad[st.out]
	var tmp kernels.Tensor // scratch tensor header for target
	input := func(i int) *kernels.Tensor {
		if nd.Inputs[i] == graph.Input {
			return nil
		}
		return net.out[nd.Inputs[i]]
	}
	switch nd.Op.Kind {
	case graph.Conv:
		x := input(0)
		if nd.Inputs[0] == graph.Input {
			x = net.input
		}
		kernels.Conv2DBackwardWeight(st.weight.Grad, paramGrad(st.bias), x, dy, st.conv)
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			kernels.Conv2DBackwardData(dx, dy, st.weight.Data, st.conv, acc)
		}
	case graph.BatchNorm:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			st.bn.Backward(dx, dy, input(0), net.saveMean[nd.ID], net.saveInvStd[nd.ID], st.weight.Grad, st.bias.Grad, st.act, acc)
		} else {
			// On the image, which needs no gradient: the input gradient goes to scratch, for
			// the sake of the parameters' gradients.
			t := net.scratchLike(net.input)
			st.bn.Backward(&t, dy, net.input, net.saveMean[nd.ID], net.saveInvStd[nd.ID], st.weight.Grad, st.bias.Grad, st.act, false)
		}
	case graph.ReLU:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			t := net.target(&tmp, dx, acc)
			kernels.ReLUBackward(t.Data, dy.Data, net.out[nd.ID].Data)
			deliver(dx, t, acc)
		}
	case graph.GELU:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			t := net.target(&tmp, dx, acc)
			kernels.GELUBackward(t.Data, dy.Data, input(0).Data)
			deliver(dx, t, acc)
		}
	case graph.MaxPool:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			t := net.target(&tmp, dx, acc)
			kernels.MaxPool2DBackward(t, dy, input(0), st.pool)
			deliver(dx, t, acc)
		}
	case graph.AvgPool:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			t := net.target(&tmp, dx, acc)
			kernels.AvgPool2DBackward(t, dy, st.pool)
			deliver(dx, t, acc)
		}
	case graph.AdaptiveAvgPool:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			t := net.target(&tmp, dx, acc)
			kernels.AdaptiveAvgPool2DBackward(t, dy)
			deliver(dx, t, acc)
		}
	case graph.Linear:
		a := input(0)
		var f kernels.Tensor
		x := features(&f, a, net.io.scratch)
		dx, acc, ok := net.inputGrad(st, 0)
		if !ok {
			kernels.LinearBackward(nil, dy, x, st.weight.Data, st.weight.Grad, paramGrad(st.bias), false)
			break
		}
		if x == a {
			kernels.LinearBackward(dx, dy, x, st.weight.Data, st.weight.Grad, paramGrad(st.bias), acc)
			break
		}
		// Flattened input: the gradient comes back feature-major and is unflattened.
		// x occupies the scratch storage, so the gradient gets storage of its own, kept
		// for the next steps.
		net.flatGrad = grow(net.flatGrad, x.Len())
		df := &kernels.Tensor{C: x.C, N: x.N, H: 1, W: 1, Data: net.flatGrad}
		kernels.LinearBackward(df, dy, x, st.weight.Data, st.weight.Grad, paramGrad(st.bias), false)
		t := net.target(&tmp, dx, acc)
		kernels.Unflatten(t, df)
		deliver(dx, t, acc)
	case graph.Concat:
		c0 := 0
		for i := range nd.Inputs {
			c := nd.In[i].C
			part := dy.Data[c0*dy.N*dy.H*dy.W : (c0+c)*dy.N*dy.H*dy.W] // channels [c0, c0+c)
			c0 += c
			if net.inPlace(nd, i) {
				continue // the input's gradient is this very slice
			}
			if dx, acc, ok := net.inputGrad(st, i); ok {
				if acc {
					kernels.AddTo(dx.Data, part)
				} else {
					copy(dx.Data, part)
				}
			}
		}
	case graph.Add:
		for i := range nd.Inputs {
			if dx, acc, ok := net.inputGrad(st, i); ok {
				if acc {
					kernels.AddTo(dx.Data, dy.Data)
				} else {
					copy(dx.Data, dy.Data)
				}
			}
		}
	case graph.MHSA, graph.LayerScale:
		x := input(0)
		if nd.Inputs[0] == graph.Input {
			x = net.input
		}
		dx, acc, ok := net.inputGrad(st, 0)
		if !ok {
			dx = nil
		}
		if nd.Op.Kind == graph.MHSA {
			st.mhsa.Backward(dx, dy, x, st.weight.Data, st.proj.Data, st.weight.Grad, st.proj.Grad, st.bias.Grad, acc)
		} else {
			kernels.LayerScaleBackward(dx, dy, x, st.weight.Data, st.weight.Grad, acc)
		}
	case graph.Sigmoid:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			t := net.target(&tmp, dx, acc)
			kernels.SigmoidBackward(t.Data, dy.Data, net.out[nd.ID].Data)
			deliver(dx, t, acc)
		}
	case graph.ChannelScale:
		dx, accX, okX := net.inputGrad(st, 0)
		ds, accS, okS := net.inputGrad(st, 1)
		if !okX {
			dx = nil
		}
		if !okS {
			ds = nil
		}
		x := input(0)
		if nd.Inputs[0] == graph.Input {
			x = net.input
		}
		kernels.ChannelScaleBackward(dx, ds, accX, accS, dy, x, input(1))
	case graph.Resize:
		if dx, acc, ok := net.inputGrad(st, 0); ok {
			switch {
			case dx.H == dy.H && dx.W == dy.W && acc:
				kernels.AddTo(dx.Data, dy.Data)
			case dx.H == dy.H && dx.W == dy.W:
				copy(dx.Data, dy.Data)
			default:
				t := net.target(&tmp, dx, acc)
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

func paramGrad(p *Param) []float32 {
	if p == nil {
		return nil
	}
	return p.Grad
}
