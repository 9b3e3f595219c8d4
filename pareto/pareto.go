// Package pareto holds the n-objective tools of msdx: Pareto dominance (plain and, for
// constrained problems, Deb's constraint-domination), fast non-dominated sorting, crowding
// distance and the hypervolume indicator. NSGA-II (search/nsga2) and "msdx search", whose
// objectives are any two or more chosen on the command line, use it directly; package
// curve builds the two-objective (cost, accuracy) case on it.
//
// Every objective is minimised; callers negate the objectives they maximise.
package pareto

import (
	"math"
	"sort"
)

// Dominates reports whether a Pareto-dominates b: a is no worse in every objective and
// strictly better in at least one. It panics when the lengths differ.
func Dominates(a, b []float64) bool {
	if len(a) != len(b) {
		panic("pareto: points of different dimension")
	}
	better := false
	for i := range a {
		if a[i] > b[i] {
			return false
		}
		if a[i] < b[i] {
			better = true
		}
	}
	return better
}

// ConstrainedDominates is Deb's (2002) constraint-domination: a feasible point (violation
// 0) dominates an infeasible one, of two infeasible points the one with the smaller total
// violation dominates, and two feasible points compare by Pareto dominance.
func ConstrainedDominates(a, b []float64, violA, violB float64) bool {
	switch {
	case violA <= 0 && violB > 0:
		return true
	case violA > 0 && violB > 0:
		return violA < violB
	case violA > 0:
		return false
	}
	return Dominates(a, b)
}

// Sort is the fast non-dominated sort of Deb et al. (2002): it returns the fronts of
// points, best first, each a list of indices in increasing order. violation, when not nil,
// holds each point's total constraint violation (0 for feasible points) and switches to
// constraint-domination.
func Sort(points [][]float64, violation []float64) [][]int {
	n := len(points)
	if violation != nil && len(violation) != n {
		panic("pareto: violation and points differ in length")
	}
	dom := func(i, j int) bool {
		if violation == nil {
			return Dominates(points[i], points[j])
		}
		return ConstrainedDominates(points[i], points[j], violation[i], violation[j])
	}
	dominated := make([][]int, n) // dominated[i]: the points i dominates
	count := make([]int, n)       // count[i]: how many points dominate i
	var front []int
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			switch {
			case dom(i, j):
				dominated[i] = append(dominated[i], j)
				count[j]++
			case dom(j, i):
				dominated[j] = append(dominated[j], i)
				count[i]++
			}
		}
	}
	for i := 0; i < n; i++ {
		if count[i] == 0 {
			front = append(front, i)
		}
	}
	var fronts [][]int
	for len(front) > 0 {
		fronts = append(fronts, front)
		var next []int
		for _, i := range front {
			for _, j := range dominated[i] {
				count[j]--
				if count[j] == 0 {
					next = append(next, j)
				}
			}
		}
		sort.Ints(next)
		front = next
	}
	return fronts
}

// Front returns the indices of the non-dominated points, in increasing order. Of points
// with equal objectives all are kept.
func Front(points [][]float64) []int {
	var out []int
	for i, p := range points {
		dominated := false
		for j, q := range points {
			if j != i && Dominates(q, p) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, i)
		}
	}
	return out
}

// Crowding returns the crowding distance of each point of front (indices into points), in
// the order of front: the sum over objectives of the normalised gap between a point's
// neighbours. The extreme points of every objective get +Inf.
func Crowding(points [][]float64, front []int) []float64 {
	d := make([]float64, len(front))
	if len(front) == 0 {
		return d
	}
	m := len(points[front[0]])
	order := make([]int, len(front))
	for k := 0; k < m; k++ {
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return points[front[order[a]]][k] < points[front[order[b]]][k] })
		lo, hi := points[front[order[0]]][k], points[front[order[len(order)-1]]][k]
		d[order[0]], d[order[len(order)-1]] = math.Inf(1), math.Inf(1)
		if hi == lo {
			continue
		}
		for i := 1; i < len(order)-1; i++ {
			d[order[i]] += (points[front[order[i+1]]][k] - points[front[order[i-1]]][k]) / (hi - lo)
		}
	}
	return d
}

// Hypervolume returns the volume of the region dominated by points and bounded above by
// the reference point ref (all objectives minimised). Points that are not strictly better
// than ref in every objective add nothing. Two objectives are computed exactly by a sweep
// in O(n log n); more by slicing along the last objective (the HSO scheme), exact but
// exponential in the number of objectives, meant for fronts of at most a few hundred
// points in three or four objectives. It panics when a point's dimension differs from
// ref's.
func Hypervolume(points [][]float64, ref []float64) float64 {
	var in [][]float64
	for _, p := range points {
		if len(p) != len(ref) {
			panic("pareto: point and reference of different dimension")
		}
		inside := true
		for k := range p {
			if !(p[k] < ref[k]) {
				inside = false
				break
			}
		}
		if inside {
			in = append(in, p)
		}
	}
	return hv(in, ref)
}

func hv(points [][]float64, ref []float64) float64 {
	if len(points) == 0 {
		return 0
	}
	d := len(ref)
	switch d {
	case 1:
		best := ref[0]
		for _, p := range points {
			best = math.Min(best, p[0])
		}
		return ref[0] - best
	case 2:
		ps := append([][]float64(nil), points...)
		sort.Slice(ps, func(i, j int) bool {
			if ps[i][0] != ps[j][0] {
				return ps[i][0] < ps[j][0]
			}
			return ps[i][1] < ps[j][1]
		})
		vol, y := 0.0, ref[1]
		for _, p := range ps {
			if p[1] < y {
				vol += (ref[0] - p[0]) * (y - p[1])
				y = p[1]
			}
		}
		return vol
	}
	// Slice along the last objective: between consecutive values of it, the dominated
	// region's cross-section is the (d-1)-dimensional volume of the points below.
	ps := append([][]float64(nil), points...)
	sort.Slice(ps, func(i, j int) bool { return ps[i][d-1] < ps[j][d-1] })
	vol := 0.0
	for i := range ps {
		next := ref[d-1]
		if i+1 < len(ps) {
			next = ps[i+1][d-1]
		}
		if next <= ps[i][d-1] {
			continue
		}
		proj := make([][]float64, 0, i+1)
		for _, p := range ps[:i+1] {
			proj = append(proj, p[:d-1])
		}
		vol += hv(nondominated(proj), ref[:d-1]) * (next - ps[i][d-1])
	}
	return vol
}

// nondominated keeps the points no other point dominates (duplicates once).
func nondominated(points [][]float64) [][]float64 {
	var out [][]float64
	for i, p := range points {
		keep := true
		for j, q := range points {
			if j != i && (Dominates(q, p) || (j < i && equal(p, q))) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
