package ablation

import (
	"fmt"
	"strings"

	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/study"
)

// Named axes and their levels, baseline first. The paper's two contributions: fusion
// "dense" (the down unit reads the finer scale's updated output) against MSDNet's, and
// the efficient stem of the author's code ("addad-code") against MSDNet's.
var namedAxes = map[string]func(base *spec.Spec) []study.Level{
	"fusion": func(*spec.Spec) []study.Level {
		return []study.Level{
			{Label: "msdnet", Sets: []string{"fusion.rule=msdnet"}},
			{Label: "dense", Sets: []string{"fusion.rule=dense"}},
		}
	},
	"stem": func(base *spec.Spec) []study.Level {
		if base.Stem.Kind == "msdnet-imagenet" || base.Stem.Stride == 2 {
			return []study.Level{
				{Label: "msdnet", Sets: []string{"stem.kind=msdnet-imagenet", "stem.stride=0"}},
				{Label: "paper", Sets: []string{"stem.kind=addad-code", "stem.stride=2"}},
			}
		}
		return []study.Level{
			{Label: "msdnet", Sets: []string{"stem.kind=msdnet-cifar", "stem.stride=0"}},
			{Label: "paper", Sets: []string{"stem.kind=addad-code", "stem.stride=1"}},
		}
	},
}

// AxisNames lists the named axes of ParseAxes.
func AxisNames() []string { return []string{"fusion", "stem"} }

// ParseAxes parses --vary values: a comma-separated list of named axes ("fusion,stem"),
// or one spec field with its values ("growth=6,12" or "scales.gr_factor=[1,2,4],[1,2,2]"
// — a value in brackets is one value). Each named axis applies to base.
func ParseAxes(vary []string, base *spec.Spec) ([]study.Axis, error) {
	var axes []study.Axis
	seen := map[string]bool{}
	add := func(a study.Axis) error {
		if seen[a.Name] {
			return fmt.Errorf("--vary: axis %q is given twice", a.Name)
		}
		seen[a.Name] = true
		axes = append(axes, a)
		return nil
	}
	for _, v := range vary {
		path, values, isField := strings.Cut(v, "=")
		if !isField {
			for _, name := range strings.Split(v, ",") {
				name = strings.TrimSpace(name)
				levels, ok := namedAxes[name]
				if !ok {
					return nil, fmt.Errorf("--vary %q: unknown axis %q: want one of %s, or a spec field as path=v1,v2", v, name, strings.Join(AxisNames(), ", "))
				}
				if err := add(study.Axis{Name: name, Levels: levels(base)}); err != nil {
					return nil, err
				}
			}
			continue
		}
		path = strings.TrimSpace(path)
		if path == "" {
			return nil, fmt.Errorf("--vary %q: no field path before '='", v)
		}
		vals := splitValues(values)
		if len(vals) < 2 {
			return nil, fmt.Errorf("--vary %q: an axis needs at least two values", v)
		}
		a := study.Axis{Name: path}
		labels := map[string]bool{}
		for _, val := range vals {
			if labels[val] {
				return nil, fmt.Errorf("--vary %q: value %q is given twice", v, val)
			}
			labels[val] = true
			a.Levels = append(a.Levels, study.Level{Label: val, Sets: []string{path + "=" + val}})
		}
		if err := add(a); err != nil {
			return nil, err
		}
	}
	if len(axes) == 0 {
		return nil, fmt.Errorf("--vary: give at least one axis (%s, or path=v1,v2)", strings.Join(AxisNames(), ", "))
	}
	return axes, nil
}

// splitValues splits "a,b" and "[1,2],[3,4]" at the commas outside brackets.
func splitValues(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	out = append(out, strings.TrimSpace(s[start:]))
	for _, v := range out {
		if v == "" {
			return nil
		}
	}
	return out
}

// Cell is one combination of levels, one per axis.
type Cell struct {
	Labels []study.Label
	Sets   []string
}

// Name joins the cell's labels: "fusion=dense stem=paper".
func (c Cell) Name() string { return labelsName(c.Labels) }

func labelsName(labels []study.Label) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = l.Axis + "=" + l.Value
	}
	return strings.Join(parts, " ")
}

// Grid returns the full factorial grid over axes, the first axis varying slowest.
func Grid(axes []study.Axis) []Cell {
	cells := []Cell{{}}
	for _, a := range axes {
		var next []Cell
		for _, c := range cells {
			for _, l := range a.Levels {
				next = append(next, Cell{
					Labels: append(append([]study.Label(nil), c.Labels...), study.Label{Axis: a.Name, Value: l.Label}),
					Sets:   append(append([]string(nil), c.Sets...), l.Sets...),
				})
			}
		}
		cells = next
	}
	return cells
}

// Trials returns the study's trials: every cell once per seed, trial index
// cell·len(seeds) + seed position. With match (nil for none), each cell's overrides end
// with its knob value.
func Trials(axes []study.Axis, seeds []int64, match *study.Match) []*study.Trial {
	var out []*study.Trial
	for ci, c := range Grid(axes) {
		sets := c.Sets
		if match != nil {
			sets = append(append([]string(nil), c.Sets...), match.Set(ci))
		}
		for _, seed := range seeds {
			out = append(out, &study.Trial{
				Index: len(out), Labels: c.Labels, Sets: sets, Key: study.Key{Seed: seed},
			})
		}
	}
	return out
}
