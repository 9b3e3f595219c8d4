package builder

import (
	"fmt"
	"math"
	"slices"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

func init() {
	RegisterWiring(spec.RuleMSDNet, func(a *Arch) { buildMSDNet(a, false) })
	RegisterWiring(spec.RuleDense, func(a *Arch) { buildMSDNet(a, true) })
}

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

// scaleSpan returns how many scales layer n (1-based, of total) reads and writes under the
// pruning schedule (architectures.md §2.1).
func scaleSpan(prune string, scales, n, total int) (in, out int) {
	if prune == spec.PruneMin {
		return min(scales, total-n+2), min(scales, total-n+1)
	}
	interval := int(math.Ceil(float64(total) / float64(scales)))
	return scales - max(0, n-2)/interval, scales - (n-1)/interval
}

// buildMSDNet emits MSDNet (dense=false) or the fusion network of Addad et al. (dense=true).
//
// One running count c is kept; scale s holds c·gr[s] channels. Each layer appends g·gr[s]
// channels on every kept scale; a transition sets c to floor(reduction·c).
func buildMSDNet(a *Arch, dense bool) {
	s := a.Spec
	gr, bn, g := s.Scales.GrFactor, s.Scales.BnFactor, s.Growth
	nScales := len(gr)
	steps := BlockLayers(s)
	total := 0
	for _, n := range steps {
		total += n
	}

	// First layer: the stem gives the finest scale, then a chain of 3×3 stride-2 convs.
	a.at(graph.PartStem, "first layer")
	x := make([]int, nScales)
	x[0] = a.Stem(-1, s.Channels*gr[0])
	for sc := 1; sc < nScales; sc++ {
		x[sc] = a.ConvBasic(fmt.Sprintf("first/scale%d", sc), x[sc-1], s.Channels*gr[sc], 3, 2)
	}

	c, n := s.Channels, 0
	for bi, layers := range steps {
		for range layers {
			n++
			in, out := scaleSpan(s.Fusion.Prune, nScales, n, total)
			first := nScales - out
			a.at(graph.PartLayer, fmt.Sprintf("layer %d", n))
			next := make([]int, nScales)
			copy(next, x)
			for sc := first; sc < nScales; sc++ {
				name := fmt.Sprintf("layer%d/scale%d", n, sc)
				newCh := g * gr[sc]
				switch {
				case sc == first && (dense || in == out):
					// Normal-only: the first kept scale when nothing is dropped, and always
					// under the dense fusion (the dropped scale contributes nothing).
					unit := a.Unit(name+"/normal", x[sc], newCh, bn[sc], false)
					next[sc] = a.Concat(name+"/concat", x[sc], unit)
				default:
					// The down unit reads the finer scale: its input to this layer (MSDNet) or
					// its updated output of this same layer (dense fusion).
					finer := x[sc-1]
					if dense {
						finer = next[sc-1]
					}
					down := a.Unit(name+"/down", finer, newCh/2, bn[sc-1], true)
					normal := a.Unit(name+"/normal", x[sc], newCh/2, bn[sc], false)
					next[sc] = a.Concat(name+"/concat", x[sc], down, normal)
				}
			}
			x = next
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
				}
				c = reduced
			}
		}
		a.Exit(x[nScales-1])
	}
}
