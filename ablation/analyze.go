package ablation

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/study"
)

// curves are one finished trial's results.
type curves struct {
	exits    []study.ExitResult
	anytime  []curve.Point // the exits' cost and top-1, in exit order
	budgeted []curve.Point // sorted by cost
}

// Analyze reads the trials of the ablation study in dir and computes its Result. Trials
// that have not finished are listed in Result.Failed and left out of the statistics.
func Analyze(dir study.Dir) (*Result, error) {
	cfg, err := dir.ReadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Kind != study.KindAblation {
		return nil, fmt.Errorf("%s is a %s study, not an ablation", dir, cfg.Kind)
	}
	res := &Result{Study: string(dir), Seeds: cfg.Seeds, Match: cfg.Match}
	for _, a := range cfg.Axes {
		ax := Axis{Name: a.Name}
		for _, l := range a.Levels {
			ax.Levels = append(ax.Levels, l.Label)
		}
		res.Axes = append(res.Axes, ax)
	}
	cells := Grid(cfg.Axes)
	trials := Trials(cfg.Axes, cfg.Seeds, cfg.Match)
	// results[cell][seed position] is nil for a trial that did not finish.
	results := make([][]*curves, len(cells))
	for ci := range cells {
		results[ci] = make([]*curves, len(cfg.Seeds))
		for si := range cfg.Seeds {
			t := trials[ci*len(cfg.Seeds)+si]
			c, failed, err := readTrial(dir, t)
			if err != nil {
				return nil, err
			}
			if failed != nil {
				res.Failed = append(res.Failed, *failed)
				continue
			}
			results[ci][si] = c
		}
	}
	res.MatchedBudgets = matchedBudgets(results)
	// response[name][cell][seed], NaN where missing.
	responses := map[string][][]float64{}
	for _, name := range []string{ResponseLastTop1, ResponseAnytimeMatched, ResponseBudgetedMatched, ResponseLastMACs} {
		responses[name] = make([][]float64, len(cells))
		for ci := range cells {
			responses[name][ci] = make([]float64, len(cfg.Seeds))
			for si := range cfg.Seeds {
				responses[name][ci][si] = response(name, results[ci][si], res.MatchedBudgets)
			}
		}
	}
	for ci, cell := range cells {
		v := Variant{Name: cell.Name(), Labels: cell.Labels, Responses: map[string]Stat{}}
		if cfg.Match != nil {
			v.Scaled = &cfg.Match.Cells[ci]
		}
		var done []*curves
		for si := range cfg.Seeds {
			v.Trials = append(v.Trials, ci*len(cfg.Seeds)+si)
			if results[ci][si] != nil {
				done = append(done, results[ci][si])
			}
		}
		v.Finished = len(done)
		if len(done) > 0 {
			for k, e := range done[0].exits {
				top1 := make([]float64, len(done))
				for j, c := range done {
					top1[j] = c.exits[k].Top1
				}
				v.Exits = append(v.Exits, Exit{Exit: e.Exit, MACs: e.MACs, Params: e.Params, Top1: stat(top1)})
			}
			v.Budgeted = meanCurve(done)
		}
		for name, r := range responses {
			v.Responses[name] = stat(r[ci])
		}
		res.Variants = append(res.Variants, v)
	}
	for _, name := range []string{ResponseLastTop1, ResponseAnytimeMatched, ResponseBudgetedMatched, ResponseLastMACs} {
		res.Effects = append(res.Effects, effects(cfg.Axes, responses[name], name, len(cfg.Seeds))...)
	}
	return res, nil
}

