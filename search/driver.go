package search

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/pareto"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/study"
)

// Executor runs trials of a study directory whose trial.json files are written: each
// trial writes its status.json when it ends. Run returns when every trial of indices has
// ended (or the context is cancelled). It is the shape of the runner's executors.
type Executor interface {
	Run(ctx context.Context, dir study.Dir, indices []int) error
}

// SearchFile is the name of the search result in a study directory.
const SearchFile = "search.json"

// Driver trains candidates of a space with asynchronous successive halving (ASHA, Li et
// al. 2020) over epochs and Pareto-aware pruning.
//
// Candidates are the feasible ones of the space, drawn in a fixed random order from Seed;
// infeasible ones never train. Every trial trains one candidate for Rungs[k] epochs. When
// a slot is free the driver promotes, from the highest rung down, a candidate that ranks
// in the top 1/Eta of the trials finished at its rung (by non-dominated sorting and
// crowding on the objectives) and has not been promoted yet; otherwise it starts the next
// candidate at the first rung. A promotable candidate is pruned instead when even an
// optimistic bound of its objectives at the last rung (its objectives now, improved by the
// largest gain any candidate has shown from its rung to the last) is dominated by the
// front of the last rung: its cost is known, and its accuracy cannot reach the front at
// that cost.
//
// Trials run in waves of at most Jobs. Every decision depends only on the trials already
// planned and their results, so a killed search rerun with the same settings plans the
// same trials, reruns only those without a finished status, and carries on.
type Driver struct {
	Space *Space
	Dir   study.Dir
	// Config supplies the trials' key (recipe hash, data fingerprint, first seed).
	Config *study.Config
	// Objectives rank trials; at least one needs training.
	Objectives []Objective
	// Trials is the budget: the number of trials (rung runs) planned in all.
	Trials int
	// Rungs are the epochs of each rung, increasing; Eta is the promotion ratio (>= 2).
	Rungs []int
	Eta   int
	// Jobs is the number of trials per wave.
	Jobs int
	Seed uint64
	// Log, when not nil, receives one line per event.
	Log func(format string, args ...any)

	recipe *recipe.Recipe // the study's recipe.toml, once read
}

// TrialResult is one trial in search.json.
type TrialResult struct {
	Index     int      `json:"index"`
	Candidate int      `json:"candidate"`
	Rung      int      `json:"rung"`
	Epochs    int      `json:"epochs"`
	Sets      []string `json:"sets"`
	SpecHash  string   `json:"spec_hash"`
	// Spec is the trial's resolved spec file, relative to the study directory.
	Spec   string `json:"spec"`
	Status string `json:"status"`
	// Exits are the trial's per-exit cost and accuracy (finished trials).
	Exits []study.ExitResult `json:"exits,omitempty"`
	// Objectives are in the result's order and direction (finished trials).
	Objectives []float64 `json:"objectives,omitempty"`
	// Pruned is true for a trial whose candidate was stopped by the Pareto bound.
	Pruned bool `json:"pruned,omitempty"`
}

// Result is the content of search.json.
type Result struct {
	Space      string        `json:"space"`
	Base       string        `json:"base"`
	Objectives []string      `json:"objectives"`
	Rungs      []int         `json:"rungs"`
	Eta        int           `json:"eta"`
	Budget     int           `json:"budget"`
	Trials     []TrialResult `json:"trials"`
	// Front are the indices of the trials on the Pareto front of the last rung (of every
	// candidate's highest finished rung when no candidate reached the last).
	Front []int `json:"front"`
	// Hypervolume is the front's hypervolume in the minimised objectives with respect
	// to Reference, the worst value of each objective over the finished trials.
	Hypervolume float64   `json:"hypervolume"`
	Reference   []float64 `json:"reference"`
}

type plannedTrial struct {
	index, cand, rung int
	status            *study.Status
	obj               []float64 // minimised objectives; nil unless finished
}

