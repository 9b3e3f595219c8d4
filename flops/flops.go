// Package flops is msdx's analytic cost model: per-exit MACs, FLOPs, parameters and
// activation counts of a built graph, without running it.
//
// Costs are read from the graph's nodes, whose op kinds define them (package graph), and
// accumulated per exit under three semantics:
//
//   - Execution: everything executed up to and including exit k's classifier, in the
//     reference order, earlier heads included. This is what the MSDNet and RANet op
//     counters report and what budgeted evaluation charges for exiting at k.
//   - OwnHead: the backbone executed before exit k plus exit k's own head only.
//   - Cone: only the nodes exit k depends on, the cost a real early-exit run that skips
//     unneeded work pays to reach exit k from scratch.
package flops

import (
	"fmt"

	"github.com/msdx/msdx/graph"
)

// Semantics selects how per-exit costs accumulate.
type Semantics string

// Cumulative semantics.
const (
	Execution Semantics = "execution"
	OwnHead   Semantics = "own-head"
	Cone      Semantics = "cone"
)

// ParseSemantics checks a semantics name from user input.
func ParseSemantics(s string) (Semantics, error) {
	switch Semantics(s) {
	case Execution, OwnHead, Cone:
		return Semantics(s), nil
	}
	return "", fmt.Errorf("unknown cost semantics %q (want execution, own-head or cone)", s)
}

// Totals is a sum of node costs.
type Totals struct {
	// MACs follows the reference op counters (graph.Cost.MACs).
	MACs int64 `json:"macs"`
	// Params counts trainable parameters.
	Params int64 `json:"params"`
	// FLOPs counts floating-point operations (graph.Cost.FLOPs).
	FLOPs int64 `json:"flops"`
	// FVCore follows fvcore's conventions (graph.Cost.FVCore).
	FVCore int64 `json:"fvcore"`
	// Activations counts output elements for a batch of one (graph.Cost.Acts).
	Activations int64 `json:"activations"`
}

func (t *Totals) add(n *graph.Node) {
	t.MACs += n.Cost.MACs
	t.Params += n.Params
	t.FLOPs += n.Cost.FLOPs
	t.FVCore += n.Cost.FVCore
	t.Activations += n.Cost.Acts
}

// ExitCost is the cost of reaching one exit.
type ExitCost struct {
	// Exit is the 1-based exit number.
	Exit int `json:"exit"`
	// Totals are cumulative in execution order, earlier heads included (the reference
	// semantics).
	Totals
	// OwnHead counts the backbone before the exit plus its own head.
	OwnHead Totals `json:"own_head"`
	// Cone counts only the nodes the exit depends on.
	Cone Totals `json:"cone"`
}

// Get returns the totals of e under semantics s.
func (e ExitCost) Get(s Semantics) Totals {
	switch s {
	case OwnHead:
		return e.OwnHead
	case Cone:
		return e.Cone
	}
	return e.Totals
}

// Exits returns the cost of every exit of g, in exit order.
func Exits(g *graph.Graph) []ExitCost {
	out := make([]ExitCost, len(g.Exits))
	for i, e := range g.Exits {
		ec := ExitCost{Exit: e.Index}
		for _, n := range g.Nodes[:e.Output+1] {
			ec.Totals.add(n)
			if n.Role == graph.RoleBackbone || n.Exit == e.Index {
				ec.OwnHead.add(n)
			}
		}
		for _, n := range g.Nodes {
			if n.Needed.Has(e.Index) {
				ec.Cone.add(n)
			}
		}
		out[i] = ec
	}
	return out
}

// Total returns the cost of the whole graph.
func Total(g *graph.Graph) Totals {
	var t Totals
	for _, n := range g.Nodes {
		t.add(n)
	}
	return t
}

// Row is one line of a breakdown.
type Row struct {
	// Label names the part: "block 3", "head 3", "layer 7", "conv2d", ...
	Label string `json:"label"`
	// Block is the block (segment ending at exit Block) the part belongs to; 0 for a
	// breakdown by op kind.
	Block int `json:"block,omitempty"`
	Totals
}

// ByBlock breaks the graph down into the backbone of each block and each head, in
// execution order: the parts whose sums give the per-exit totals.
func ByBlock(g *graph.Graph) []Row {
	return group(g, func(n *graph.Node) (string, int) {
		if n.Role == graph.RoleHead {
			return fmt.Sprintf("head %d", n.Exit), n.Block
		}
		return fmt.Sprintf("block %d", n.Block), n.Block
	})
}

// ByLayer breaks the graph down by layer label within each block, in execution order.
func ByLayer(g *graph.Graph) []Row {
	return group(g, func(n *graph.Node) (string, int) {
		if n.Role == graph.RoleHead {
			return fmt.Sprintf("head %d", n.Exit), n.Block
		}
		return fmt.Sprintf("block %d/%s", n.Block, n.Layer), n.Block
	})
}

// ByKind breaks the whole graph down by op kind, in order of first appearance.
func ByKind(g *graph.Graph) []Row {
	return group(g, func(n *graph.Node) (string, int) { return string(n.Op.Kind), 0 })
}

func group(g *graph.Graph, key func(*graph.Node) (string, int)) []Row {
	var rows []Row
	index := map[string]int{}
	for _, n := range g.Nodes {
		label, block := key(n)
		i, ok := index[label]
		if !ok {
			i = len(rows)
			index[label] = i
			rows = append(rows, Row{Label: label, Block: block})
		}
		rows[i].Totals.add(n)
	}
	return rows
}
