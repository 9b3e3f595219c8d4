// Package curve owns the accuracy-against-cost curve of msdx: the (MACs, top-1) Point
// that ablation, search and report share, its interpolation at a budget, the normalised
// area under it, and the two-objective Pareto tools on such points (dominance, front,
// hypervolume), with cost minimised and accuracy maximised.
//
// The dominance, front and hypervolume are package pareto's n-objective ones applied to
// (MACs, −top-1): one implementation serves both.
package curve

import (
	"math"
	"sort"

	"github.com/msdx/msdx/pareto"
)

// Point is one point of an accuracy-against-cost curve: a cost in MACs per image (an
// exit's cumulative MACs, or a budget's expected MACs) and the test top-1 accuracy in
// percent reached within it.
type Point struct {
	MACs float64 `json:"macs"`
	Top1 float64 `json:"top1_percent"`
}

// SortByCost sorts ps by MACs, keeping the order of points of equal cost.
func SortByCost(ps []Point) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].MACs < ps[j].MACs })
}

// Area is the normalised area under a piecewise-linear curve: the trapezoidal area
// between its cheapest and its most expensive point divided by that MAC range, which is
// the curve's mean accuracy over the range, in percent. A curve of one point (or of
// equal MACs) has the area of its mean accuracy. The points need not be sorted; NaN for
// no points.
func Area(ps []Point) float64 {
	if len(ps) == 0 {
		return math.NaN()
	}
	s := append([]Point(nil), ps...)
	SortByCost(s)
	lo, hi := s[0].MACs, s[len(s)-1].MACs
	if hi == lo {
		mean := 0.0
		for _, p := range s {
			mean += p.Top1
		}
		return mean / float64(len(s))
	}
	area := 0.0
	for i := 1; i < len(s); i++ {
		area += (s[i].MACs - s[i-1].MACs) * (s[i].Top1 + s[i-1].Top1) / 2
	}
	return area / (hi - lo)
}

// At interpolates a curve sorted by cost linearly at budget, which mixing two budgeted
// settings' thresholds achieves; above the curve's most expensive point it keeps the
// best accuracy reached, below its cheapest it is NaN.
func At(sorted []Point, budget float64) float64 {
	if len(sorted) == 0 || budget < sorted[0].MACs {
		return math.NaN()
	}
	best := sorted[0].Top1
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if budget >= b.MACs {
			best = max(best, b.Top1)
			continue
		}
		if b.MACs > a.MACs {
			best = max(best, a.Top1+(b.Top1-a.Top1)*(budget-a.MACs)/(b.MACs-a.MACs))
		}
		break
	}
	return best
}

// StepAt returns the accuracy of the last of the exits (in exit order) whose cost is at
// most budget: what an anytime classifier stopped at that budget answers. NaN when even
// the first exit does not fit.
func StepAt(exits []Point, budget float64) float64 {
	acc := math.NaN()
	for _, e := range exits {
		if e.MACs <= budget {
			acc = e.Top1
		}
	}
	return acc
}

// Mean averages curves of equal length point by point (cost and accuracy); nil when
// their lengths differ or there are none.
func Mean(curves [][]Point) []Point {
	if len(curves) == 0 {
		return nil
	}
	n := len(curves[0])
	out := make([]Point, n)
	for _, c := range curves {
		if len(c) != n {
			return nil
		}
		for i, p := range c {
			out[i].MACs += p.MACs / float64(len(curves))
			out[i].Top1 += p.Top1 / float64(len(curves))
		}
	}
	return out
}

// minimised returns p as package pareto's minimised objectives: (MACs, −top-1).
func minimised(p Point) []float64 { return []float64{p.MACs, -p.Top1} }

func minimisedAll(ps []Point) [][]float64 {
	out := make([][]float64, len(ps))
	for i, p := range ps {
		out[i] = minimised(p)
	}
	return out
}

// Dominates reports whether a is at most as costly and at least as accurate as b, and
// strictly better in one.
func Dominates(a, b Point) bool { return pareto.Dominates(minimised(a), minimised(b)) }

// Front returns the indices, in increasing order, of the points no other point
// dominates; of points with equal cost and accuracy all are kept.
func Front(ps []Point) []int { return pareto.Front(minimisedAll(ps)) }

// Hypervolume returns the area of the (MACs, top-1) region dominated by ps and bounded by
// ref: the union of the boxes [p.MACs, ref.MACs] × [ref.Top1, p.Top1], in MACs ×
// percentage points. Points not cheaper and more accurate than ref add nothing.
func Hypervolume(ps []Point, ref Point) float64 {
	return pareto.Hypervolume(minimisedAll(ps), minimised(ref))
}