// readTrial reads a finished trial's results, or says why it has none.
func readTrial(dir study.Dir, t *study.Trial) (*curves, *Failed, error) {
	planned, err := dir.ReadTrial(t.Index)
	if err != nil {
		return nil, nil, fmt.Errorf("trial %s: %w", study.TrialID(t.Index), err)
	}
	f := &Failed{Trial: t.Index, Labels: planned.Labels, Seed: planned.Key.Seed, Status: "unfinished"}
	s, err := dir.ReadStatus(t.Index)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case s == nil:
		f.Reason = "never ended (killed, or not run yet)"
		return nil, f, nil
	case s.Status != study.StatusFinished:
		f.Status, f.Reason = s.Status, s.Reason
		return nil, f, nil
	case s.Key != planned.Key:
		f.Reason = "its results are for another spec, recipe, data or seed"
		return nil, f, nil
	}
	rep, err := evaluate.Load(evaluate.Dir(dir.TrialPath(t.Index, study.RunDir), "final", "test"))
	if err != nil {
		f.Reason = fmt.Sprintf("finished but its evaluation cannot be read: %v", err)
		return nil, f, nil
	}
	c := &curves{exits: s.Exits}
	for _, e := range s.Exits {
		c.anytime = append(c.anytime, curve.Point{MACs: float64(e.MACs), Top1: e.Top1})
	}
	if c.budgeted, err = rep.BudgetedCurve(evaluate.CostReference); err != nil {
		return nil, nil, fmt.Errorf("trial %s: %w", study.TrialID(t.Index), err)
	}
	return c, nil, nil
}

