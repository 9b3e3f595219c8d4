package builder

import (
	"fmt"
	"slices"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// BlockLayers returns the number of MSDN layers in each block of an MSDNet-family spec:
// base for block 1, then step each ("even") or step·i+1 for block i+1 ("lin_grow").
func BlockLayers(s *spec.Spec) []int {
	steps := []int{s.Blocks.Base}
	for i := 1; i < s.Blocks.Count; i++ {
		if s.Blocks.StepMode == spec.StepLinGrow {
			steps = append(steps, s.Blocks.Step*i+1)
		} else {
			steps = append(steps, s.Blocks.Step)
		}
	}
	return steps
}

// buildMSDNet emits an MSDNet-family network whose layers follow a declared wiring:
// MSDNet's, the fusion of Addad et al. or any other (spec.Wiring).
//
// One running count c is kept; scale s holds c·gr[s] channels. Each layer appends g·gr[s]
// channels on every kept scale, made by the wiring's units that can run there; a
// transition sets c to floor(reduction·c).
func buildMSDNet(a *Arch, w *spec.Wiring) {
	s := a.Spec
	gr, g := s.Scales.GrFactor, s.Growth
	nScales := len(gr)
	steps := BlockLayers(s)
	total := 0
	for _, n := range steps {
		total += n
	}
	// Scales are computed fine to coarse, unless a unit reads a coarser scale's output of
	// the same layer (the spec rejects wirings that read both directions' outputs).
	coarseFirst := false
	for _, u := range w.Units {
		if u.State == "output" && u.Offset() > 0 {
			coarseFirst = true
		}
	}

	// First layer: the stem gives the finest scale, then a chain of 3×3 stride-2 convs.
	a.at(graph.PartStem, "first layer")
	x := make([]int, nScales)
	x[0] = a.Stem(-1, s.Channels*gr[0])
	for sc := 1; sc < nScales; sc++ {
		x[sc] = a.ConvBasic(fmt.Sprintf("first/scale%d", sc), x[sc-1], s.Channels*gr[sc], 3, 2)
	}
	// groups[sc] are the pieces of scale sc's running features, one per layer (the first
	// layer's or a transition's output counting as one), for units that read a window.
	groups := make([][][]int, nScales)
	for sc := range groups {
		groups[sc] = [][]int{{x[sc]}}
	}

	c, n, first := s.Channels, 0, 0
	for bi, layers := range steps {
		if s.Blocks.Attention && bi == len(steps)-1 {
			a.Exit(a.attentionBlock(x[first]))
			break
		}
		for range layers {
			n++
			in, out := spec.ScaleSpan(s.Fusion.Prune, nScales, n, total)
			first = nScales - out
			a.at(graph.PartLayer, fmt.Sprintf("layer %d", n))
			next := make([]int, nScales)
			copy(next, x)
			added := make([][]int, nScales)
			order := make([]int, 0, out)
			for sc := first; sc < nScales; sc++ {
				order = append(order, sc)
			}
			if coarseFirst {
				slices.Reverse(order)
			}
			for _, sc := range order {
				name := fmt.Sprintf("layer%d/scale%d", n, sc)
				units := w.Present(sc, nScales, in, out)
				newCh := g * gr[sc]
				shares, err := spec.SplitChannels(newCh, units)
				if err != nil {
					a.B.Fail(s.Errorf("scales.gr_factor", "growth %d x gr_factor[%d] %d = %d new channels on scale %d (layer %d): %v", g, sc+1, gr[sc], newCh, sc+1, n, err))
					return
				}
				parts := []int{x[sc]}
				for i, u := range units {
					src := sc + u.Offset()
					feat := x[src]
					window := groups[src]
					if u.State == "output" {
						feat = next[src]
						window = append(slices.Clone(window), added[src])
					}
					un := name + "/" + u.Name
					if u.Window > 0 && u.Window < len(window) {
						feat = a.windowOf(un+"/window", window[len(window)-u.Window:])
					}
					unit := a.wiredUnit(un, feat, shares[i], newCh, u, src, sc)
					if u.Offset() > 0 {
						unit = a.upsample(un+"/resize", unit, a.B.Shape(x[sc]))
					}
					parts = append(parts, unit)
					added[sc] = append(added[sc], unit)
				}
				next[sc] = a.Concat(name+"/concat", parts...)
			}
			x = next
			for sc := first; sc < nScales; sc++ {
				groups[sc] = append(groups[sc], added[sc])
			}
			c += g
			transition := s.Reduction > 0 &&
				(s.Fusion.Prune == spec.PruneMax && in > out ||
					s.Fusion.Prune == spec.PruneMin && (n == total/3 || n == 2*total/3))
			if transition {
				if !a.transitionFits(c, slices.Max(gr[first:]), fmt.Sprintf("layer %d (block %d)", n, bi+1)) {
					return
				}
				reduced := floorMul(s.Reduction, c)
				a.at(graph.PartTransition, fmt.Sprintf("transition %d", n))
				for sc := first; sc < nScales; sc++ {
					x[sc] = a.ConvBasic(fmt.Sprintf("layer%d/transition/scale%d", n, sc), x[sc], reduced*gr[sc], 1, 1)
					groups[sc] = [][]int{{x[sc]}}
				}
				c = reduced
			}
		}
		a.Exit(x[nScales-1])
	}
}

// windowOf concatenates the pieces of a scale's features that a windowed unit reads.
func (a *Arch) windowOf(name string, pieces [][]int) int {
	var ids []int
	for _, p := range pieces {
		ids = append(ids, p...)
	}
	if len(ids) == 1 {
		return ids[0]
	}
	return a.Concat(name, ids...)
}

// wiredUnit emits one unit of a wiring on feat (read from scale src) for scale dst: an
// optional SE block, an optional 1×1 bottleneck of width min(C_in, bn·out), then a k×k conv
// whose stride takes a finer scale's map to dst's size; each conv with batch norm and
// activation. newCh is dst's number of new channels, for the SE width.
func (a *Arch) wiredUnit(name string, feat, out, newCh int, u spec.Unit, src, dst int) int {
	s := a.Spec
	if s.Fusion.SE {
		hidden, err := s.Fusion.SEHidden.Eval(map[string]int{"new": newCh, "out": out, "in": a.B.Shape(feat).C}, 1)
		if err != nil {
			a.B.Fail(s.Errorf("fusion.se_hidden", "the SE block of %s: %v", name, err))
			return feat
		}
		feat = a.squeezeExcite(name+"/se", feat, hidden)
	}
	x := feat
	if s.Bottleneck && u.Bottleneck != "none" {
		bn := s.Scales.BnFactor[src]
		if u.Bottleneck == "target" {
			bn = s.Scales.BnFactor[dst]
		}
		inner := min(a.B.Shape(feat).C, bn*out)
		x = a.ConvBasic(name+"/bottleneck", x, inner, 1, 1)
	}
	stride := 1
	if src < dst {
		stride = 1 << (dst - src)
	}
	return a.ConvBasic(fmt.Sprintf("%s/conv%dx%d", name, u.Kernel, u.Kernel), x, out, u.Kernel, stride)
}

// attentionBlock emits the attention block of the code of Addad et al. that replaces the
// last block (spec.Blocks.Attention, architectures.md §2.3) on in, the first scale that
// remains, and returns its output.
func (a *Arch) attentionBlock(in int) int {
	s := a.Spec
	gr := s.Scales.GrFactor
	width := s.Blocks.AttentionWidth * gr[len(gr)-1]
	a.at(graph.PartLayer, "attention")
	x := a.ConvBasic("attention/stem", in, width, 3, 1)
	cpe := a.B.Add("attention/cpe", graph.Op{Kind: graph.Conv, Out: width, Kernel: 7, Stride: 1, Pad: 3, Groups: width, Bias: true}, x)
	x = a.B.Add("attention/cpe/add", graph.Op{Kind: graph.Add}, x, cpe)
	for i := 1; i <= s.Blocks.Step; i++ {
		name := fmt.Sprintf("attention/block%d", i)
		y := a.B.Add(name+"/norm", graph.Op{Kind: graph.BatchNorm}, x)
		y = a.B.Add(name+"/attn", graph.Op{Kind: graph.MHSA, HeadDim: spec.AttentionHeadDim}, y)
		y = a.B.Add(name+"/scale1", graph.Op{Kind: graph.LayerScale}, y)
		x = a.B.Add(name+"/add1", graph.Op{Kind: graph.Add}, x, y)
		y = a.B.Add(name+"/ffn/conv", graph.Op{Kind: graph.Conv, Out: width, Kernel: 7, Stride: 1, Pad: 3, Groups: width}, x)
		y = a.B.Add(name+"/ffn/bn", graph.Op{Kind: graph.BatchNorm}, y)
		y = a.B.Add(name+"/ffn/fc1", graph.Op{Kind: graph.Conv, Out: 2 * width, Kernel: 1, Stride: 1, Groups: 1, Bias: true}, y)
		y = a.B.Add(name+"/ffn/gelu", graph.Op{Kind: graph.GELU}, y)
		y = a.B.Add(name+"/ffn/fc2", graph.Op{Kind: graph.Conv, Out: width, Kernel: 1, Stride: 1, Groups: 1, Bias: true}, y)
		y = a.B.Add(name+"/scale2", graph.Op{Kind: graph.LayerScale}, y)
		x = a.B.Add(name+"/add2", graph.Op{Kind: graph.Add}, x, y)
	}
	return x
}
