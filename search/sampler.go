package search

import (
	"math/rand/v2"

	"github.com/msdx/msdx/search/nsga2"
)

// GridSize returns the number of points of the grid over the space (floats at their
// levels), saturating at limit+1 so that huge spaces do not overflow.
func (s *Space) GridSize(limit int) int {
	n := 1
	for _, p := range s.Params {
		n *= p.levels()
		if n > limit {
			return limit + 1
		}
	}
	return n
}

// Grid enumerates the grid over the space in odometer order, the last parameter varying
// fastest, up to limit candidates.
func (s *Space) Grid(limit int) []Candidate {
	var out []Candidate
	idx := make([]int, len(s.Params))
	for len(out) < limit {
		c := Candidate{Values: make([]string, len(s.Params))}
		for i, p := range s.Params {
			c.Values[i] = p.level(idx[i])
		}
		out = append(out, c)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < s.Params[i].levels() {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	return out
}

// Decode maps a point of the unit cube, one coordinate per parameter, to a candidate (see
// Param.Decode). It panics when the dimensions differ.
func (s *Space) Decode(u []float64) Candidate {
	if len(u) != len(s.Params) {
		panic("search: point of the wrong dimension")
	}
	c := Candidate{Values: make([]string, len(u))}
	for i, p := range s.Params {
		c.Values[i] = p.Decode(u[i])
	}
	return c
}

// Random returns n candidates drawn uniformly (reals log-uniformly where Log), the same
// for the same seed. Candidates may repeat in small spaces.
func (s *Space) Random(n int, seed uint64) []Candidate {
	r := rand.New(rand.NewPCG(seed, 0x72616e64))
	out := make([]Candidate, n)
	for i := range out {
		u := make([]float64, len(s.Params))
		for j := range u {
			u[j] = r.Float64()
		}
		out[i] = s.Decode(u)
	}
	return out
}

// CostObjectives returns a cost's objectives, minimised. A candidate that was not built
// gets zeros: constraint-domination ranks it by its violation alone.
func CostObjectives(c *Cost, objs []Objective) []float64 {
	f := make([]float64, len(objs))
	if len(c.Exits) == 0 {
		return f
	}
	m := c.Measures()
	for i, o := range objs {
		f[i] = o.Minimised(m)
	}
	return f
}

// NSGA2 searches the space with NSGA-II on cost-only objectives (see package nsga2): a
// population of pop over generations generations, the same for the same seed. Costs are
// computed by ev, so repeated candidates cost nothing. It returns every distinct
// candidate evaluated, in the order first seen. It panics when an objective needs
// training.
func (s *Space) NSGA2(ev *Evaluator, objs []Objective, pop, generations int, seed uint64) []Candidate {
	for _, o := range objs {
		if !o.CostOnly {
			panic("search: NSGA2 on objective " + o.Name + ", which needs training")
		}
	}
	opt := nsga2.New(nsga2.Config{Vars: len(s.Params), Pop: pop + pop%2, Seed: seed})
	var seen []Candidate
	known := map[string]bool{}
	for g := 0; g < generations; g++ {
		xs := opt.Ask()
		cands := make([]Candidate, len(xs))
		for i, x := range xs {
			cands[i] = s.Decode(x)
			if k := cands[i].Key(); !known[k] {
				known[k] = true
				seen = append(seen, cands[i])
			}
		}
		costs := ev.EvaluateAll(cands)
		inds := make([]nsga2.Individual, len(xs))
		for i, x := range xs {
			inds[i] = nsga2.Individual{X: x, F: CostObjectives(costs[i], objs), Violation: costs[i].Violation}
		}
		opt.Tell(inds)
	}
	return seen
}