// matchedBudgets returns the exit costs of every variant at which every finished trial
// has both an anytime and a budgeted result: those at least the largest first-exit
// cost and the largest cheapest budgeted cost.
func matchedBudgets(results [][]*curves) []float64 {
	lo := 0.0
	var all []float64
	for _, cell := range results {
		for _, c := range cell {
			if c == nil || len(c.exits) == 0 {
				continue
			}
			lo = max(lo, float64(c.exits[0].MACs))
			if len(c.budgeted) > 0 {
				lo = max(lo, c.budgeted[0].MACs)
			}
			for _, e := range c.exits {
				all = append(all, float64(e.MACs))
			}
		}
	}
	var out []float64
	for _, b := range all {
		if b >= lo {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// response computes one response of a finished trial (NaN for nil).
func response(name string, c *curves, budgets []float64) float64 {
	if c == nil || len(c.exits) == 0 {
		return math.NaN()
	}
	last := c.exits[len(c.exits)-1]
	switch name {
	case ResponseLastTop1:
		return last.Top1
	case ResponseLastMACs:
		return float64(last.MACs)
	case ResponseAnytimeMatched:
		return meanOver(budgets, func(b float64) float64 { return curve.StepAt(c.anytime, b) })
	case ResponseBudgetedMatched:
		return meanOver(budgets, func(b float64) float64 { return curve.At(c.budgeted, b) })
	}
	panic("ablation: unknown response " + name)
}

func meanOver(budgets []float64, f func(float64) float64) float64 {
	if len(budgets) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, b := range budgets {
		sum += f(b)
	}
	return sum / float64(len(budgets))
}

// meanCurve averages the budgeted curves of several seeds setting by setting.
func meanCurve(cs []*curves) []curve.Point {
	var all [][]curve.Point
	for _, c := range cs {
		all = append(all, c.budgeted)
	}
	return curve.Mean(all)
}

// stat summarises the non-NaN values of xs.
func stat(xs []float64) Stat {
	var s Stat
	var vals []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	s.N = len(vals)
	if s.N == 0 {
		return s
	}
	for _, x := range vals {
		s.Mean += x
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		for _, x := range vals {
			s.SD += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(s.SD / float64(s.N-1))
	}
	return s
}

// cellIndex returns the grid position of the level combination lv (first axis slowest).
func cellIndex(axes []study.Axis, lv []int) int {
	i := 0
	for a, l := range lv {
		i = i*len(axes[a].Levels) + l
	}
	return i
}

// combos enumerates every level combination of axes.
func combos(axes []study.Axis) [][]int {
	out := [][]int{{}}
	for _, a := range axes {
		var next [][]int
		for _, c := range out {
			for l := range a.Levels {
				next = append(next, append(slices.Clip(c), l))
			}
		}
		out = next
	}
	return out
}

// effects computes, per seed, each factor's main effect (each level against the
// baseline, averaged over the other factors' levels) and each pair's interaction, and
// summarises them over the seeds that have every cell.
func effects(axes []study.Axis, y [][]float64, name string, seeds int) []Effect {
	var out []Effect
	all := combos(axes)
	contrast := func(f func(seed int, lv []int) float64, fixed func(lv []int) bool) Stat {
		per := make([]float64, seeds)
		for s := range seeds {
			sum, n := 0.0, 0
			for _, lv := range all {
				if fixed(lv) {
					sum += f(s, lv)
					n++
				}
			}
			per[s] = sum / float64(n)
		}
		return stat(per)
	}
	at := func(s int, lv []int) float64 { return y[cellIndex(axes, lv)][s] }
	with := func(lv []int, a, l int) []int {
		c := slices.Clone(lv)
		c[a] = l
		return c
	}
	for a, ax := range axes {
		for l := 1; l < len(ax.Levels); l++ {
			st := contrast(func(s int, lv []int) float64 {
				return at(s, with(lv, a, l)) - at(s, with(lv, a, 0))
			}, func(lv []int) bool { return lv[a] == 0 })
			out = append(out, Effect{Factors: []string{ax.Name}, Levels: []string{ax.Levels[l].Label}, Response: name, Stat: st})
		}
	}
	for a := range axes {
		for b := a + 1; b < len(axes); b++ {
			for la := 1; la < len(axes[a].Levels); la++ {
				for lb := 1; lb < len(axes[b].Levels); lb++ {
					st := contrast(func(s int, lv []int) float64 {
						return at(s, with(with(lv, a, la), b, lb)) - at(s, with(with(lv, a, la), b, 0)) -
							at(s, with(with(lv, a, 0), b, lb)) + at(s, with(with(lv, a, 0), b, 0))
					}, func(lv []int) bool { return lv[a] == 0 && lv[b] == 0 })
					out = append(out, Effect{
						Factors:  []string{axes[a].Name, axes[b].Name},
						Levels:   []string{axes[a].Levels[la].Label, axes[b].Levels[lb].Label},
						Response: name, Stat: st,
					})
				}
			}
		}
	}
	return out
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes one row per variant and exit: the variant's labels (and, when the
// study matched costs, its knob value in a column named after the knob), the exit, its
// cost and its top-1 over seeds.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"variant"}
	for _, a := range r.Axes {
		head = append(head, a.Name)
	}
	if r.Match != nil {
		head = append(head, r.Match.Knob)
	}
	head = append(head, "exit", "macs", "params", "top1_mean", "top1_sd", "seeds")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, v := range r.Variants {
		for _, e := range v.Exits {
			row := []string{v.Name}
			for _, l := range v.Labels {
				row = append(row, l.Value)
			}
			if v.Scaled != nil {
				row = append(row, strconv.Itoa(v.Scaled.Value))
			}
			row = append(row, strconv.Itoa(e.Exit), strconv.FormatInt(e.MACs, 10), strconv.FormatInt(e.Params, 10),
				num(e.Top1.Mean), sdNum(e.Top1), strconv.Itoa(e.Top1.N))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteEffectsCSV writes one row per effect.
func (r *Result) WriteEffectsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"factors", "levels", "response", "mean", "sd", "seeds"}); err != nil {
		return err
	}
	for _, e := range r.Effects {
		if err := cw.Write([]string{joinX(e.Factors), joinX(e.Levels), e.Response, num(e.Mean), sdNum(e.Stat), strconv.Itoa(e.N)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func joinX(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " x "
		}
		out += x
	}
	return out
}

func num(f float64) string {
	if math.IsNaN(f) {
		return ""
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// sdNum formats the standard deviation of s for CSV: empty where none exists.
func sdNum(s Stat) string {
	if !s.HasSD() {
		return ""
	}
	return num(s.SD)
}
