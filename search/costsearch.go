package search

import (
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"github.com/msdx/msdx/pareto"
)

// CostSearch searches a space by cost alone, before any training ("msdx search
// --no-train"): it samples candidates, costs them (Evaluator), keeps the feasible ones
// within an optional cost range, and returns their front over cost-only objectives.
type CostSearch struct {
	Space *Space
	// Sampler is "grid" (the grid up to Limit candidates), "random" (Trials candidates
	// drawn with Seed), "nsga2" (NSGA-II on the Objectives, Trials evaluations in
	// generations of 100) or "auto": grid when the grid has at most Limit candidates,
	// else random.
	Sampler string
	Limit   int
	Trials  int
	Seed    uint64
	// Objectives are the front's; all must be CostOnly.
	Objectives []Objective
	// TargetLo and TargetHi, when TargetHi > 0, keep the candidates whose first exit
	// costs TargetLo and whose last exit costs TargetHi MACs, each within the relative
	// Tolerance.
	TargetLo, TargetHi, Tolerance float64
	// All keeps every candidate left instead of the front.
	All bool
}

// CostReport is the result of a CostSearch: the JSON document of "msdx search --no-train
// --json".
type CostReport struct {
	Space   string `json:"space"`
	Base    string `json:"base"`
	Sampler string `json:"sampler"`
	// Params are the varied field paths, the order of every candidate's values.
	Params []string `json:"params"`
	// MatchedBy is the field the space's [match] scales to place candidates on a cost
	// (empty without [match]); each candidate's Placed is its value.
	MatchedBy string `json:"matched_by,omitempty"`
	// Objectives are the front's objectives, as "min:NAME" or "max:NAME".
	Objectives []string `json:"objectives"`
	// Evaluated counts the distinct candidates costed; Feasible those that build and
	// meet the constraints; Unbuildable those that do not resolve or build.
	Evaluated   int `json:"evaluated"`
	Feasible    int `json:"feasible"`
	Unbuildable int `json:"unbuildable"`
	// InRange counts the feasible candidates within the target range (all feasible ones
	// without it).
	InRange int `json:"in_range"`
	// Seconds is the wall time of the costing.
	Seconds float64 `json:"seconds"`
	// Candidates is the front (or, with All, every candidate in range), ordered by the
	// first objective.
	Candidates []CostCandidate `json:"candidates"`
}

// CostCandidate is one candidate of a CostReport.
type CostCandidate struct {
	Values []string `json:"values"`
	// Placed is the value of the report's MatchedBy field (0 without [match]).
	Placed int        `json:"placed,omitempty"`
	Sets   []string   `json:"sets"`
	Hash   string     `json:"hash"`
	Exits  []ExitCost `json:"exits"`
	// Objectives are the candidate's objective values, in the report's order and
	// direction.
	Objectives []float64 `json:"objectives"`
}

// Direction returns "max:" for a maximised objective and "min:" otherwise.
func (o Objective) Direction() string {
	if o.Maximize {
		return "max:"
	}
	return "min:"
}

// Run samples, costs and ranks the candidates.
func (s *CostSearch) Run() (*CostReport, error) {
	for _, o := range s.Objectives {
		if !o.CostOnly {
			return nil, fmt.Errorf("objective %s needs training", o.Name)
		}
	}
	sp, objs := s.Space, s.Objectives
	// Costing allocates many short-lived graphs; collecting less often saves a quarter of
	// the CPU time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	ev := &Evaluator{Space: sp}
	sampler := s.Sampler
	if sampler == "auto" {
		sampler = "grid"
		if sp.GridSize(s.Limit) > s.Limit {
			sampler = "random"
		}
	}
	var cands []Candidate
	switch sampler {
	case "grid":
		cands = sp.Grid(s.Limit)
	case "random":
		cands = sp.Random(s.Trials, s.Seed)
	case "nsga2":
		const pop = 100
		cands = sp.NSGA2(ev, objs, pop, max(1, (s.Trials+pop-1)/pop), s.Seed)
	default:
		return nil, fmt.Errorf("sampler %q: want auto, grid, random or nsga2", s.Sampler)
	}
	costs := ev.EvaluateAll(cands)
	rep := &CostReport{Space: sp.File, Base: sp.Base, Sampler: sampler, Evaluated: ev.Evaluated()}
	for _, p := range sp.Params {
		rep.Params = append(rep.Params, p.Path)
	}
	if sp.Match != nil {
		rep.MatchedBy = sp.Match.By
	}
	for _, o := range objs {
		rep.Objectives = append(rep.Objectives, o.Direction()+o.Name)
	}
	// Distinct candidates only: samplers may repeat them.
	seen := map[string]bool{}
	var kept []int
	for i, c := range costs {
		k := cands[i].Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		if c.Error != "" {
			rep.Unbuildable++
		}
		if !c.Feasible() {
			continue
		}
		rep.Feasible++
		if s.TargetHi > 0 {
			first, last := float64(c.Exits[0].MACs), c.LastMACs()
			lo, hi, t := s.TargetLo, s.TargetHi, s.Tolerance
			if first < lo*(1-t) || first > lo*(1+t) || last < hi*(1-t) || last > hi*(1+t) {
				continue
			}
		}
		kept = append(kept, i)
	}
	rep.InRange = len(kept)
	points := make([][]float64, len(kept))
	for j, i := range kept {
		points[j] = CostObjectives(costs[i], objs)
	}
	chosen := make([]int, len(kept))
	for j := range chosen {
		chosen[j] = j
	}
	if !s.All {
		chosen = pareto.Front(points)
	}
	sort.SliceStable(chosen, func(a, b int) bool { return points[chosen[a]][0] < points[chosen[b]][0] })
	for _, j := range chosen {
		i := kept[j]
		obj := make([]float64, len(objs))
		for k, o := range objs {
			obj[k] = points[j][k]
			if o.Maximize {
				obj[k] = -obj[k]
			}
		}
		cc := CostCandidate{Values: cands[i].Values, Sets: sp.Overrides(cands[i]),
			Hash: costs[i].Hash, Exits: costs[i].Exits, Objectives: obj}
		if placed, _ := sp.Place(cands[i]); placed != nil {
			cc.Placed = placed.Value
		}
		rep.Candidates = append(rep.Candidates, cc)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}
