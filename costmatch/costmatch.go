// Package costmatch scales a spec to a target cost before anything trains: it chooses
// the value of one integer width knob (channels, growth, head.channels or any integer
// spec field) that brings the spec's analytic cost nearest a target, so that variants
// can be compared at equal cost rather than at equal settings.
//
// The cost is the reference (execution) semantics of package flops: either the last
// exit's cumulative MACs, or the mean of the per-exit cumulative MACs (the curve). The
// search assumes the cost does not fall as the knob grows, as it holds for every width
// knob: it brackets the target by doubling or halving the knob's current value, then
// bisects, skipping values that do not build, and returns the value of least relative
// gap among those it tried. A target that no value reaches gives the nearest value the
// knob allows, with its gap, and Within says whether the gap is within Tolerance.
package costmatch

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/spec"
)

// Tolerance is the relative gap within which a match counts as equal cost.
const Tolerance = 0.02

// MaxValue is the largest knob value the search tries; no width of the reference
// networks comes near it.
const MaxValue = 1 << 14

// Measure names the cost that is matched.
type Measure string

// The measures of Measure.Of.
const (
	// LastExit is the cumulative MACs of reaching the last exit.
	LastExit Measure = "last-exit"
	// Curve is the mean over exits of the cumulative MACs of reaching each exit.
	Curve Measure = "curve"
)

// ParseMeasure parses a measure name; "last" is short for "last-exit".
func ParseMeasure(s string) (Measure, error) {
	switch s {
	case "last-exit", "last":
		return LastExit, nil
	case "curve":
		return Curve, nil
	}
	return "", fmt.Errorf("%q is not a cost measure: want last-exit or curve", s)
}

// Of returns the measure of per-exit costs (MACs, reference semantics).
func (m Measure) Of(exits []flops.ExitCost) float64 {
	if len(exits) == 0 {
		panic("costmatch: no exits")
	}
	switch m {
	case LastExit:
		return float64(exits[len(exits)-1].MACs)
	case Curve:
		sum := 0.0
		for _, e := range exits {
			sum += float64(e.MACs)
		}
		return sum / float64(len(exits))
	}
	panic("costmatch: unknown measure " + string(m))
}

// Resolver resolves a spec with extra overrides applied after its own.
type Resolver func(extra []string) (*spec.Spec, error)

// Result is a matched knob value.
type Result struct {
	// Knob is the spec field path that was scaled; From is its value before and Value
	// the value chosen.
	Knob  string `json:"knob" toml:"knob"`
	From  int    `json:"from" toml:"from"`
	Value int    `json:"value" toml:"value"`
	// Target and Cost are the measure aimed at and the one reached; Gap is
	// (Cost − Target) / Target.
	Target float64 `json:"target" toml:"target"`
	Cost   float64 `json:"cost" toml:"cost"`
	Gap    float64 `json:"gap" toml:"gap"`
	// Exits are the per-exit costs at Value.
	Exits []flops.ExitCost `json:"-" toml:"-"`
}

// Set returns the override that applies the match: "knob=value".
func (r *Result) Set() string { return r.Knob + "=" + strconv.Itoa(r.Value) }

// Within reports whether the gap is within Tolerance.
func (r *Result) Within() bool { return math.Abs(r.Gap) <= Tolerance }

// Cost returns the per-exit costs of the spec that resolve gives for extra.
func Cost(resolve Resolver, extra []string) ([]flops.ExitCost, error) {
	s, err := resolve(extra)
	if err != nil {
		return nil, err
	}
	g, err := builder.Build(s)
	if err != nil {
		return nil, err
	}
	return flops.Exits(g), nil
}

// Match chooses the value of knob that brings the measure of the spec that resolve
// gives nearest target. It fails when the spec does not build as it is, when knob is
// not an integer field of it, or when target is not positive.
func Match(resolve Resolver, knob string, target float64, m Measure) (*Result, error) {
	if !(target > 0) {
		return nil, fmt.Errorf("cost target %g: want a positive number of MACs", target)
	}
	if _, err := ParseMeasure(string(m)); err != nil {
		return nil, err
	}
	s, err := resolve(nil)
	if err != nil {
		return nil, err
	}
	from, err := intField(s, knob)
	if err != nil {
		return nil, err
	}
	if from < 1 {
		return nil, fmt.Errorf("%s = %d: a width knob must be 1 or more", knob, from)
	}
	costAt := func(v int) ([]flops.ExitCost, error) {
		return Cost(resolve, []string{knob + "=" + strconv.Itoa(v)})
	}
	return match(costAt, knob, from, target, m)
}

