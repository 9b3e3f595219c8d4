package search

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/costmatch"
	"github.com/msdx/msdx/flops"
)

// Candidate is one point of a space: a value text for every parameter, in parameter order.
type Candidate struct {
	Values []string `json:"values"`
}

// Key identifies a candidate: its values joined by NUL.
func (c Candidate) Key() string { return strings.Join(c.Values, "\x00") }

// Overrides returns the overrides that make c's spec: the space's fixed sets, then
// "path=value" for every parameter, then, when the space has a [match] that places c,
// the matched field's value.
func (s *Space) Overrides(c Candidate) []string {
	out := s.paramOverrides(c)
	if r, err := s.Place(c); r != nil && err == nil {
		out = append(out, r.Set())
	}
	return out
}

// paramOverrides is Overrides without the matched field.
func (s *Space) paramOverrides(c Candidate) []string {
	if len(c.Values) != len(s.Params) {
		panic(fmt.Sprintf("search: candidate of %d values for %d parameters", len(c.Values), len(s.Params)))
	}
	out := append([]string(nil), s.Sets...)
	for i, p := range s.Params {
		out = append(out, p.Path+"="+c.Values[i])
	}
	return out
}

// ExitCost is the analytic cost of reaching one exit, cumulative in execution order
// (flops.ExitCost's reference semantics).
type ExitCost struct {
	Exit   int   `json:"exit"`
	MACs   int64 `json:"macs"`
	Params int64 `json:"params"`
}

// Cost is a candidate's analytic cost and feasibility.
type Cost struct {
	// Hash is the resolved spec's hash (spec.Spec.Hash); empty when it did not resolve.
	Hash string `json:"hash,omitempty"`
	// Exits are the per-exit costs; empty when the candidate could not be built.
	Exits []ExitCost `json:"exits,omitempty"`
	// Error says why the candidate could not be resolved or built.
	Error string `json:"error,omitempty"`
	// Violated lists the constraints the candidate breaks, in words.
	Violated []string `json:"violated,omitempty"`
	// Violation is the total relative constraint violation (0 when every constraint
	// holds); a candidate that cannot be built has BuildViolation.
	Violation float64 `json:"violation"`
}

// BuildViolation is the Violation of a candidate that cannot be built: more than any
// constraint's, so that NSGA-II's constraint-domination ranks it last.
const BuildViolation = 1e9

// Feasible reports whether the candidate builds and meets every constraint.
func (c *Cost) Feasible() bool { return c.Error == "" && c.Violation == 0 }

// Reason says in a line why an infeasible candidate is infeasible; empty when feasible.
func (c *Cost) Reason() string {
	if c.Error != "" {
		return c.Error
	}
	return strings.Join(c.Violated, "; ")
}

// Evaluate resolves and builds a candidate's spec and checks the constraints. It never
// fails: problems make the candidate infeasible.
func (s *Space) Evaluate(c Candidate) *Cost {
	placed, err := s.Place(c)
	if err != nil {
		return &Cost{Error: "placing it on the [match] cost: " + oneLine(err), Violation: BuildViolation}
	}
	sp, err := s.Resolve(c)
	if err != nil {
		return &Cost{Error: oneLine(err), Violation: BuildViolation}
	}
	cost := &Cost{Hash: sp.Hash()}
	g, err := builder.Build(sp)
	if err != nil {
		cost.Error, cost.Violation = oneLine(err), BuildViolation
		return cost
	}
	for _, e := range flops.Exits(g) {
		cost.Exits = append(cost.Exits, ExitCost{Exit: e.Exit, MACs: e.MACs, Params: e.Params})
	}
	for _, con := range s.Constraints {
		con.check(cost)
	}
	if placed != nil && !placed.Within() {
		cost.Violated = append(cost.Violated, fmt.Sprintf("%s is the nearest to %s MACs %.4g, %+.1f %% off (more than %g %%)",
			placed.Set(), s.Match.Measure, s.Match.MACs, 100*placed.Gap, 100*costmatch.Tolerance))
		cost.Violation += math.Abs(placed.Gap)
	}
	return cost
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// check adds c's violations to cost.
func (c Constraint) check(cost *Cost) {
	n := len(cost.Exits)
	k := c.Exit
	switch k {
	case FirstExit:
		k = 1
	case LastExit:
		k = n
	}
	name := fmt.Sprintf("exit %d", k)
	if k > n {
		cost.Violated = append(cost.Violated, fmt.Sprintf("constraint on exit %d: the network has %d exits", k, n))
		cost.Violation += 1
		return
	}
	e := cost.Exits[k-1]
	bound := func(what string, v, lim float64, upper bool) {
		if lim == 0 {
			return
		}
		if upper && v > lim {
			cost.Violated = append(cost.Violated, fmt.Sprintf("%s %s %.4g > %.4g", name, what, v, lim))
			cost.Violation += v/lim - 1
		}
		if !upper && v < lim {
			cost.Violated = append(cost.Violated, fmt.Sprintf("%s %s %.4g < %.4g", name, what, v, lim))
			cost.Violation += 1 - v/lim
		}
	}
	bound("MACs", float64(e.MACs), c.MaxMACs, true)
	bound("MACs", float64(e.MACs), c.MinMACs, false)
	bound("params", float64(e.Params), c.MaxParams, true)
	bound("params", float64(e.Params), c.MinParams, false)
}

// Evaluator evaluates candidates of one space in parallel, each distinct candidate once.
type Evaluator struct {
	Space *Space
	// Workers is the number of candidates built at once; 0 means GOMAXPROCS.
	Workers int

	mu    sync.Mutex
	cache map[string]*Cost
}

// EvaluateAll returns the costs of cands, in order.
func (e *Evaluator) EvaluateAll(cands []Candidate) []*Cost {
	e.mu.Lock()
	if e.cache == nil {
		e.cache = map[string]*Cost{}
	}
	var todo []int
	queued := map[string]bool{}
	for i, c := range cands {
		k := c.Key()
		if _, ok := e.cache[k]; !ok && !queued[k] {
			queued[k] = true
			todo = append(todo, i)
		}
	}
	e.mu.Unlock()
	workers := e.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]*Cost, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(workers, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				results[j] = e.Space.Evaluate(cands[todo[j]])
			}
		}()
	}
	for j := range todo {
		next <- j
	}
	close(next)
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	for j, i := range todo {
		e.cache[cands[i].Key()] = results[j]
	}
	out := make([]*Cost, len(cands))
	for i, c := range cands {
		out[i] = e.cache[c.Key()]
	}
	return out
}

// Evaluated returns how many distinct candidates have been evaluated.
func (e *Evaluator) Evaluated() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.cache)
}

// LastMACs is the MACs of the last exit; +Inf when the candidate was not built.
func (c *Cost) LastMACs() float64 {
	if len(c.Exits) == 0 {
		return math.Inf(1)
	}
	return float64(c.Exits[len(c.Exits)-1].MACs)
}