func (d *Driver) logf(format string, args ...any) {
	if d.Log != nil {
		d.Log(format, args...)
	}
}

// candidates returns the first n feasible distinct candidates of the stream.
func (d *Driver) candidates(n int) ([]Candidate, []*Cost) {
	ev := &Evaluator{Space: d.Space}
	var cands []Candidate
	var costs []*Cost
	seen := map[string]bool{}
	const batch = 256
	for round := uint64(0); len(cands) < n && round < 200; round++ {
		draw := d.Space.Random(batch, d.Seed+round*0x9e3779b97f4a7c15)
		cs := ev.EvaluateAll(draw)
		for i, c := range draw {
			if len(cands) == n {
				break
			}
			if k := c.Key(); !seen[k] && cs[i].Feasible() {
				seen[k] = true
				cands = append(cands, c)
				costs = append(costs, cs[i])
			}
		}
	}
	return cands, costs
}

// Run runs the search to its budget and writes search.json.
func (d *Driver) Run(ctx context.Context, exec Executor) (*Result, error) {
	if d.Eta < 2 || len(d.Rungs) == 0 || d.Jobs < 1 || d.Trials < 1 {
		panic("search: Driver needs Eta >= 2, rungs, Jobs >= 1 and Trials >= 1")
	}
	cands, costs := d.candidates(d.Trials)
	if len(cands) == 0 {
		return nil, fmt.Errorf("%s: no feasible candidate found in %d draws", d.Space.File, 200*256)
	}
	byKey := map[string]int{}
	for j, c := range cands {
		byKey[strings.Join(d.Space.Overrides(c), "\x00")] = j
	}
	// Reload the trials already planned.
	var trials []*plannedTrial
	indices, err := d.Dir.Trials()
	if err != nil {
		return nil, err
	}
	for _, i := range indices {
		t, err := d.Dir.ReadTrial(i)
		if err != nil {
			return nil, err
		}
		j, ok := byKey[strings.Join(t.Sets, "\x00")]
		rung := sort.SearchInts(d.Rungs, t.Epochs)
		if !ok || rung == len(d.Rungs) || d.Rungs[rung] != t.Epochs || i != len(trials) {
			return nil, fmt.Errorf("%s: trial %d (%v, %d epochs) is not one this search plans: rerun with the settings that created the study", d.Dir, i, t.Sets, t.Epochs)
		}
		p := &plannedTrial{index: i, cand: j, rung: rung}
		if err := d.load(p, t); err != nil {
			return nil, err
		}
		trials = append(trials, p)
	}
	pruned := map[int]bool{} // candidates stopped by the Pareto bound, as journaled
	events, err := d.Dir.ReadJournal()
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if e.Event == "pruned" && e.Trial != nil && *e.Trial < len(trials) {
			pruned[trials[*e.Trial].cand] = true
		}
	}
	promoted := map[[2]int]bool{}
	for _, p := range trials {
		if p.rung > 0 {
			promoted[[2]int{p.cand, p.rung - 1}] = true
		}
	}
	next := 0 // next fresh candidate
	for _, p := range trials {
		if p.rung == 0 {
			next = max(next, p.cand+1)
		}
	}
	for {
		var pending []int
		for _, p := range trials {
			if p.status == nil {
				pending = append(pending, p.index)
			}
		}
		if len(pending) > 0 {
			d.logf("running trials %v", pending)
			if err := exec.Run(ctx, d.Dir, pending); err != nil {
				return nil, err
			}
			for _, i := range pending {
				t, err := d.Dir.ReadTrial(i)
				if err != nil {
					return nil, err
				}
				if err := d.load(trials[i], t); err != nil {
					return nil, err
				}
				if trials[i].status == nil {
					return nil, fmt.Errorf("%s: trial %d ended without a status", d.Dir, i)
				}
			}
			continue
		}
		if len(trials) >= d.Trials {
			break
		}
		var wave []*plannedTrial
		for len(wave) < d.Jobs && len(trials)+len(wave) < d.Trials {
			j, rung, ok := d.promotion(trials, promoted, pruned, costs)
			if !ok {
				if next >= len(cands) {
					break
				}
				j, rung = next, 0
				next++
			}
			promoted[[2]int{j, rung - 1}] = rung > 0
			wave = append(wave, &plannedTrial{index: len(trials) + len(wave), cand: j, rung: rung})
		}
		if len(wave) == 0 {
			break
		}
		for _, p := range wave {
			if err := d.plan(p, cands[p.cand], costs[p.cand]); err != nil {
				return nil, err
			}
			trials = append(trials, p)
		}
	}
	res := d.result(trials, cands, costs, pruned)
	if err := jsonfile.Write(d.Dir.Path(SearchFile), res); err != nil {
		return nil, err
	}
	d.Dir.AppendJournal(study.Event{Event: "done", Detail: fmt.Sprintf("%d trials, front %v", len(trials), res.Front)})
	return res, nil
}

