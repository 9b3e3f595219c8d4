// Package nn runs the networks msdx specs describe: it compiles a builder graph into an
// executable network on msdx's CPU kernels, with a forward pass that returns every exit's
// logits (or stops after exit k, computing only what that exit needs), a backward pass from
// per-exit logit gradients, train and eval modes, and parameter files in the safetensors
// layout.
//
// Tensors are CNHW (see package kernels). Logits of an exit are a [classes][batch] matrix.
//
// A batch norm followed by its activation runs as one fused kernel; in evaluation mode a
// bias-free convolution whose only consumer is a batch norm runs with it as one kernel too
// (kernels.Conv2DBatchNorm, bit-identical to the separate passes). Nodes that no exit
// depends on are never run (PyTorch runs them, but their outputs are unused); they keep
// their parameters, so parameter files and counts match the reference networks.
//
// # Threads: data parallelism across the batch
//
// These networks are hundreds of small ops (MSDNet's layers have 6 to 48 output
// channels), too small to split each one among threads and join after it: the joins cost
// more than the second core gives. So a batch is cut into fixed chunks of ChunkImages
// images instead, and each chunk runs through the network on one goroutine (kernels run
// serially inside, kernels.BeginSerial), up to kernels.Threads chunks at once on the
// helper goroutines of package internal/par. Every chunk has its own activations,
// gradients and scratch storage; CNHW tensors of the whole batch are split into chunks on
// the way in (the images, the logit gradients) and gathered on the way out (the logits).
//
// Chunks must meet only where the batch, not the image, is the unit:
//
//   - A batch norm in training normalises with the batch's statistics. Each chunk computes
//     its per-channel mean and squared deviations (kernels.BatchNorm.Partial); at a join
//     they are combined in chunk order (CombineStats); then every chunk normalises. Its
//     backward pass does the same with the sums of dz and dz·(x-mean), which also give the
//     gradients of gamma and beta. The plan of a pass (planForward, planBackward) puts
//     every step in the phase after the last join its inputs need, so the batch norms of
//     parallel branches (MSDNet's scales, RANet's sub-networks) share their joins: a
//     training step joins once per level of batch-norm depth, not once per op. The
//     workers stay at work through a pass and meet at a spinning barrier
//     (par.Barrier), whose last arrival does the combining: parking them at every join
//     and waking them again cost more than the joins themselves.
//   - Weight gradients sum over the batch. The backward pass computes only input
//     gradients per chunk; after it, each conv or linear layer's weight gradient is the
//     sum of its chunks' gradients in chunk order, the layers spread over the goroutines
//     (costliest first).
//   - Nothing else: an evaluation-mode forward pass (batch norms use running statistics)
//     and real early exit (EarlyExit, each chunk exiting its own samples) have no join at
//     all before the end.
//
// The chunking depends on the batch size only, and every chunk's computation, every
// combination and every kernel give the same bits whichever goroutine runs them, so
// training and inference give the same bits on any number of threads: runs resume bit
// for bit on another thread count (TestThreadCountIndependence checks 1, 2 and 3 threads
// on every preset family). Bits do depend on the kernel path (kernels.Path: AVX-512, AVX2
// or generic) and on ChunkImages.
//
// A new op kind needs a case in step.forward and chunk.backwardStep (and, if it has
// weights that sum over the batch, in Network.weightGrad and in planBackward's list of
// weight steps; a kernel that computes them beside the input gradient, as kernels.MHSA
// does, writes the chunk's copy to chunk.discardGrads); an op that, like batch norm, needs
// statistics of the whole batch also needs a join in the plans.
package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/internal/par"
	"github.com/msdx/msdx/kernels"
)

// Param is one trainable tensor and its gradient.
type Param struct {
	// Name is "<node name>.weight" or "<node name>.bias", as in parameter files.
	Name string
	// Shape is the tensor's shape in PyTorch's layout.
	Shape []int
	Data  []float32
	Grad  []float32
}

// Buffer is a non-trainable tensor saved with the parameters (batch-norm statistics).
type Buffer struct {
	Name  string
	Shape []int
	Data  []float32
}

// Init selects how parameters are initialised.
type Init string

