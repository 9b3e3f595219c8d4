package search

import (
	"fmt"
	"math"
	"strings"

	"github.com/msdx/msdx/curve"
)

// LastTop1 is the accuracy of the last exit; NaN for no exits.
func LastTop1(exits []curve.Point) float64 {
	if len(exits) == 0 {
		return math.NaN()
	}
	return exits[len(exits)-1].Top1
}

// MeanTop1 is the mean accuracy over the exits (anytime prediction with each exit equally
// likely); NaN for no exits.
func MeanTop1(exits []curve.Point) float64 {
	if len(exits) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, e := range exits {
		s += e.Top1
	}
	return s / float64(len(exits))
}

// LastMACs is the cumulative MACs of the last exit; NaN for no exits.
func LastMACs(exits []curve.Point) float64 {
	if len(exits) == 0 {
		return math.NaN()
	}
	return exits[len(exits)-1].MACs
}

// MeanMACs is the mean of the exits' cumulative MACs; NaN for no exits.
func MeanMACs(exits []curve.Point) float64 {
	if len(exits) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, e := range exits {
		s += e.MACs
	}
	return s / float64(len(exits))
}

// Measures are what objectives are computed from: a candidate's per-exit points (accuracy
// zero before training), its parameter count and, when known, its budgeted curve.
type Measures struct {
	Exits  []curve.Point
	Params int64
	Budget []curve.Point
}

// Objective is one thing a search optimises.
type Objective struct {
	// Name is the objective's name on the command line.
	Name string
	// Maximize is true for accuracies.
	Maximize bool
	// CostOnly is true for objectives known before training.
	CostOnly bool
	// Doc says what it is.
	Doc string
	// Value computes it.
	Value func(m Measures) float64
}

// Minimised returns the objective as minimised: negated when maximised.
func (o Objective) Minimised(m Measures) float64 {
	if o.Maximize {
		return -o.Value(m)
	}
	return o.Value(m)
}

// Objectives are the known objectives.
var Objectives = []Objective{
	{Name: "last_top1", Maximize: true, Doc: "top-1 accuracy of the last exit (%)", Value: func(m Measures) float64 { return LastTop1(m.Exits) }},
	{Name: "mean_top1", Maximize: true, Doc: "mean top-1 accuracy over the exits (%)", Value: func(m Measures) float64 { return MeanTop1(m.Exits) }},
	{Name: "anytime_auc", Maximize: true, Doc: "normalised area under top-1 vs cumulative MACs of the exits (%)", Value: func(m Measures) float64 { return curve.Area(m.Exits) }},
	{Name: "budget_auc", Maximize: true, Doc: "normalised area under the budgeted curve (%)", Value: func(m Measures) float64 { return curve.Area(m.Budget) }},
	{Name: "last_macs", CostOnly: true, Doc: "MACs of the last exit", Value: func(m Measures) float64 { return LastMACs(m.Exits) }},
	{Name: "mean_macs", CostOnly: true, Doc: "mean cumulative MACs over the exits", Value: func(m Measures) float64 { return MeanMACs(m.Exits) }},
	{Name: "first_macs", CostOnly: true, Doc: "MACs of the first exit", Value: func(m Measures) float64 {
		if len(m.Exits) == 0 {
			return math.NaN()
		}
		return m.Exits[0].MACs
	}},
	{Name: "params", CostOnly: true, Doc: "parameters of the whole network", Value: func(m Measures) float64 { return float64(m.Params) }},
	{Name: "exits", Maximize: true, CostOnly: true, Doc: "number of exits", Value: func(m Measures) float64 { return float64(len(m.Exits)) }},
}

// ObjectiveNames lists the known objectives' names.
func ObjectiveNames() []string {
	names := make([]string, len(Objectives))
	for i, o := range Objectives {
		names[i] = o.Name
	}
	return names
}

// ParseObjectives reads a comma-separated list of objective names ("last_top1,last_macs").
// A name may be prefixed with "min:" or "max:" to choose its direction.
func ParseObjectives(text string) ([]Objective, error) {
	var out []Objective
	seen := map[string]bool{}
	for _, f := range strings.Split(text, ",") {
		name := strings.TrimSpace(f)
		dir := ""
		if d, n, ok := strings.Cut(name, ":"); ok {
			dir, name = d, n
		}
		var found *Objective
		for i := range Objectives {
			if Objectives[i].Name == name {
				o := Objectives[i]
				found = &o
			}
		}
		if found == nil {
			return nil, fmt.Errorf("unknown objective %q (known: %s)", name, strings.Join(ObjectiveNames(), ", "))
		}
		switch dir {
		case "":
		case "min":
			found.Maximize = false
		case "max":
			found.Maximize = true
		default:
			return nil, fmt.Errorf("objective %q: direction %q is not min or max", f, dir)
		}
		if seen[name] {
			return nil, fmt.Errorf("objective %q given twice", name)
		}
		seen[name] = true
		out = append(out, *found)
	}
	if len(out) < 1 {
		return nil, fmt.Errorf("no objectives")
	}
	return out, nil
}

// Measures returns the cost's measures before training: exits at accuracy zero.
func (c *Cost) Measures() Measures {
	m := Measures{}
	for _, e := range c.Exits {
		m.Exits = append(m.Exits, curve.Point{MACs: float64(e.MACs)})
	}
	if len(c.Exits) > 0 {
		m.Params = c.Exits[len(c.Exits)-1].Params
	}
	return m
}
