package builder

import (
	"fmt"
	"slices"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

func init() {
	RegisterWiring(spec.RuleRANet, buildRANet)
}

// ranetBlock is what a block of one flow offers the next flow: its input and the output of
// each of its layers (before any fusion conv or transition).
type ranetBlock struct {
	states []int
}

// buildRANet emits RANet (architectures.md §2.2). Flow i runs at the resolution of
// Scales.Resolution[i] with width Channels·gr[i] and growth Growth·gr[i]; it has
// Count + i·BlockStep blocks, the first ones fusing the previous flow's blocks, the rest
// plain dense blocks each followed by an exit. Exits come flow by flow.
func buildRANet(a *Arch) {
	s := a.Spec
	gr, bn, res := s.Scales.GrFactor, s.Scales.BnFactor, s.Scales.Resolution
	nFlows := len(gr)
	cf := s.Fusion.CompressFactor

	// First layer, computed up front for every flow: the stem at full resolution for the
	// highest-resolution flow, then a chain towards lower resolutions (stride 2 whenever the
	// resolution changes).
	a.at(graph.PartStem, "first layer")
	inputs := make([]int, nFlows)
	last := nFlows - 1
	inputs[last] = a.Stem(graph.Input, s.Channels*gr[last])
	for f := last - 1; f >= 0; f-- {
		stride := 1
		if res[f] != res[f+1] {
			stride = 2
		}
		inputs[f] = a.ConvBasic(fmt.Sprintf("first/flow%d", f), inputs[f+1], s.Channels*gr[f], 3, stride)
	}

	blocksOf := func(f int) int { return s.Blocks.Count + f*s.Blocks.BlockStep }
	layersOf := func(b int) int { // b is 1-based
		if s.Blocks.StepMode == spec.StepLG {
			return s.Blocks.Step * b
		}
		return s.Blocks.Step
	}

	var lower []ranetBlock
	for f := 0; f < nFlows; f++ {
		nBlocks, growth := blocksOf(f), s.Growth*gr[f]
		fused := 0 // blocks fused from the lower flow
		if f > 0 {
			fused = blocksOf(f - 1)
		}
		// A fusion block downsamples where an earlier flow ended, for the last res-1 of
		// those places, so that every flow ends at the lowest resolution.
		ends := []int{0}
		for j := 0; j < f; j++ {
			ends = append(ends, blocksOf(j))
		}
		downAt := ends[max(0, len(ends)-(res[f]-1)):]
		if res[f] == 1 {
			downAt = nil
		}

		x := inputs[f]
		var blocks []ranetBlock
		for b := 1; b <= nBlocks; b++ {
			layers := layersOf(b)
			name := fmt.Sprintf("flow%d/block%d", f, b)
			a.at(graph.PartLayer, fmt.Sprintf("flow %d block %d", f, b))
			states := []int{x}
			if b > fused {
				for l := 0; l < layers; l++ {
					unit := a.Unit(fmt.Sprintf("%s/layer%d/normal", name, l+1), x, growth, bn[f], false)
					x = a.Concat(fmt.Sprintf("%s/layer%d/concat", name, l+1), x, unit)
					states = append(states, x)
				}
			} else {
				low := lower[b-1].states
				down := slices.Contains(downAt, b)
				upCh := floorMul(cf, growth)
				for l := 0; l < layers; l++ {
					ln := fmt.Sprintf("%s/layer%d", name, l+1)
					normal := a.Unit(ln+"/normal", x, growth-upCh, bn[f], down && l == layers-1)
					size := a.B.Shape(normal)
					up := a.Unit(ln+"/up", low[l], upCh, bn[f-1], false)
					x = a.Concat(ln+"/concat",
						a.resize(ln+"/resize", x, size),
						a.resize(ln+"/up/resize", up, size),
						normal)
					states = append(states, x)
				}
				size := a.B.Shape(x)
				fuse := a.ConvBasic(name+"/fuse", low[layers], floorMul(cf, size.C), 1, 1)
				x = a.Concat(name+"/fuse/concat", x, a.resize(name+"/fuse/resize", fuse, size))
			}
			if ranetTransition(b, nBlocks, res[f]) && s.Reduction > 0 {
				c := a.B.Shape(x).C
				if !a.transitionFits(c, 1, fmt.Sprintf("flow %d block %d", f, b)) {
					return
				}
				a.B.SetPart(graph.PartTransition)
				x = a.ConvBasic(name+"/transition", x, floorMul(s.Reduction, c), 1, 1)
			}
			blocks = append(blocks, ranetBlock{states: states})
			if b > fused {
				a.Exit(x)
			}
		}
		lower = blocks
	}
}

// ranetTransition reports whether block b of a flow with n blocks at resolution scale ends
// in a transition: when b = floor(i·n/scale) for some i in 1..scale-1.
func ranetTransition(b, n, scale int) bool {
	for i := 1; i < scale; i++ {
		if b == i*n/scale {
			return true
		}
	}
	return false
}

// resize emits a bilinear resize of in to size's spatial extent, with align_corners=True as
// RANet's F.interpolate calls have it. Same-size resizes are kept: they are free at run
// time but fvcore counts them, and the graph records what the reference executes.
func (a *Arch) resize(name string, in int, size graph.Shape) int {
	return a.B.Add(name, graph.Op{Kind: graph.Resize, H: size.H, W: size.W, AlignCorners: true}, in)
}

// upsample emits the bilinear resize that brings a declared unit's output from a coarser
// scale to this one, with PyTorch's default align_corners=False: declared wirings are not
// RANet's, and their exports and golden fixtures use the default.
func (a *Arch) upsample(name string, in int, size graph.Shape) int {
	return a.B.Add(name, graph.Op{Kind: graph.Resize, H: size.H, W: size.W}, in)
}