// load reads a trial's status into p when it has ended with the trial's key.
func (d *Driver) load(p *plannedTrial, t *study.Trial) error {
	s, err := d.Dir.ReadStatus(p.index)
	if err != nil {
		return err
	}
	if s == nil || s.Key != t.Key {
		p.status, p.obj = nil, nil
		return nil
	}
	p.status = s
	if s.Status == study.StatusFinished {
		m, err := d.measures(p.index, s)
		if err != nil {
			return err
		}
		p.obj = d.objectives(m)
	}
	return nil
}

// measures returns a finished trial's measures: its exits from status.json and, when an
// objective needs it, its budgeted curve from run/eval/report.json (the reference cost).
func (d *Driver) measures(index int, s *study.Status) (Measures, error) {
	m := Measures{}
	for _, e := range s.Exits {
		m.Exits = append(m.Exits, curve.Point{MACs: float64(e.MACs), Top1: e.Top1})
		m.Params = e.Params
	}
	need := false
	for _, o := range d.Objectives {
		need = need || o.Name == "budget_auc"
	}
	if !need {
		return m, nil
	}
	rep, err := evaluate.Load(evaluate.Dir(d.Dir.TrialPath(index, study.RunDir), "final", "test"))
	if err != nil {
		return m, fmt.Errorf("trial %s finished, but budget_auc needs its budgeted curve: %v", study.TrialID(index), err)
	}
	if m.Budget, err = rep.BudgetedCurve(evaluate.CostReference); err != nil {
		return m, fmt.Errorf("trial %s: %w", study.TrialID(index), err)
	}
	return m, nil
}

func (d *Driver) objectives(m Measures) []float64 {
	f := make([]float64, len(d.Objectives))
	for i, o := range d.Objectives {
		f[i] = o.Minimised(m)
	}
	return f
}

// seed is the training seed of every trial: the study's first.
func (d *Driver) seed() int64 {
	if len(d.Config.Seeds) > 0 {
		return d.Config.Seeds[0]
	}
	return 0
}

// recipeSets returns the recipe overrides of a trial of the given epochs: a cosine
// warm-up of recipe.toml that does not fit them is shortened to epochs-1 (0 for one
// epoch), as package recipe does for a preset's warm-up; nil otherwise.
func (d *Driver) recipeSets(epochs int) ([]string, error) {
	if d.recipe == nil {
		rc, err := recipe.LoadFile(d.Dir.Path(study.RecipeFile))
		if err != nil {
			return nil, err
		}
		d.recipe = rc
	}
	if w := d.recipe.Schedule.WarmupEpochs; d.recipe.Schedule.Kind == recipe.Cosine && w >= epochs {
		return []string{"schedule.warmup_epochs=" + strconv.Itoa(epochs-1)}, nil
	}
	return nil, nil
}

