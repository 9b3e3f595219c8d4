// Package nsga2 is the NSGA-II multi-objective evolutionary algorithm of Deb, Pratap,
// Agarwal and Meyarivan (2002) over the unit hypercube [0, 1]^n: fast non-dominated
// sorting with constraint-domination, crowding distance, binary tournament selection,
// simulated binary crossover (SBX) and polynomial mutation.
//
// It works as ask-and-tell, so that evaluations can be batched, cached or run elsewhere:
// Ask returns the points to evaluate, Tell takes their objectives and constraint
// violations and performs the (mu + lambda) survival step. Given a seed, every run is
// deterministic. All objectives are minimised.
package nsga2

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/msdx/msdx/pareto"
)

// Config sets up an optimiser. Zero fields take the defaults of Deb et al. (2002).
type Config struct {
	// Vars is the number of decision variables, each in [0, 1].
	Vars int
	// Pop is the population size, even and at least 4.
	Pop int
	// CrossoverProb is the probability that a pair of parents is recombined (default 0.9).
	CrossoverProb float64
	// EtaC is the SBX distribution index (default 15).
	EtaC float64
	// MutationProb is the per-variable mutation probability (default 1/Vars).
	MutationProb float64
	// EtaM is the polynomial mutation distribution index (default 20).
	EtaM float64
	// Seed seeds the random stream.
	Seed uint64
}

// Individual is one evaluated point.
type Individual struct {
	// X is the point in [0, 1]^Vars.
	X []float64
	// F are its objectives, all minimised.
	F []float64
	// Violation is its total constraint violation: 0 when feasible, positive otherwise.
	Violation float64
	// Rank is its front in the current population (0 is the best), set by Tell.
	Rank int
	// Crowding is its crowding distance within its front, set by Tell.
	Crowding float64
}

// Optimizer is one run of NSGA-II.
type Optimizer struct {
	cfg Config
	rng *rand.Rand
	pop []Individual
}

// New returns an optimiser; it panics on an invalid configuration.
func New(cfg Config) *Optimizer {
	if cfg.Vars < 1 || cfg.Pop < 4 || cfg.Pop%2 != 0 {
		panic(fmt.Sprintf("nsga2: need Vars >= 1 and an even Pop >= 4, got %d and %d", cfg.Vars, cfg.Pop))
	}
	if cfg.CrossoverProb == 0 {
		cfg.CrossoverProb = 0.9
	}
	if cfg.EtaC == 0 {
		cfg.EtaC = 15
	}
	if cfg.MutationProb == 0 {
		cfg.MutationProb = 1 / float64(cfg.Vars)
	}
	if cfg.EtaM == 0 {
		cfg.EtaM = 20
	}
	return &Optimizer{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6e736761))}
}

// Ask returns the next points to evaluate: Pop uniform random points at first, then Pop
// offspring of the current population.
func (o *Optimizer) Ask() [][]float64 {
	n := o.cfg.Pop
	out := make([][]float64, 0, n)
	if len(o.pop) == 0 {
		for i := 0; i < n; i++ {
			x := make([]float64, o.cfg.Vars)
			for j := range x {
				x[j] = o.rng.Float64()
			}
			out = append(out, x)
		}
		return out
	}
	for len(out) < n {
		p1, p2 := o.tournament(), o.tournament()
		c1, c2 := append([]float64(nil), p1.X...), append([]float64(nil), p2.X...)
		if o.rng.Float64() < o.cfg.CrossoverProb {
			o.sbx(c1, c2)
		}
		o.mutate(c1)
		o.mutate(c2)
		out = append(out, c1, c2)
	}
	return out
}

