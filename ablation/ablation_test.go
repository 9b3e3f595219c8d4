package ablation

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/msdx/msdx/costmatch"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/study"
)

func TestParseAxes(t *testing.T) {
	base, err := spec.Preset("addad-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	axes, err := ParseAxes([]string{"fusion,stem", "growth=6,8", "scales.gr_factor=[1,2,4],[1,2,2]"}, base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range axes {
		for _, l := range a.Levels {
			got = append(got, a.Name+":"+l.Label+":"+strings.Join(l.Sets, ";"))
		}
	}
	want := []string{
		"fusion:msdnet:fusion.rule=msdnet",
		"fusion:dense:fusion.rule=dense",
		"stem:msdnet:stem.kind=msdnet-cifar;stem.stride=0",
		"stem:paper:stem.kind=addad-code;stem.stride=1",
		"growth:6:growth=6",
		"growth:8:growth=8",
		"scales.gr_factor:[1,2,4]:scales.gr_factor=[1,2,4]",
		"scales.gr_factor:[1,2,2]:scales.gr_factor=[1,2,2]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ vary, err string }{
		{"fusion,depth", `unknown axis "depth"`},
		{"fusion,fusion", `axis "fusion" is given twice`},
		{"growth=6", "at least two values"},
		{"growth=6,6", `value "6" is given twice`},
		{"=1,2", "no field path"},
	} {
		if _, err := ParseAxes([]string{tc.vary}, base); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseAxes(%q) = %v, want an error containing %q", tc.vary, err, tc.err)
		}
	}
}

func TestGridOrder(t *testing.T) {
	axes := []study.Axis{
		{Name: "a", Levels: []study.Level{{Label: "0"}, {Label: "1"}}},
		{Name: "b", Levels: []study.Level{{Label: "x"}, {Label: "y"}, {Label: "z"}}},
	}
	var got []string
	for _, c := range Grid(axes) {
		got = append(got, c.Name())
	}
	want := []string{"a=0 b=x", "a=0 b=y", "a=0 b=z", "a=1 b=x", "a=1 b=y", "a=1 b=z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grid (-want +got):\n%s", diff)
	}
	trials := Trials(axes, []int64{0, 1}, nil)
	if len(trials) != 12 || trials[5].Index != 5 || trials[5].Key.Seed != 1 || Grid(axes)[2].Name() != "a=0 b=z" {
		t.Errorf("trials: %d, trial 5 = %+v", len(trials), trials[5])
	}
}

// fakeStudy plans a 2×2 fusion × stem study with two seeds and writes, for every trial,
// a finished status whose last exit has top1[cell][seed] and a two-point budgeted curve.
func fakeStudy(t *testing.T, top1 [4][2]float64, skip map[int]string) study.Dir {
	t.Helper()
	return fakeStudyMatched(t, top1, skip, "")
}

