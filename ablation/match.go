package ablation

import (
	"fmt"

	"github.com/msdx/msdx/costmatch"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/study"
)

// MatchCells scales every cell of the grid over axes to the cost of the baseline cell
// (every axis at its first level) by choosing, per cell, the value of the integer spec
// field knob (see package costmatch). Cells resolve as a study's trials do: base in
// canonical form, then the cell's overrides, then the knob. The baseline cell keeps
// its knob value. A cell that cannot reach the target within costmatch.Tolerance gets
// the nearest value the knob allows, with Within false.
func MatchCells(base *spec.Spec, axes []study.Axis, knob string, m costmatch.Measure) (*study.Match, error) {
	canonical := base.Canonical()
	resolver := func(sets []string) costmatch.Resolver {
		return func(extra []string) (*spec.Spec, error) {
			return spec.Parse(base.Name, canonical, append(append([]string(nil), sets...), extra...))
		}
	}
	cells := Grid(axes)
	baseline, err := costmatch.Cost(resolver(cells[0].Sets), nil)
	if err != nil {
		return nil, fmt.Errorf("baseline cell %s: %w", cells[0].Name(), err)
	}
	match := &study.Match{Knob: knob, Measure: string(m), Target: m.Of(baseline), Tolerance: costmatch.Tolerance}
	for _, c := range cells {
		r, err := costmatch.Match(resolver(c.Sets), knob, match.Target, m)
		if err != nil {
			return nil, fmt.Errorf("cell %s: %w", c.Name(), err)
		}
		match.Cells = append(match.Cells, study.CellMatch{Cell: c.Name(), From: r.From, Value: r.Value,
			Cost: r.Cost, Gap: r.Gap, Within: r.Within()})
	}
	return match, nil
}