// Tell takes the evaluated points (normally those Ask returned, in any order) and keeps
// the best Pop of them and the current population by rank and crowding distance. It
// panics when an individual's X has the wrong length or the objectives differ in number.
func (o *Optimizer) Tell(evaluated []Individual) {
	all := append(append([]Individual(nil), o.pop...), evaluated...)
	for _, ind := range all {
		if len(ind.X) != o.cfg.Vars || len(ind.F) != len(all[0].F) {
			panic("nsga2: individual of the wrong shape")
		}
	}
	points := make([][]float64, len(all))
	viol := make([]float64, len(all))
	for i, ind := range all {
		points[i], viol[i] = ind.F, math.Max(ind.Violation, 0)
	}
	var next []Individual
	for rank, front := range pareto.Sort(points, viol) {
		crowd := pareto.Crowding(points, front)
		members := make([]Individual, len(front))
		for k, i := range front {
			members[k] = all[i]
			members[k].Rank, members[k].Crowding = rank, crowd[k]
		}
		if len(next)+len(members) > o.cfg.Pop {
			sort.SliceStable(members, func(a, b int) bool { return members[a].Crowding > members[b].Crowding })
			members = members[:o.cfg.Pop-len(next)]
		}
		next = append(next, members...)
		if len(next) == o.cfg.Pop {
			break
		}
	}
	o.pop = next
}

// Population returns the current population, best fronts first.
func (o *Optimizer) Population() []Individual { return o.pop }

// Minimize runs NSGA-II for the given number of generations (the first one being the
// random initial population) on f, which returns a point's objectives and its constraint
// violation, and returns the final population.
func Minimize(cfg Config, generations int, f func(x []float64) (objectives []float64, violation float64)) []Individual {
	o := New(cfg)
	for g := 0; g < generations; g++ {
		xs := o.Ask()
		inds := make([]Individual, len(xs))
		for i, x := range xs {
			obj, v := f(x)
			inds[i] = Individual{X: x, F: obj, Violation: v}
		}
		o.Tell(inds)
	}
	return o.Population()
}

// tournament picks the better of two random members: lower rank, then larger crowding
// distance, then a coin toss.
func (o *Optimizer) tournament() Individual {
	a, b := o.pop[o.rng.IntN(len(o.pop))], o.pop[o.rng.IntN(len(o.pop))]
	switch {
	case a.Rank < b.Rank:
		return a
	case b.Rank < a.Rank:
		return b
	case a.Crowding > b.Crowding:
		return a
	case b.Crowding > a.Crowding:
		return b
	}
	if o.rng.IntN(2) == 0 {
		return a
	}
	return b
}

// sbx is bounded simulated binary crossover on [0, 1], as in Deb's NSGA-II code.
func (o *Optimizer) sbx(c1, c2 []float64) {
	eta := o.cfg.EtaC
	for i := range c1 {
		if o.rng.Float64() > 0.5 || math.Abs(c1[i]-c2[i]) <= 1e-14 {
			continue
		}
		y1, y2 := math.Min(c1[i], c2[i]), math.Max(c1[i], c2[i])
		u := o.rng.Float64()
		betaq := func(beta float64) float64 {
			alpha := 2 - math.Pow(beta, -(eta+1))
			if u <= 1/alpha {
				return math.Pow(u*alpha, 1/(eta+1))
			}
			return math.Pow(1/(2-u*alpha), 1/(eta+1))
		}
		b1 := betaq(1 + 2*y1/(y2-y1))
		b2 := betaq(1 + 2*(1-y2)/(y2-y1))
		x1 := clamp(0.5 * ((y1 + y2) - b1*(y2-y1)))
		x2 := clamp(0.5 * ((y1 + y2) + b2*(y2-y1)))
		if o.rng.IntN(2) == 0 {
			x1, x2 = x2, x1
		}
		c1[i], c2[i] = x1, x2
	}
}

// mutate is bounded polynomial mutation on [0, 1].
func (o *Optimizer) mutate(x []float64) {
	eta := o.cfg.EtaM
	pow := 1 / (eta + 1)
	for i, y := range x {
		if o.rng.Float64() >= o.cfg.MutationProb {
			continue
		}
		u := o.rng.Float64()
		var dq float64
		if u < 0.5 {
			v := 2*u + (1-2*u)*math.Pow(1-y, eta+1)
			dq = math.Pow(v, pow) - 1
		} else {
			v := 2*(1-u) + 2*(u-0.5)*math.Pow(y, eta+1)
			dq = 1 - math.Pow(v, pow)
		}
		x[i] = clamp(y + dq)
	}
}

func clamp(x float64) float64 { return math.Min(math.Max(x, 0), 1) }
