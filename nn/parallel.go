package nn

import (
	"sort"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/internal/par"
	"github.com/msdx/msdx/kernels"
)

// ChunkImages is the number of images in each chunk of a batch: a batch of N images is
// chunks [0, 8), [8, 16), ..., the last one holding the rest. It does not depend on the
// thread count, so neither do the results (see the package documentation).
const ChunkImages = 8

// passKind says what a pass over a plan computes.
type passKind int

const (
	passForward  passKind = iota // the plan's steps forward, chunk by chunk
	passBackward                 // their input gradients, chunk by chunk
	passWeights                  // their weight gradients, over all chunks, step by step
	passPack                     // before a forward or backward pass: its convs' weights packed
)

// phase is the work each chunk does between two joins.
type phase struct {
	// finish lists the batch norms whose chunk statistics (forward) or sums (backward)
	// were combined after the previous phase: each chunk finishes them first.
	finish []*step
	// run lists the steps each chunk then runs, in order; a batch norm among them (in
	// training) computes its chunk's statistics or sums, combined after the phase.
	run []*step
}

// plan is a pass's phases: each runs on every chunk (the chunks in parallel), then the
// batch norms of its run list combine their chunk statistics.
type plan struct {
	phases []phase
	// weights lists the steps with weight gradients (backward plans), costliest first, so
	// that the goroutines taking them in turn finish together.
	weights []*step
	// convs lists the convolutions whose weights the pass multiplies by (forward) or by
	// whose transpose it propagates gradients (backward).
	convs    []*step
	backward bool
}

// planForward returns the plan of a forward pass through exits 1..upTo in training or
// evaluation mode, made on first use. A step runs in the phase after the last one that
// produced an input: in evaluation mode that is a single phase, since nothing but a
// training batch norm needs the other chunks.
func (net *Network) planForward(train bool, upTo int) *plan {
	mode := 0
	if train {
		mode = 1
	}
	if net.forwardPlans[mode] == nil {
		net.forwardPlans[mode] = make([]*plan, len(net.g.Exits)+1)
	}
	if p := net.forwardPlans[mode][upTo]; p != nil {
		return p
	}
	mask := graph.ExitSet(1)<<upTo - 1
	p := &plan{}
	ready := make([]int, len(net.g.Nodes)) // the phase from which a node's output is complete
	for _, st := range net.steps {
		if st == nil || st.node.Needed&mask == 0 || (st.absorbed && !train) {
			continue
		}
		lv := 0
		for _, in := range st.node.Inputs {
			if in != graph.Input {
				lv = max(lv, ready[in])
			}
		}
		p.at(lv).run = append(p.at(lv).run, st)
		if train && st.bn != nil {
			lv++
			p.at(lv).finish = append(p.at(lv).finish, st)
		}
		ready[st.target(train)] = lv
		if st.node.Op.Kind == graph.Conv {
			p.convs = append(p.convs, st)
		}
	}
	net.forwardPlans[mode][upTo] = p
	return p
}

// planBackward returns the plan of a backward pass after a training forward pass through
// exits 1..upTo, made on first use: steps in reverse order, each in the phase after the
// last one that wrote to its output's gradient.
func (net *Network) planBackward(upTo int) *plan {
	if net.backwardPlans == nil {
		net.backwardPlans = make([]*plan, len(net.g.Exits)+1)
	}
	if p := net.backwardPlans[upTo]; p != nil {
		return p
	}
	mask := graph.ExitSet(1)<<upTo - 1
	p := &plan{}
	ready := make([]int, len(net.g.Nodes)) // the phase from which a node's gradient is complete
	for i := len(net.steps) - 1; i >= 0; i-- {
		st := net.steps[i]
		if st == nil || st.node.Needed&mask == 0 {
			continue
		}
		lv := ready[st.out]
		p.at(lv).run = append(p.at(lv).run, st)
		if st.bn != nil {
			lv++
			p.at(lv).finish = append(p.at(lv).finish, st)
		}
		for _, in := range st.node.Inputs {
			if in != graph.Input {
				ready[in] = max(ready[in], lv)
			}
		}
		if k := st.node.Op.Kind; k == graph.Conv || k == graph.Linear || k == graph.MHSA || k == graph.LayerScale {
			p.weights = append(p.weights, st)
		}
		if st.node.Op.Kind == graph.Conv && st.node.Inputs[0] != graph.Input {
			p.convs = append(p.convs, st)
		}
	}
	p.backward = true
	sort.SliceStable(p.weights, func(i, j int) bool { return p.weights[i].node.Cost.MACs > p.weights[j].node.Cost.MACs })
	net.backwardPlans[upTo] = p
	return p
}

// at returns phase lv, adding phases up to it.
func (p *plan) at(lv int) *phase {
	for len(p.phases) <= lv {
		p.phases = append(p.phases, phase{})
	}
	return &p.phases[lv]
}

// pass is the task a pass hands to par.Do. Packing weights and computing weight gradients
// are one par.Do each, part i being conv i or weight step i; the phases of a forward or
// backward pass are one par.Do too, in which each worker goes through all the phases
// (runPhases). It lives in the Network, so handing it out allocates nothing.
type pass struct {
	net  *Network
	kind passKind
	plan *plan
}

