package graph

import "fmt"

// Builder appends nodes to a graph in execution order. Shape errors are sticky: the first
// one is kept and returned by Finish, and later calls do nothing, so architecture code can
// read straight through without checking every step.
type Builder struct {
	g     *Graph
	block int
	layer string
	part  Part
	role  Role
	exit  int
	head  []int
	names map[string]bool
	err   error
}

// NewBuilder starts a graph for input images of the given shape.
func NewBuilder(name string, input Shape) *Builder {
	return &Builder{g: &Graph{Name: name, Input: input}, block: 1, names: map[string]bool{}}
}

// At sets the block and layer label of the nodes added next.
func (b *Builder) At(block int, layer string) {
	b.block, b.layer = block, layer
}

// SetPart sets the part of the backbone nodes added next (heads are always PartHead).
func (b *Builder) SetPart(p Part) { b.part = p }

// Err returns the first error met so far.
func (b *Builder) Err() error { return b.err }

// Fail records err as the build error unless one is already recorded.
func (b *Builder) Fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Shape returns the output shape of node id (or of the input image for Input).
func (b *Builder) Shape(id int) Shape {
	if id == Input {
		return b.g.Input
	}
	if id < 0 || id >= len(b.g.Nodes) {
		return Shape{}
	}
	return b.g.Nodes[id].Out
}

// Add appends op applied to inputs under name and returns the new node's ID. Names must be
// unique; reusing one is a programming error and panics.
func (b *Builder) Add(name string, op Op, inputs ...int) int {
	if b.names[name] {
		panic(fmt.Sprintf("graph: node name %q used twice", name))
	}
	b.names[name] = true
	def := Def(op.Kind)
	in := make([]Shape, len(inputs))
	for i, id := range inputs {
		if id != Input && (id < 0 || id >= len(b.g.Nodes)) {
			panic(fmt.Sprintf("graph: node %q reads unknown node %d", name, id))
		}
		in[i] = b.Shape(id)
	}
	nd := &Node{ID: len(b.g.Nodes), Name: name, Op: op, Inputs: inputs, In: in,
		Block: b.block, Layer: b.layer, Part: b.part, Role: b.role, Exit: b.exit}
	if b.role == RoleHead {
		nd.Part = PartHead
	}
	if b.err == nil {
		out, err := def.Infer(op, in)
		if err != nil {
			b.err = fmt.Errorf("%s: %w", name, err)
		} else {
			nd.Out = out
			nd.Params = def.Params(op, in)
			nd.Cost = def.Cost(op, in, out)
			nd.Cost.Acts = out.Numel()
		}
	}
	b.g.Nodes = append(b.g.Nodes, nd)
	if b.role == RoleHead {
		b.head = append(b.head, nd.ID)
	}
	return nd.ID
}

// BeginHead marks the nodes added next as the head of the next exit.
func (b *Builder) BeginHead() {
	if b.role == RoleHead {
		panic("graph: BeginHead inside a head")
	}
	b.role, b.exit, b.head = RoleHead, len(b.g.Exits)+1, nil
}

// EndHead closes the head begun by BeginHead, with output as the exit's logits.
func (b *Builder) EndHead(output int) {
	if b.role != RoleHead {
		panic("graph: EndHead without BeginHead")
	}
	b.g.Exits = append(b.g.Exits, Exit{Index: b.exit, Output: output, Block: b.block, Head: b.head})
	b.role, b.exit, b.head = RoleBackbone, 0, nil
}

// Finish returns the graph with each node's exit set computed, or the first error.
func (b *Builder) Finish() (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.role == RoleHead {
		panic("graph: Finish inside a head")
	}
	if len(b.g.Exits) == 0 {
		return nil, fmt.Errorf("graph %q has no exit", b.g.Name)
	}
	if len(b.g.Exits) > MaxExits {
		return nil, fmt.Errorf("graph %q has %d exits; at most %d are supported", b.g.Name, len(b.g.Exits), MaxExits)
	}
	b.g.computeNeeded()
	for _, nd := range b.g.Nodes {
		if nd.Needed == 0 {
			// fvcore traces the network with the TorchScript tracer, whose dead-code
			// elimination drops ops that no output depends on (e.g. the finer scales of
			// MSDNet's last layer when it keeps more than one scale).
			nd.Cost.FVCore = 0
		}
	}
	return b.g, nil
}