// Initialisations.
const (
	// InitPyTorch is PyTorch's default: weights and biases of convs and linear layers
	// uniform in ±1/sqrt(fan_in). MSDNet uses it (its custom init is dead code,
	// architectures.md §2.1), and so does the code of Addad et al.
	InitPyTorch Init = "pytorch"
	// InitHeNormal is RANet's: conv weights normal with std sqrt(2/(k²·C_out)), linear
	// biases zero, linear weights PyTorch's default.
	InitHeNormal Init = "he-normal"
)

// step is one compiled node.
type step struct {
	node *graph.Node
	// out is the node whose tensor receives this step's output: the node itself, or for a
	// batch norm fused with its activation, the activation node.
	out int
	act kernels.Activation // activation fused into a batch norm

	conv kernels.ConvSpec
	// evalBN is the batch norm (with its fused activation) that follows this bias-free
	// conv as its only consumer: in evaluation mode the conv applies it to its output
	// while in cache (kernels.Conv2DBatchNorm) and the batch norm's step does not run.
	evalBN *step
	// absorbed marks a batch norm that its conv applies in evaluation mode.
	absorbed bool

	// packed is a conv's weights packed for the pass under way when the batch has
	// several chunks (see Network.run).
	packed kernels.ConvWeights

	pool   kernels.PoolSpec
	weight *Param
	bias   *Param
	bn     *kernels.BatchNorm
	// An MHSA's queries-keys-values map is weight; its projection is proj and bias.
	mhsa kernels.MHSA
	proj *Param
}

// Network is an executable multi-exit network.
type Network struct {
	g       *graph.Graph
	steps   []*step // indexed by node ID; nil for fused activations and dead nodes
	params  []*Param
	buffers []*Buffer
	train   bool
	place   []placement // where each node's output lives (see planConcats)
	writer  []*step     // the step that writes each node's tensor; nil if none runs

	chunkImages int // images per chunk of a batch (ChunkImages)

	// State for the current batch size (see prepare).
	batch         int
	chunks        []*chunk
	images        []int           // images per chunk, for kernels.BatchNorm.CombineStats
	input         *kernels.Tensor // the last forward pass's input
	saveMean      [][]float32     // batch statistics of each batch norm, by node ID
	saveInvStd    [][]float32
	partA         [][]float32       // each batch norm's per-chunk partial sums (forward: means; backward: sums of dz)
	partB         [][]float32       // (forward: squared deviations; backward: sums of dz·(x-mean))
	maxExit       int               // exits computed by the last forward pass
	logits        []*kernels.Tensor // Forward's result, reused
	batchOut      []*kernels.Tensor // per exit, the batch's logits gathered from the chunks
	gradsIn       []*kernels.Tensor // Backward's per-exit logit gradients, for the chunks to copy
	forwardPlans  [2][]*plan        // by training mode and exits computed (see planForward)
	backwardPlans []*plan           // by exits computed
	pass          pass              // the task a pass hands to the workers
	nextChunk     atomic.Int64      // the next chunk of the running phase to take
	barrier       par.Barrier       // where a pass's workers meet between its phases
	workerScratch [][]float32       // per goroutine of a weight-gradient pass, for flattened linear inputs
	// observe, when not nil, is told when a part of a pass (a chunk's phase, or a
	// layer's weight gradient) or a phase's combination (part -1) is done: how the scaling
	// benchmark measures the work between joins.
	observe func(kind passKind, phase, part int)
}

