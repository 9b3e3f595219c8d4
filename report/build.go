package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/msdx/msdx/ablation"
	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// Options are the facts about the report's making that the directories do not hold.
type Options struct {
	// Title heads the page; empty gives a default.
	Title string
	// Generator is the msdx version making the report and Go its Go version.
	Generator string
	Go        string
	// Machine is where the report is made (see DetectMachine).
	Machine Machine
	// Now is when the report is made.
	Now time.Time
	// Baselines chooses the published baselines drawn: BaselinesAuto, BaselinesNone,
	// "cifar10" or "cifar100".
	Baselines string
}

// Choices of Options.Baselines besides a dataset.
const (
	// BaselinesAuto draws the published baselines of CIFAR-10 or CIFAR-100 when every
	// input trained on that dataset (data KIND cifar10 or cifar100), and none otherwise.
	BaselinesAuto = ""
	// BaselinesNone draws none.
	BaselinesNone = "none"
)

// PublishedNote is the caveat printed with the published baselines.
const PublishedNote = "Published figures are for the original CIFAR data and 300-epoch training (the MSDNet and RANet recipes); runs trained here with other data, recipes or fewer epochs are not directly comparable."

// Build reads run and study directories and builds the report.
func Build(dirs []string, opts Options) (*Report, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no directories: give run directories (msdx train, then msdx eval) or study directories")
	}
	title := opts.Title
	if title == "" {
		title = "msdx report: accuracy against cost"
	}
	r := &Report{Title: title}
	var cands []candidate
	for _, d := range dirs {
		in, err := readDir(d)
		if err != nil {
			return nil, err
		}
		r.Header.Sources = append(r.Header.Sources, in.source)
		r.Notes = append(r.Notes, in.notes...)
		first := len(cands)
		cands = append(cands, in.candidates...)
		if in.ablation != nil {
			r.Ablations = append(r.Ablations, ablationOf(in.source.Dir, in.ablation, cands[first:]))
		}
	}
	labelUnique(cands)
	for i := range cands {
		cands[i].series.Colour = i % PaletteSize
		r.Series = append(r.Series, cands[i].series)
	}
	// Colours and labels are settled now: copy them into the ablation rows.
	byID := map[string]*Series{}
	for i := range r.Series {
		byID[r.Series[i].ID] = &r.Series[i]
	}
	for _, a := range r.Ablations {
		for i := range a.Rows {
			s := byID[a.Rows[i].Series]
			a.Rows[i].Colour, a.Rows[i].Name = s.Colour, s.Label
		}
	}
	r.Header.fill(cands, opts)
	base, notes, err := r.Header.baselines(opts.Baselines)
	if err != nil {
		return nil, err
	}
	r.Notes = append(r.Notes, notes...)
	r.Pareto = paretoOf(r.Series)
	for i := range r.Series {
		r.Series[i].Hypervolume = curve.Hypervolume(curveOf(r.Series[i].Anytime), r.Pareto.Reference)
	}
	r.Series = append(r.Series, base...)
	r.Breakdowns, err = breakdowns(cands)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// labelUnique makes the labels of the candidates distinct by appending where they come
// from to those that collide.
func labelUnique(cands []candidate) {
	count := map[string]int{}
	for _, c := range cands {
		count[c.series.Label]++
	}
	for i := range cands {
		s := &cands[i].series
		if count[s.Label] > 1 {
			s.Label = fmt.Sprintf("%s [%s]", s.Label, filepath.Base(s.Source))
		}
	}
	// Still colliding (same base name): number them.
	seen := map[string]int{}
	for i := range cands {
		s := &cands[i].series
		seen[s.Label]++
		if n := seen[s.Label]; n > 1 {
			s.Label = fmt.Sprintf("%s #%d", s.Label, n)
		}
	}
}

