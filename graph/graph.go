// Package graph holds the typed computation graph of a multi-exit network: nodes with an op
// kind, input and output shapes, parameter counts, costs, and the set of exits that need each
// node. The builder produces it from a spec; the cost model and the executable network both
// read it, so what is costed is exactly what runs.
//
// Shapes are per sample (channels, height, width); the batch dimension belongs to the
// executor. Nodes are stored in the order the reference implementations execute them, which
// is what cumulative per-exit costs are measured in.
package graph

import (
	"fmt"
	"math/bits"
)

// Shape is a per-sample tensor shape: channels, height and width.
type Shape struct {
	C, H, W int
}

// Numel returns the number of elements of one sample.
func (s Shape) Numel() int64 { return int64(s.C) * int64(s.H) * int64(s.W) }

// String formats the shape as CxHxW.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Input is the pseudo node ID that names the network's input image in Node.Inputs.
const Input = -1

// Role says which part of the network a node belongs to.
type Role uint8

// Node roles.
const (
	RoleBackbone Role = iota // stem, layers, transitions: shared by later exits
	RoleHead                 // the classifier of one exit
)

// Part says which part of the network a node belongs to, as the builder knows it (rather
// than as a node's name suggests): cost breakdowns group by it.
type Part string

// Node parts.
const (
	PartStem       Part = "stem"       // the stem and the rest of the first layer
	PartLayer      Part = "layer"      // the units and concatenations of the layers
	PartTransition Part = "transition" // the transitions between layers
	PartHead       Part = "head"       // the classifier of one exit
)

// Node is one op application.
type Node struct {
	// ID is the node's index in Graph.Nodes, which is also its execution order.
	ID int
	// Name is a unique hierarchical path, e.g. "block1/layer2/scale1/down/conv3x3".
	Name string
	// Op is the operation and its attributes.
	Op Op
	// Inputs are the IDs of the nodes read, in op order; Input names the image.
	Inputs []int
	// In are the input shapes, parallel to Inputs.
	In []Shape
	// Out is the output shape.
	Out Shape
	// Params is the number of trainable parameters (batch-norm running statistics are
	// buffers, not parameters).
	Params int64
	// Cost is the node's cost in every convention the cost model knows.
	Cost Cost
	// Block is the 1-based block (segment ending in an exit) that executes the node.
	Block int
	// Layer labels the layer the node belongs to inside its block, e.g. "layer 3" or
	// "transition"; used for cost breakdowns.
	Layer string
	// Part says whether the node belongs to the stem, a layer, a transition or a head.
	Part Part
	// Role says whether the node is backbone or head.
	Role Role
	// Exit is the 1-based exit whose head contains the node (0 for backbone nodes).
	Exit int
	// Needed is the set of exits whose output depends on this node (bit k-1 for exit k).
	Needed ExitSet
}

// ExitSet is a set of exits, bit k-1 standing for exit k.
type ExitSet uint64

// MaxExits is the largest number of exits a graph may have.
const MaxExits = 64

// Has reports whether exit k (1-based) is in the set.
func (s ExitSet) Has(k int) bool { return s&(1<<(k-1)) != 0 }

// First returns the smallest exit in the set, or 0 if the set is empty.
func (s ExitSet) First() int {
	if s == 0 {
		return 0
	}
	return bits.TrailingZeros64(uint64(s)) + 1
}

// Exit is one classifier output.
type Exit struct {
	// Index is the 1-based exit number, in execution order.
	Index int
	// Output is the ID of the node whose output is the exit's logits.
	Output int
	// Block is the block the exit closes.
	Block int
	// Head lists the IDs of the head's nodes in execution order.
	Head []int
}

// Graph is a compiled multi-exit network.
type Graph struct {
	// Name is the spec's name.
	Name string
	// Input is the shape of one input image.
	Input Shape
	// Nodes are in execution order.
	Nodes []*Node
	// Exits are in execution order.
	Exits []Exit
}

// Params returns the total number of trainable parameters.
func (g *Graph) Params() int64 {
	var n int64
	for _, nd := range g.Nodes {
		n += nd.Params
	}
	return n
}

// Cone returns the IDs of the nodes exit k (1-based) depends on, in execution order.
func (g *Graph) Cone(k int) []int {
	var ids []int
	for _, nd := range g.Nodes {
		if nd.Needed.Has(k) {
			ids = append(ids, nd.ID)
		}
	}
	return ids
}

// computeNeeded fills Node.Needed by walking back from every exit's output.
func (g *Graph) computeNeeded() {
	for _, nd := range g.Nodes {
		nd.Needed = 0
	}
	for _, e := range g.Exits {
		bit := ExitSet(1) << (e.Index - 1)
		stack := []int{e.Output}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nd := g.Nodes[id]
			if nd.Needed&bit != 0 {
				continue
			}
			nd.Needed |= bit
			for _, in := range nd.Inputs {
				if in != Input {
					stack = append(stack, in)
				}
			}
		}
	}
}