// New compiles g into a network with parameters initialised by init from seed.
func New(g *graph.Graph, init Init, seed uint64) (*Network, error) {
	if init != InitPyTorch && init != InitHeNormal {
		return nil, fmt.Errorf("nn: unknown initialisation %q (want %s or %s)", init, InitPyTorch, InitHeNormal)
	}
	net := &Network{g: g, steps: make([]*step, len(g.Nodes)), chunkImages: ChunkImages}
	rng := rand.New(rand.NewPCG(seed, 0x6d7364780a))
	consumers := make([][]int, len(g.Nodes))
	for _, nd := range g.Nodes {
		for _, in := range nd.Inputs {
			if in != graph.Input {
				consumers[in] = append(consumers[in], nd.ID)
			}
		}
	}
	fused := make([]bool, len(g.Nodes))
	for _, nd := range g.Nodes {
		// Nodes no exit needs still get their parameters, so that parameter files and
		// counts match the reference (and PyTorch) networks; they are never run.
		if fused[nd.ID] {
			continue
		}
		st := &step{node: nd, out: nd.ID}
		in := graph.Shape{}
		if len(nd.In) > 0 {
			in = nd.In[0]
		}
		switch nd.Op.Kind {
		case graph.Conv:
			op := nd.Op
			st.conv = kernels.ConvSpec{InC: in.C, OutC: op.Out, KH: op.Kernel, KW: op.Kernel,
				StrideH: op.Stride, StrideW: op.Stride, PadH: op.Pad, PadW: op.Pad, Groups: op.Groups}
			fanIn := in.C / op.Groups * op.Kernel * op.Kernel
			st.weight = net.newParam(nd.Name+".weight", []int{op.Out, in.C / op.Groups, op.Kernel, op.Kernel})
			if init == InitHeNormal {
				fillNormal(rng, st.weight.Data, math.Sqrt(2/float64(op.Kernel*op.Kernel*op.Out)))
			} else {
				fillUniform(rng, st.weight.Data, 1/math.Sqrt(float64(fanIn)))
			}
			if op.Bias {
				st.bias = net.newParam(nd.Name+".bias", []int{op.Out})
				fillUniform(rng, st.bias.Data, 1/math.Sqrt(float64(fanIn)))
			}
		case graph.BatchNorm:
			st.bn = kernels.NewBatchNorm(in.C)
			st.weight = net.newParam(nd.Name+".weight", []int{in.C})
			st.bias = net.newParam(nd.Name+".bias", []int{in.C})
			copy(st.weight.Data, st.bn.Gamma)
			copy(st.bias.Data, st.bn.Beta)
			st.bn.Gamma, st.bn.Beta = st.weight.Data, st.bias.Data
			net.buffers = append(net.buffers,
				&Buffer{Name: nd.Name + ".running_mean", Shape: []int{in.C}, Data: st.bn.RunMean},
				&Buffer{Name: nd.Name + ".running_var", Shape: []int{in.C}, Data: st.bn.RunVar})
			if cs := consumers[nd.ID]; len(cs) == 1 {
				switch next := g.Nodes[cs[0]]; next.Op.Kind {
				case graph.ReLU:
					st.act, st.out, fused[next.ID] = kernels.ActReLU, next.ID, true
				case graph.GELU:
					st.act, st.out, fused[next.ID] = kernels.ActGELU, next.ID, true
				}
			}
		case graph.MaxPool, graph.AvgPool:
			op := nd.Op
			st.pool = kernels.PoolSpec{KH: op.Kernel, KW: op.Kernel, StrideH: op.Stride, StrideW: op.Stride, PadH: op.Pad, PadW: op.Pad}
		case graph.Linear:
			features := int(in.Numel())
			st.weight = net.newParam(nd.Name+".weight", []int{nd.Op.Out, features})
			bound := 1 / math.Sqrt(float64(features))
			fillUniform(rng, st.weight.Data, bound)
			if nd.Op.Bias {
				st.bias = net.newParam(nd.Name+".bias", []int{nd.Op.Out})
				if init == InitPyTorch {
					fillUniform(rng, st.bias.Data, bound)
				}
			}
		case graph.MHSA:
			c := in.C
			st.mhsa = kernels.MHSA{C: c, HeadDim: nd.Op.HeadDim}
			bound := 1 / math.Sqrt(float64(c))
			st.weight = net.newParam(nd.Name+".qkv.weight", []int{3 * c, c})
			fillUniform(rng, st.weight.Data, bound)
			st.proj = net.newParam(nd.Name+".proj.weight", []int{c, c})
			fillUniform(rng, st.proj.Data, bound)
			st.bias = net.newParam(nd.Name+".proj.bias", []int{c})
			fillUniform(rng, st.bias.Data, bound)
		case graph.LayerScale:
			// FastViT's LayerScale2d, initialised to 1e-5 as the attention block of the code
			// of Addad et al. does.
			st.weight = net.newParam(nd.Name+".weight", []int{in.C, 1, 1})
			for i := range st.weight.Data {
				st.weight.Data[i] = 1e-5
			}
		case graph.ReLU, graph.GELU, graph.AdaptiveAvgPool, graph.Concat, graph.Add, graph.Resize, graph.Sigmoid, graph.ChannelScale:
		default:
			return nil, fmt.Errorf("nn: node %s: op kind %q has no kernel", nd.Name, nd.Op.Kind)
		}
		net.steps[nd.ID] = st
	}
	for _, st := range net.steps {
		if st == nil || st.bn == nil || st.node.Inputs[0] == graph.Input {
			continue
		}
		in := st.node.Inputs[0]
		if conv := net.steps[in]; conv != nil && conv.node.Op.Kind == graph.Conv && conv.bias == nil && len(consumers[in]) == 1 {
			conv.evalBN, st.absorbed = st, true
		}
	}
	net.writer = make([]*step, len(g.Nodes))
	for _, st := range net.steps {
		if st != nil && st.node.Needed != 0 {
			net.writer[st.out] = st
		}
	}
	net.planConcats()
	return net, nil
}