// match searches the knob's values from its current value from, with costAt giving
// the per-exit costs at a value.
func match(costAt func(int) ([]flops.ExitCost, error), knob string, from int, target float64, m Measure) (*Result, error) {
	sr := searcher{costAt: costAt, knob: knob, target: target, measure: m, tried: map[int]*Result{}}
	if sr.at(from) == nil {
		return nil, fmt.Errorf("%s = %d: %v", knob, from, sr.firstErr)
	}
	sr.search(from)
	best := *sr.best
	best.From = from
	return &best, nil
}

// searcher memoises the costs of the values tried and keeps the best.
type searcher struct {
	costAt   func(int) ([]flops.ExitCost, error)
	knob     string
	target   float64
	measure  Measure
	tried    map[int]*Result // nil: the value does not build
	best     *Result
	firstErr error
}

// at returns the result at value v, or nil when the spec does not build there.
func (sr *searcher) at(v int) *Result {
	if r, ok := sr.tried[v]; ok {
		return r
	}
	exits, err := sr.costAt(v)
	if err != nil {
		if sr.firstErr == nil {
			sr.firstErr = err
		}
		sr.tried[v] = nil
		return nil
	}
	c := sr.measure.Of(exits)
	r := &Result{Knob: sr.knob, Value: v, Target: sr.target, Cost: c, Gap: (c - sr.target) / sr.target, Exits: exits}
	sr.tried[v] = r
	if sr.best == nil || math.Abs(r.Gap) < math.Abs(sr.best.Gap) ||
		math.Abs(r.Gap) == math.Abs(sr.best.Gap) && v < sr.best.Value {
		sr.best = r
	}
	return r
}

// search brackets the target between a value below it and one at or above it, then
// bisects the bracket.
func (sr *searcher) search(from int) {
	lo, hi := from, from // lo: cost below target; hi: cost at or above target
	if sr.at(from).Cost < sr.target {
		for hi = from * 2; ; hi *= 2 {
			if hi > MaxValue {
				return // the target is out of reach: best is the largest value tried
			}
			if r := sr.at(hi); r != nil {
				if r.Cost >= sr.target {
					break
				}
				lo = hi
			}
		}
	} else {
		for lo = from / 2; ; lo /= 2 {
			if lo < 1 {
				return // even a knob of 1 costs too much: best is the smallest tried
			}
			if r := sr.at(lo); r != nil {
				if r.Cost < sr.target {
					break
				}
				hi = lo
			}
			if lo == 1 {
				return
			}
		}
	}
	for hi-lo > 1 {
		mid := sr.buildable(lo, hi)
		if mid == 0 {
			return // no value between lo and hi builds
		}
		if sr.tried[mid].Cost < sr.target {
			lo = mid
		} else {
			hi = mid
		}
	}
}

// buildable returns the value strictly between lo and hi nearest their midpoint at
// which the spec builds, or 0 when none does.
func (sr *searcher) buildable(lo, hi int) int {
	mid := lo + (hi-lo)/2
	for d := 0; mid-d > lo || mid+d < hi; d++ {
		for _, v := range []int{mid - d, mid + d} {
			if v > lo && v < hi && sr.at(v) != nil {
				return v
			}
		}
	}
	return 0
}

// intField returns the integer value of the spec field at path, read from the spec's
// canonical form so that every field, nested or not, is found the same way.
func intField(s *spec.Spec, path string) (int, error) {
	var doc map[string]any
	if _, err := toml.Decode(string(s.Canonical()), &doc); err != nil {
		panic(fmt.Sprintf("costmatch: canonical spec does not decode: %v", err))
	}
	var v any = doc
	for _, key := range strings.Split(path, ".") {
		table, ok := v.(map[string]any)
		if !ok {
			return 0, fmt.Errorf("%q is not a spec field", path)
		}
		if v, ok = table[key]; !ok {
			return 0, fmt.Errorf("%q is not a field of spec %s", path, s.Name)
		}
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("%s is %v, not an integer: a cost can only be matched by an integer field", path, v)
	}
	return int(n), nil
}