// fakeStudyMatched is fakeStudy with the cells scaled to equal last-exit cost by the
// knob matchBy (none when empty).
func fakeStudyMatched(t *testing.T, top1 [4][2]float64, skip map[int]string, matchBy string) study.Dir {
	t.Helper()
	dir := study.Dir(t.TempDir())
	base, err := spec.Preset("addad-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := recipe.Resolve("quick", nil)
	if err != nil {
		t.Fatal(err)
	}
	axes, err := ParseAxes([]string{"fusion,stem"}, base)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []int64{0, 1}
	var match *study.Match
	if matchBy != "" {
		if match, err = MatchCells(base, axes, matchBy, costmatch.LastExit); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := study.Create(dir, &study.Config{Kind: study.KindAblation, Base: "addad-cifar10-small", Recipe: "quick",
		Data: "synthetic", Fingerprint: "fp", Seeds: seeds, Threads: 1, Axes: axes, Match: match}, base, rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range Trials(axes, seeds, match) {
		costs, err := dir.Plan(cfg, tr)
		if err != nil {
			t.Fatal(err)
		}
		if reason, ok := skip[tr.Index]; ok {
			if reason != "" {
				if err := dir.WriteStatus(tr.Index, &study.Status{Key: tr.Key, Status: study.StatusFailed, Reason: reason}); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		cell, seed := tr.Index/2, tr.Index%2
		st := &study.Status{Key: tr.Key, Status: study.StatusFinished}
		for k, c := range costs {
			st.Exits = append(st.Exits, study.ExitResult{Exit: k + 1, MACs: c.MACs, Params: c.Params, Top1: top1[cell][seed] - float64(len(costs)-1-k)})
		}
		if err := dir.WriteStatus(tr.Index, st); err != nil {
			t.Fatal(err)
		}
		first, last := float64(costs[0].MACs), float64(costs[len(costs)-1].MACs)
		rep := map[string]any{"budgeted": map[string]any{"settings": []any{
			map[string]any{"test": map[string]any{"top1_percent": top1[cell][seed] - 3, "expected_cost": map[string]float64{"reference": first}}},
			map[string]any{"test": map[string]any{"top1_percent": top1[cell][seed], "expected_cost": map[string]float64{"reference": last}}},
		}}}
		b, _ := json.Marshal(rep)
		if err := os.MkdirAll(dir.TrialPath(tr.Index, study.RunDir, "eval"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir.TrialPath(tr.Index, study.RunDir, "eval", "report.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func effectOf(res *Result, response string, factors ...string) Effect {
	for _, e := range res.Effects {
		if e.Response == response && strings.Join(e.Factors, "x") == strings.Join(factors, "x") {
			return e
		}
	}
	return Effect{}
}

func TestAnalyzeEffects(t *testing.T) {
	// Cells in grid order: (msdnet, msdnet), (msdnet, paper), (dense, msdnet), (dense, paper).
	top1 := [4][2]float64{{80, 81}, {78, 78}, {82, 84}, {81, 82}}
	res, err := Analyze(fakeStudy(t, top1, nil))
	if err != nil {
		t.Fatal(err)
	}
	// Per seed: fusion ((82-80)+(81-78))/2 = 2.5 and ((84-81)+(82-78))/2 = 3.5; stem
	// ((78-80)+(81-82))/2 = -1.5 and -2.5; interaction 81-82-78+80 = 1 and 82-84-78+81 = 1.
	sd := math.Sqrt(0.5)
	approx := cmpopts.EquateApprox(0, 1e-9)
	for _, tc := range []struct {
		factors []string
		want    Stat
	}{
		{[]string{"fusion"}, Stat{Mean: 3, SD: sd, N: 2}},
		{[]string{"stem"}, Stat{Mean: -2, SD: sd, N: 2}},
		{[]string{"fusion", "stem"}, Stat{Mean: 1, SD: 0, N: 2}},
	} {
		got := effectOf(res, ResponseLastTop1, tc.factors...).Stat
		if diff := cmp.Diff(tc.want, got, approx); diff != "" {
			t.Errorf("%v effect on last-exit top-1 (-want +got):\n%s", tc.factors, diff)
		}
	}
	if v := res.Variants[2]; v.Name != "fusion=dense stem=msdnet" || v.Exits[3].Top1.Mean != 83 || v.Finished != 2 {
		t.Errorf("variant 2 = %s, last exit %+v, finished %d", v.Name, v.Exits[3].Top1, v.Finished)
	}
	// Matched budgets start at the dearest first exit (a stem=msdnet variant), so the
	// cheap stem=paper variants are compared at their last exit's accuracy there.
	if len(res.MatchedBudgets) == 0 || res.MatchedBudgets[0] < float64(res.Variants[0].Exits[0].MACs) {
		t.Errorf("matched budgets %v start below the dearest first exit %d", res.MatchedBudgets, res.Variants[0].Exits[0].MACs)
	}
	paper := res.Variants[1].Responses[ResponseAnytimeMatched]
	if paper.Mean != 78 {
		t.Errorf("anytime at matched cost of a variant cheaper than every budget = %v, want its last exit's 78", paper.Mean)
	}
	cost := effectOf(res, ResponseLastMACs, "stem")
	if !(cost.Mean < 0) || cost.SD != 0 {
		t.Errorf("stem effect on cost = %+v, want a negative constant", cost)
	}
}

func TestAnalyzeFailedTrials(t *testing.T) {
	top1 := [4][2]float64{{80, 81}, {78, 78}, {82, 84}, {81, 82}}
	res, err := Analyze(fakeStudy(t, top1, map[int]string{3: "loss is NaN at epoch 2", 6: ""}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Failed {
		got = append(got, f.Status+": "+f.Reason)
	}
	want := []string{"failed: loss is NaN at epoch 2", "unfinished: never ended (killed, or not run yet)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed (-want +got):\n%s", diff)
	}
	// Seed 1 lacks cell 1 and seed 0 lacks cell 3: no seed has every cell, so no effect
	// has a value, and the variants keep what finished.
	if e := effectOf(res, ResponseLastTop1, "fusion"); e.N != 0 {
		t.Errorf("fusion effect over incomplete seeds = %+v, want N = 0", e)
	}
	if v := res.Variants[1]; v.Finished != 1 || v.Exits[3].Top1.N != 1 {
		t.Errorf("variant 1: finished %d, last exit %+v", v.Finished, v.Exits[3].Top1)
	}
	var b strings.Builder
	if err := res.WriteJSON(&b); err != nil {
		t.Fatalf("ablation.json of an incomplete study: %v", err)
	}
	// One seed gives no standard deviation: ablation.csv leaves it empty.
	b.Reset()
	if err := res.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, res.Variants[1].Name+",") && strings.Contains(l, ",4,") {
			row = l
		}
	}
	if !strings.HasSuffix(row, ",78,,1") {
		t.Errorf("ablation.csv row of variant 1's last exit %q, want top1 78, no sd, 1 seed", row)
	}
}

// TestMatchedStudy scales the fusion × stem cells to the baseline's last-exit cost and
// checks that the trials train the scaled specs and that the result reports them.
func TestMatchedStudy(t *testing.T) {
	dir := fakeStudyMatched(t, [4][2]float64{{80, 81}, {79, 80}, {82, 83}, {81, 82}}, nil, "channels")
	cfg, err := dir.ReadConfig()
	if err != nil {
		t.Fatal(err)
	}
	var values []int
	for i, c := range cfg.Match.Cells {
		values = append(values, c.Value)
		if !c.Within || c.From != 16 {
			t.Errorf("cell %s: %+v", c.Cell, c)
		}
		tr, err := dir.ReadTrial(2 * i)
		if err != nil {
			t.Fatal(err)
		}
		if last := tr.Sets[len(tr.Sets)-1]; last != "channels="+strconv.Itoa(c.Value) {
			t.Errorf("trial %d: last override %q, want channels=%d", 2*i, last, c.Value)
		}
		costs, err := dir.ReadCost(2 * i)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(costs[len(costs)-1].MACs); got != c.Cost || math.Abs(got-cfg.Match.Target) > 0.02*cfg.Match.Target {
			t.Errorf("cell %s: trial's last-exit MACs %g, matched %g, target %g", c.Cell, got, c.Cost, cfg.Match.Target)
		}
	}
	if diff := cmp.Diff([]int{16, 53, 14, 52}, values); diff != "" {
		t.Errorf("channels per cell (-want +got):\n%s", diff)
	}
	res, err := Analyze(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Match == nil || res.Variants[1].Scaled == nil || res.Variants[1].Scaled.Value != 53 {
		t.Fatalf("result does not carry the matching: %+v", res.Match)
	}
	var csv strings.Builder
	if err := res.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(csv.String(), "\n")
	if lines[0] != "variant,fusion,stem,channels,exit,macs,params,top1_mean,top1_sd,seeds" ||
		!strings.HasPrefix(lines[5], "fusion=msdnet stem=paper,msdnet,paper,53,1,") {
		t.Errorf("CSV:\n%s", csv.String())
	}
}

func TestLoadRejectsUnknownFields(t *testing.T) {
	dir := study.Dir(t.TempDir())
	if err := os.WriteFile(dir.Path(study.AblationJSON), []byte(`{"study": "s", "variant": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `unknown field "variant"`) {
		t.Errorf("Load: %v, want an unknown-field error", err)
	}
	if _, err := Load(study.Dir(t.TempDir())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load without ablation.json: %v, want os.ErrNotExist", err)
	}
}