// target returns the node whose tensor st writes: in evaluation mode a conv fused with
// its batch norm writes the batch norm's output.
func (st *step) target(train bool) int {
	if !train && st.evalBN != nil {
		return st.evalBN.out
	}
	return st.out
}

// placement locates a node's output inside another node's tensor: channels
// [offset, offset+C) of root's output.
type placement struct {
	root, offset int
}

// planConcats lets concatenations happen in place: walking the graph backwards, a live
// concat that no later concat has claimed owns a tensor (a slab), and each of its inputs
// not claimed yet is placed at its channel offset inside that slab, so the op producing the
// input writes straight into the concatenation, and the concatenation (forward) and its
// split (backward) cost nothing. Dense layers chain: a layer's input is the prefix of its
// output, so a whole run of layers between transitions shares one slab.
func (net *Network) planConcats() {
	nodes := net.g.Nodes
	net.place = make([]placement, len(nodes))
	for i := range net.place {
		net.place[i] = placement{root: i}
	}
	claimed := make([]bool, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		nd := nodes[i]
		if nd.Op.Kind != graph.Concat || nd.Needed == 0 {
			continue
		}
		base, off := net.place[i], 0
		for k, in := range nd.Inputs {
			if in != graph.Input && !claimed[in] && net.producer(in) != nil {
				claimed[in] = true
				net.place[in] = placement{root: base.root, offset: base.offset + off}
			}
			off += nd.In[k].C
		}
	}
}

// producer returns the step whose output is node id's tensor (a fused batch norm for its
// activation), or nil if the node is not run.
func (net *Network) producer(id int) *step { return net.writer[id] }

// inPlace reports whether input k of concat node nd already sits where the concat puts it.
func (net *Network) inPlace(nd *graph.Node, k int) bool {
	in := nd.Inputs[k]
	if in == graph.Input {
		return false
	}
	off := 0
	for j := 0; j < k; j++ {
		off += nd.In[j].C
	}
	p, q := net.place[in], net.place[nd.ID]
	return p.root == q.root && p.offset == q.offset+off && p.root != in
}

func (net *Network) newParam(name string, shape []int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n)}
	net.params = append(net.params, p)
	return p
}

func fillUniform(rng *rand.Rand, x []float32, bound float64) {
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

func fillNormal(rng *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
}

// Graph returns the graph the network was compiled from.
func (net *Network) Graph() *graph.Graph { return net.g }

// Params returns the trainable parameters in graph order.
func (net *Network) Params() []*Param { return net.params }

// Buffers returns the batch-norm running statistics in graph order.
func (net *Network) Buffers() []*Buffer { return net.buffers }

// NumExits returns the number of exits.
func (net *Network) NumExits() int { return len(net.g.Exits) }

// SetTrain selects training mode (batch statistics, running averages updated) or
// evaluation mode (running statistics).
func (net *Network) SetTrain(train bool) { net.train = train }

// Training reports whether the network is in training mode.
func (net *Network) Training() bool { return net.train }

// ZeroGrad clears every parameter gradient.
func (net *Network) ZeroGrad() {
	for _, p := range net.params {
		clear(p.Grad)
	}
}