func (h *Header) fill(cands []candidate, opts Options) {
	h.Generator, h.Go, h.Machine, h.Generated = opts.Generator, opts.Go, opts.Machine, opts.Now.UTC()
	classes := map[int]bool{}
	seeds := map[int64]bool{}
	epochs := map[int]bool{}
	for _, c := range cands {
		h.Data = appendNew(h.Data, c.data)
		h.Recipes = appendNew(h.Recipes, c.recipe)
		h.TrainedWith = appendNew(h.TrainedWith, c.version)
		classes[c.classes] = true
		epochs[c.epochs] = true
		for _, s := range c.seeds {
			seeds[s] = true
		}
	}
	for s := range seeds {
		h.Seeds = append(h.Seeds, s)
	}
	slices.Sort(h.Seeds)
	for e := range epochs {
		h.Epochs = append(h.Epochs, e)
	}
	slices.Sort(h.Epochs)
	if len(classes) == 1 {
		h.Classes = cands[0].classes
	}
}

// dataset returns the dataset every input trained on when it is CIFAR-10 or CIFAR-100
// (data KIND cifar10 or cifar100), and "" otherwise.
func (h *Header) dataset() string {
	kinds := map[string]bool{}
	for _, d := range h.Data {
		kinds[dataKind(d)] = true
	}
	if k := dataKind(h.Data[0]); len(kinds) == 1 && (k == "cifar10" || k == "cifar100") {
		return k
	}
	return ""
}

// dataKind is the KIND of a KIND:PATH dataset reference.
func dataKind(ref string) string {
	k, _, _ := strings.Cut(ref, ":")
	return k
}

func appendNew[T comparable](s []T, v T) []T {
	var zero T
	if v == zero || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// paretoOf computes the front over every exit of the series.
func paretoOf(series []Series) Pareto {
	var p Pareto
	var all []Point
	for _, s := range series {
		for _, pt := range s.Anytime {
			p.Points = append(p.Points, ParetoPoint{Series: s.ID, Label: s.Label, Colour: s.Colour, Point: pt})
			p.Reference.MACs = max(p.Reference.MACs, pt.MACs)
			all = append(all, pt)
		}
	}
	p.Reference.MACs *= 1.1
	p.Reference.Top1 = 0
	var front []curve.Point
	for _, i := range curve.Front(curveOf(all)) {
		p.Points[i].Front = true
		front = append(front, all[i].Curve())
	}
	p.Hypervolume = curve.Hypervolume(front, p.Reference)
	if box := p.Reference.MACs * (100 - p.Reference.Top1); box > 0 {
		p.Normalised = p.Hypervolume / box
	}
	return p
}

// ResponseOrder lists the ablation responses in table order.
var ResponseOrder = []string{ablation.ResponseLastTop1, ablation.ResponseAnytimeMatched, ablation.ResponseBudgetedMatched, ablation.ResponseLastMACs}

// ResponseTitles are the column headings of the responses.
var ResponseTitles = map[string]string{
	ablation.ResponseLastTop1:        "last-exit top-1 (%)",
	ablation.ResponseAnytimeMatched:  "anytime top-1 at matched cost (%)",
	ablation.ResponseBudgetedMatched: "budgeted top-1 at matched cost (%)",
	ablation.ResponseLastMACs:        "last-exit MACs",
}

// ablationOf turns an ablation result into the report's table; cands are the study's
// candidates, whose series IDs the rows name.
func ablationOf(dir string, res *ablation.Result, cands []candidate) Ablation {
	a := Ablation{Study: dir, MatchedBudgets: res.MatchedBudgets, Failed: len(res.Failed)}
	baseline := map[string]string{}
	for _, ax := range res.Axes {
		a.Axes = append(a.Axes, Axis{Name: ax.Name, Levels: ax.Levels})
		if len(ax.Levels) > 0 {
			baseline[ax.Name] = ax.Levels[0]
		}
	}
	ids := map[string]string{}
	for _, c := range cands {
		ids[c.series.Label] = c.series.ID
	}
	for _, v := range res.Variants {
		id, ok := ids[v.Name]
		if !ok {
			continue // left out: no finished trial
		}
		row := AblationRow{Series: id, Name: v.Name, Finished: v.Finished, Trials: len(v.Trials)}
		for _, ax := range res.Axes {
			lv := ""
			for _, l := range v.Labels {
				if l.Axis == ax.Name {
					lv = l.Value
				}
			}
			row.Levels = append(row.Levels, lv)
		}
		if n := len(v.Exits); n > 0 {
			row.LastMACs, row.LastParams = v.Exits[n-1].MACs, v.Exits[n-1].Params
		}
		for _, name := range ResponseOrder {
			if st, ok := v.Responses[name]; ok {
				row.Responses = append(row.Responses, Response{Name: name, Stat: Stat(st)})
			}
		}
		a.Rows = append(a.Rows, row)
	}
	for _, e := range res.Effects {
		var name string
		if len(e.Factors) == 1 && len(e.Levels) == 1 {
			name = fmt.Sprintf("%s: %s vs %s", e.Factors[0], e.Levels[0], baseline[e.Factors[0]])
		} else {
			name = fmt.Sprintf("%s: %s", strings.Join(e.Factors, " × "), strings.Join(e.Levels, ", "))
		}
		a.Effects = append(a.Effects, Effect{Name: name, Factors: e.Factors, Levels: e.Levels, Response: e.Response, Stat: Stat(e.Stat)})
	}
	return a
}

// breakdowns computes the per-exit cost of every distinct network among the candidates.
func breakdowns(cands []candidate) ([]Breakdown, error) {
	var out []Breakdown
	index := map[string]int{}
	for _, c := range cands {
		h := c.series.SpecHash
		if i, ok := index[h]; ok {
			out[i].Series = append(out[i].Series, c.series.ID)
			continue
		}
		exits, err := ExitBreakdown(c.spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.series.Source, err)
		}
		index[h] = len(out)
		out = append(out, Breakdown{
			Series: []string{c.series.ID}, Label: c.series.Label, Colour: c.series.Colour,
			Spec: c.spec.Name, SpecHash: h, Exits: exits,
		})
	}
	return out, nil
}

