package search

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/study"
)

// fakeExecutor "trains" a trial by writing a status whose accuracy grows with the
// candidate's MACs and saturates with the epochs, as training would, deterministically.
type fakeExecutor struct {
	ran []int
	// failAfter, when positive, makes Run fail once that many trials have run, leaving
	// the rest of the wave without a status (a killed search).
	failAfter int
}

var errKilled = errors.New("killed")

func (f *fakeExecutor) Run(ctx context.Context, dir study.Dir, indices []int) error {
	for _, i := range indices {
		if f.failAfter > 0 && len(f.ran) >= f.failAfter {
			return errKilled
		}
		t, err := dir.ReadTrial(i)
		if err != nil {
			return err
		}
		var cost Cost
		if err := readJSONFile(dir.TrialPath(i, study.CostFile), &cost); err != nil {
			return err
		}
		st := &study.Status{Key: t.Key, Status: study.StatusFinished}
		// A quality in [0.6, 1) from the spec hash stands for everything but the cost.
		q := 0.6 + 0.4*float64(cost.Hash[0]%16)/16
		for _, e := range cost.Exits {
			top1 := 100 * q * (1 - math.Exp(-float64(t.Epochs))) * (1 - math.Exp(-float64(e.MACs)/8e6))
			st.Exits = append(st.Exits, study.ExitResult{Exit: e.Exit, MACs: e.MACs, Params: e.Params, Top1: math.Round(top1*100) / 100})
		}
		if err := dir.WriteStatus(i, st); err != nil {
			return err
		}
		f.ran = append(f.ran, i)
	}
	return nil
}

func newDriver(t *testing.T, dir string) *Driver {
	t.Helper()
	sp, err := LoadSpace("../examples/search/msdnet-cifar10.toml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ParseObjectives("anytime_auc,last_macs")
	if err != nil {
		t.Fatal(err)
	}
	return &Driver{Space: sp, Dir: study.Dir(dir), Config: &study.Config{Kind: study.KindSearch, RecipeHash: "r", Fingerprint: "f", Seeds: []int64{1}},
		Objectives: objs, Trials: 16, Rungs: []int{1, 3, 9}, Eta: 3, Jobs: 2, Seed: 5}
}

func TestDriver(t *testing.T) {
	dir := t.TempDir()
	exec := &fakeExecutor{}
	res, err := newDriver(t, dir).Run(context.Background(), exec)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 16 || len(exec.ran) != 16 {
		t.Fatalf("%d trials planned, %d run; want 16", len(res.Trials), len(exec.ran))
	}
	perRung := make([]int, 3)
	for _, tr := range res.Trials {
		perRung[tr.Rung]++
		if tr.Status != study.StatusFinished {
			t.Errorf("trial %d: status %q", tr.Index, tr.Status)
		}
	}
	t.Logf("trials per rung %v, front %v, hypervolume %g", perRung, res.Front, res.Hypervolume)
	if perRung[1] == 0 || perRung[2] == 0 || perRung[0] <= perRung[1] || perRung[1] < perRung[2] {
		t.Errorf("trials per rung %v: want successive halving (more at lower rungs, some at every rung)", perRung)
	}
	if len(res.Front) == 0 || res.Hypervolume <= 0 {
		t.Errorf("front %v, hypervolume %g", res.Front, res.Hypervolume)
	}
	for _, i := range res.Front {
		if res.Trials[i].Rung != 2 {
			t.Errorf("front member %d at rung %d, want the last", i, res.Trials[i].Rung)
		}
	}
	if _, err := os.Stat(study.Dir(dir).Path(SearchFile)); err != nil {
		t.Errorf("no %s: %v", SearchFile, err)
	}
}

// TestDriverResume kills a search after 5 trials and reruns it: no finished trial runs
// again, and the result is that of an uninterrupted search.
func TestDriverResume(t *testing.T) {
	want, err := newDriver(t, t.TempDir()).Run(context.Background(), &fakeExecutor{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := &fakeExecutor{failAfter: 5}
	if _, err := newDriver(t, dir).Run(context.Background(), first); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v, want the kill", err)
	}
	second := &fakeExecutor{}
	got, err := newDriver(t, dir).Run(context.Background(), second)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range second.ran {
		for _, j := range first.ran {
			if i == j {
				t.Errorf("trial %d ran again after the resume", i)
			}
		}
	}
	if len(first.ran)+len(second.ran) != 16 {
		t.Errorf("%d + %d trials ran, want 16 in all", len(first.ran), len(second.ran))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed search differs from an uninterrupted one (-want +got):\n%s", diff)
	}
	// A third run has nothing left to do.
	third := &fakeExecutor{}
	if _, err := newDriver(t, dir).Run(context.Background(), third); err != nil || len(third.ran) != 0 {
		t.Errorf("third run: %v, ran %v; want nothing", err, third.ran)
	}
}

// TestPruning checks the Pareto-aware pruning on a hand-made state with rungs of 1, 3
// and 9 epochs and objectives (accuracy, MACs): candidate 0 went from 60 to 70 at rung 1
// to 72 at the last rung, a gain of 2 from rung 1. Candidate 1 at rung 1 with 65 at more
// MACs than candidate 0 has the bound 67, dominated by (72, 10 M): it is pruned.
// Candidate 2 with 71 at rung 1 has the bound 73, which nothing dominates. Candidate 3,
// cheaper than anything at the last rung, cannot be dominated whatever its accuracy.
func TestPruning(t *testing.T) {
	d := newDriver(t, t.TempDir())
	objs, err := ParseObjectives("last_top1,last_macs")
	if err != nil {
		t.Fatal(err)
	}
	d.Objectives = objs
	tr := func(index, cand, rung int, top1, macs float64) *plannedTrial {
		return &plannedTrial{index: index, cand: cand, rung: rung, status: &study.Status{Status: study.StatusFinished}, obj: []float64{-top1, macs}}
	}
	trials := []*plannedTrial{
		tr(0, 0, 0, 60, 10e6), tr(1, 0, 1, 70, 10e6), tr(2, 0, 2, 72, 10e6),
		tr(3, 1, 1, 65, 20e6), tr(4, 2, 1, 71, 20e6), tr(5, 3, 1, 50, 5e6),
	}
	tests := []struct {
		trial int
		want  bool
	}{{3, true}, {4, false}, {5, false}}
	for _, tt := range tests {
		if got := d.dominatedBound(trials[tt.trial], trials); got != tt.want {
			t.Errorf("trial %d: dominated bound %v, want %v", tt.trial, got, tt.want)
		}
	}
	// Without a candidate that reached the last rung there is no bound.
	if d.dominatedBound(trials[3], append(trials[:2:2], trials[3:]...)) {
		t.Errorf("pruned without an observed gain")
	}
	// Promotion from rung 1 (4 finished there, so the top 4/3 = 1): candidate 2 ranks
	// first on the front (71 at 20 M is not dominated by 70 at 10 M, and is an extreme).
	promoted := map[[2]int]bool{{0, 1}: true}
	cand, rung, ok := d.promotion(trials, promoted, map[int]bool{}, nil)
	if !ok || cand != 2 || rung != 2 {
		t.Fatalf("promotion: candidate %d to rung %d (ok %v), want candidate 2 to rung 2", cand, rung, ok)
	}
}