// plan resolves a trial through study.Plan, which writes its trial.json, spec.toml and
// cost.json, and journals it.
func (d *Driver) plan(p *plannedTrial, c Candidate, cost *Cost) error {
	sets := d.Space.Overrides(c)
	epochs := d.Rungs[p.rung]
	rs, err := d.recipeSets(epochs)
	if err != nil {
		return err
	}
	t := &study.Trial{Index: p.index, Sets: sets, RecipeSets: rs, Epochs: epochs, Key: study.Key{Seed: d.seed()}}
	costs, err := d.Dir.Plan(d.Config, t)
	if err != nil {
		return fmt.Errorf("planning trial %s (%s): %w", study.TrialID(p.index), strings.Join(sets, " "), err)
	}
	// The space and the study resolve a candidate alike (see Space.Resolve).
	if t.Key.SpecHash != cost.Hash || len(costs) != len(cost.Exits) || costs[len(costs)-1].MACs != cost.Exits[len(cost.Exits)-1].MACs {
		return fmt.Errorf("%s: trial %s resolves to spec %.12s, but the space costed %.12s: is %s the space's base?",
			d.Dir, study.TrialID(p.index), t.Key.SpecHash, cost.Hash, study.BaseFile)
	}
	idx := p.index
	detail := fmt.Sprintf("rung %d, %d epochs: %s", p.rung, epochs, strings.Join(sets, " "))
	if rs != nil {
		detail += " (recipe " + strings.Join(rs, " ") + ")"
	}
	d.logf("planned trial %d: candidate %d, %s", idx, p.cand, detail)
	return d.Dir.AppendJournal(study.Event{Event: "planned", Trial: &idx, Detail: detail})
}

// promotion finds the candidate to promote, highest rung first; ok is false when none is.
func (d *Driver) promotion(trials []*plannedTrial, promoted map[[2]int]bool, pruned map[int]bool, costs []*Cost) (cand, rung int, ok bool) {
	top := len(d.Rungs) - 1
	for k := top - 1; k >= 0; k-- {
		var done []*plannedTrial
		for _, p := range trials {
			if p.rung == k && p.obj != nil {
				done = append(done, p)
			}
		}
		n := len(done) / d.Eta
		if n == 0 {
			continue
		}
		for _, p := range rankTrials(done)[:n] {
			if promoted[[2]int{p.cand, k}] || pruned[p.cand] {
				continue
			}
			if d.dominatedBound(p, trials) {
				pruned[p.cand] = true
				idx := p.index
				d.logf("pruned candidate %d after trial %d: its optimistic bound is dominated by the last rung's front", p.cand, idx)
				d.Dir.AppendJournal(study.Event{Event: "pruned", Trial: &idx, Detail: "optimistic bound dominated by the front at its cost"})
				continue
			}
			return p.cand, k + 1, true
		}
	}
	return 0, 0, false
}

// rankTrials orders finished trials by non-dominated front, then crowding distance
// (larger first), then index.
func rankTrials(done []*plannedTrial) []*plannedTrial {
	points := make([][]float64, len(done))
	for i, p := range done {
		points[i] = p.obj
	}
	var out []*plannedTrial
	for _, front := range pareto.Sort(points, nil) {
		crowd := pareto.Crowding(points, front)
		order := make([]int, len(front))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return crowd[order[a]] > crowd[order[b]] })
		for _, i := range order {
			out = append(out, done[front[i]])
		}
	}
	return out
}