// PartOf classifies a graph node into one of the Parts by the part the builder recorded
// for it (graph.Node.Part): the stem (with the rest of the first layer), the transitions,
// the heads, and the layers as blocks.
func PartOf(n *graph.Node) string {
	switch n.Part {
	case graph.PartHead:
		return PartHeads
	case graph.PartStem:
		return PartStem
	case graph.PartTransition:
		return PartTransitions
	}
	return PartBlocks
}

// ExitBreakdown builds s and splits the cumulative MACs of reaching each exit (reference
// semantics, as flops.Exits counts them) by part.
func ExitBreakdown(s *spec.Spec) ([]ExitParts, error) {
	g, err := builder.Build(s)
	if err != nil {
		return nil, err
	}
	totals := flops.Exits(g)
	out := make([]ExitParts, len(g.Exits))
	for i, e := range g.Exits {
		ep := ExitParts{Exit: e.Index}
		for _, n := range g.Nodes[:e.Output+1] {
			switch PartOf(n) {
			case PartStem:
				ep.Stem += n.Cost.MACs
			case PartBlocks:
				ep.Blocks += n.Cost.MACs
			case PartTransitions:
				ep.Transitions += n.Cost.MACs
			case PartHeads:
				ep.Heads += n.Cost.MACs
			}
		}
		ep.MACs = ep.Stem + ep.Blocks + ep.Transitions + ep.Heads
		if ep.MACs != totals[i].MACs {
			panic(fmt.Sprintf("report: exit %d breakdown sums to %d MACs, the cost model says %d", e.Index, ep.MACs, totals[i].MACs))
		}
		out[i] = ep
	}
	return out, nil
}