// run executes plan p on the chunks: each phase on min(Threads, chunks) workers, each
// taking the next chunk, with kernels running serially inside them; then the phase's batch
// norms combine their chunks' statistics in chunk order. Nothing else joins the chunks.
// Every chunk's work and every combination is independent of which goroutine does it, so
// the results do not depend on the thread count.
//
// The workers meet between phases at a par.Barrier, which spins briefly, rather than in a
// par.Do per phase, which parks them: a training step has a hundred phases or more, and
// waking parked helpers after each one cost more than a tenth of the second core.
//
// A batch of several chunks first packs the convolutions' weights, once for all chunks
// (kernels.ConvWeights), the convolutions spread over the goroutines.
func (net *Network) run(p *plan, kind passKind) {
	parts := len(net.chunks)
	if kind == passWeights {
		parts = len(p.weights)
	}
	workers := max(min(kernels.Threads(), parts), 1)
	if workers > 1 {
		kernels.BeginSerial()
		defer kernels.EndSerial()
	}
	if len(net.chunks) > 1 && kind != passWeights && len(p.convs) > 0 {
		packers := min(kernels.Threads(), len(p.convs))
		if packers > 1 && workers <= 1 {
			kernels.BeginSerial()
			defer kernels.EndSerial()
		}
		net.pass = pass{net: net, kind: passPack, plan: p}
		par.Do(packers, len(p.convs), &net.pass)
	}
	net.pass = pass{net: net, kind: kind, plan: p}
	if kind == passWeights {
		for len(net.workerScratch) < workers {
			net.workerScratch = append(net.workerScratch, make([]float32, len(net.chunks[0].scratch)))
		}
		par.Do(workers, parts, &net.pass)
	} else {
		net.nextChunk.Store(0)
		net.barrier.Reset(workers)
		par.Do(workers, workers, &net.pass) // a part per worker, each running runPhases
	}
	net.pass = pass{}
}

// Run does part i of the pass on goroutine w.
func (ps *pass) Run(w, i int) {
	net := ps.net
	switch ps.kind {
	case passPack:
		st := ps.plan.convs[i]
		if ps.plan.backward {
			st.packed.PackBackward(st.weight.Data, st.conv)
		} else {
			st.packed.PackForward(st.weight.Data, st.conv)
		}
	case passWeights:
		st := ps.plan.weights[i]
		if net.chunks[0].written[st.out] { // the same in every chunk
			net.weightGrad(st, net.workerScratch[w])
		}
	default:
		ps.runPhases()
		return
	}
	if net.observe != nil {
		net.observe(ps.kind, 0, i)
	}
}

// runPhases is one worker's share of a forward or backward pass: in each phase it takes
// chunks until none is left, then waits for the other workers at the barrier; the last to
// arrive combines the phase's batch-norm statistics and lets them all go on.
func (ps *pass) runPhases() {
	net := ps.net
	n := int64(len(net.chunks))
	for i := range ps.plan.phases {
		ph := &ps.plan.phases[i]
		for k := net.nextChunk.Add(1) - 1; k < n; k = net.nextChunk.Add(1) - 1 {
			if c := net.chunks[k]; ps.kind == passForward {
				c.forwardPhase(ph, i == 0)
			} else {
				c.backwardPhase(ph, i == 0)
			}
			if net.observe != nil {
				net.observe(ps.kind, i, int(k))
			}
		}
		if net.barrier.Wait() {
			net.combine(ph, ps.kind)
			if net.observe != nil {
				net.observe(ps.kind, i, -1)
			}
			net.nextChunk.Store(0)
			net.barrier.Release()
		}
	}
}

// forwardPhase runs a phase of a forward pass on the chunk.
func (c *chunk) forwardPhase(ph *phase, first bool) {
	net := c.net
	if first {
		c.loadInput(net.input)
	}
	for _, st := range ph.finish {
		id := st.node.ID
		st.bn.Normalize(c.out[st.out], c.inputOf(st, 0), net.saveMean[id], net.saveInvStd[id], st.act)
	}
	io := c.io
	io.train = net.train
	for _, st := range ph.run {
		if st.bn != nil && net.train {
			k, ch := c.index, st.node.Out.C
			io.partA, io.partB = net.partA[st.node.ID][k*ch:(k+1)*ch], net.partB[st.node.ID][k*ch:(k+1)*ch]
		}
		st.forward(c.out[st.target(net.train)], io)
	}
}

// backwardPhase runs a phase of a backward pass on the chunk; steps whose output gradient
// no exit wrote are skipped.
func (c *chunk) backwardPhase(ph *phase, first bool) {
	net := c.net
	if first {
		c.startBackward()
	}
	for _, st := range ph.finish {
		if !c.written[st.out] {
			continue
		}
		if dx, acc, ok := c.inputGrad(st, 0); ok {
			id, ch, in := st.node.ID, st.node.Out.C, st.node.In[0]
			st.bn.BackwardApply(dx, c.grad[st.out], c.inputOf(st, 0), net.saveMean[id], net.saveInvStd[id],
				net.partA[id][:ch], net.partB[id][:ch], net.batch*in.H*in.W, st.act, acc)
		}
	}
	for _, st := range ph.run {
		if c.written[st.out] {
			c.backwardStep(st)
		}
	}
}

// combine combines the chunk statistics (forward) or sums (backward) of the training batch
// norms of a phase, in chunk order; backward, this adds their parameter gradients.
func (net *Network) combine(ph *phase, kind passKind) {
	if !net.train {
		return
	}
	for _, st := range ph.run {
		if st.bn == nil {
			continue
		}
		id, ch := st.node.ID, st.node.Out.C
		if kind == passForward {
			in := st.node.In[0]
			st.bn.CombineStats(net.saveMean[id], net.saveInvStd[id], net.partA[id], net.partB[id], net.images, in.H*in.W)
		} else if net.chunks[0].written[st.out] {
			kernels.CombineBackward(net.partA[id][:ch], net.partB[id][:ch], net.partA[id], net.partB[id],
				net.saveInvStd[id], st.weight.Grad, st.bias.Grad, len(net.chunks))
		}
	}
}