// dominatedBound reports whether p's optimistic bound at the last rung is dominated by a
// finished trial of the last rung. The bound improves each training objective by the
// largest gain seen from p's rung to the last; without such an observation there is no
// bound and nothing is pruned.
func (d *Driver) dominatedBound(p *plannedTrial, trials []*plannedTrial) bool {
	top := len(d.Rungs) - 1
	at := map[[2]int][]float64{}
	for _, t := range trials {
		if t.obj != nil {
			at[[2]int{t.cand, t.rung}] = t.obj
		}
	}
	gain := make([]float64, len(d.Objectives))
	observed := false
	for _, t := range trials {
		if t.rung != top || t.obj == nil {
			continue
		}
		low, ok := at[[2]int{t.cand, p.rung}]
		if !ok {
			continue
		}
		observed = true
		for i := range gain {
			gain[i] = math.Max(gain[i], low[i]-t.obj[i])
		}
	}
	if !observed {
		return false
	}
	bound := make([]float64, len(p.obj))
	for i, o := range d.Objectives {
		bound[i] = p.obj[i]
		if !o.CostOnly {
			bound[i] -= gain[i]
		}
	}
	for _, t := range trials {
		if t.rung == top && t.obj != nil && pareto.Dominates(t.obj, bound) {
			return true
		}
	}
	return false
}

func (d *Driver) result(trials []*plannedTrial, cands []Candidate, costs []*Cost, pruned map[int]bool) *Result {
	res := &Result{Space: d.Space.File, Base: d.Space.Base, Rungs: d.Rungs, Eta: d.Eta, Budget: d.Trials, Front: []int{}}
	for _, o := range d.Objectives {
		dir := "min:"
		if o.Maximize {
			dir = "max:"
		}
		res.Objectives = append(res.Objectives, dir+o.Name)
	}
	// Each candidate's highest finished rung.
	best := map[int]*plannedTrial{}
	for _, p := range trials {
		tr := TrialResult{Index: p.index, Candidate: p.cand, Rung: p.rung, Epochs: d.Rungs[p.rung],
			Sets: d.Space.Overrides(cands[p.cand]), SpecHash: costs[p.cand].Hash, Pruned: pruned[p.cand],
			Spec: filepath.ToSlash(filepath.Join(study.TrialsDir, study.TrialID(p.index), study.SpecFile))}
		if p.status != nil {
			tr.Status, tr.Exits = p.status.Status, p.status.Exits
		}
		if p.obj != nil {
			for i, o := range d.Objectives {
				v := p.obj[i]
				if o.Maximize {
					v = -v
				}
				tr.Objectives = append(tr.Objectives, v)
			}
			if b := best[p.cand]; b == nil || p.rung > b.rung {
				best[p.cand] = p
			}
		}
		res.Trials = append(res.Trials, tr)
	}
	top := 0
	for _, p := range best {
		top = max(top, p.rung)
	}
	var members []*plannedTrial
	for _, p := range trials {
		if best[p.cand] == p && p.rung == top {
			members = append(members, p)
		}
	}
	points := make([][]float64, len(members))
	for i, p := range members {
		points[i] = p.obj
	}
	for _, i := range pareto.Front(points) {
		res.Front = append(res.Front, members[i].index)
	}
	res.Reference = Reference(trials2points(trials))
	var front [][]float64
	for _, i := range res.Front {
		front = append(front, trials[i].obj)
	}
	if res.Reference != nil {
		res.Hypervolume = pareto.Hypervolume(front, res.Reference)
	}
	return res
}

func trials2points(trials []*plannedTrial) [][]float64 {
	var out [][]float64
	for _, p := range trials {
		if p.obj != nil {
			out = append(out, p.obj)
		}
	}
	return out
}

// Reference returns a hypervolume reference point for minimised points: the worst value
// of each objective, pushed out by 1% of its range (or of its magnitude), so that the
// worst points still count; nil for no points.
func Reference(points [][]float64) []float64 {
	if len(points) == 0 {
		return nil
	}
	ref := append([]float64(nil), points[0]...)
	lo := append([]float64(nil), points[0]...)
	for _, p := range points {
		for i, v := range p {
			ref[i], lo[i] = math.Max(ref[i], v), math.Min(lo[i], v)
		}
	}
	for i := range ref {
		span := ref[i] - lo[i]
		if span == 0 {
			span = math.Max(math.Abs(ref[i]), 1)
		}
		ref[i] += 0.01 * span
	}
	return ref
}
