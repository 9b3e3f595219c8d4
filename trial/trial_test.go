package trial

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msdx/msdx/ablation"
	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/study"
	"github.com/msdx/msdx/train"
)

// newStudy makes a two-trial study of msdnet-cifar10-small (growth 4 and 6), one epoch on a small
// synthetic set, planned as msdx ablate plans its trials.
func newStudy(t *testing.T) study.Dir {
	t.Helper()
	base, err := spec.Preset("msdnet-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := recipe.ResolveOverrides("quick", recipe.Overrides{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open("synthetic:train=320,test=100", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	axes, err := ablation.ParseAxes([]string{"growth=4,6"}, base)
	if err != nil {
		t.Fatal(err)
	}
	dir := study.Dir(filepath.Join(t.TempDir(), "study"))
	cfg, err := study.Create(dir, &study.Config{Kind: study.KindAblation, Base: base.Name, Recipe: "quick",
		Data: ds.Ref, Fingerprint: ds.Fingerprint, Seeds: []int64{0}, Threads: 1, Axes: axes}, base, rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range ablation.Trials(axes, cfg.Seeds, nil) {
		if _, err := dir.Plan(cfg, tr); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRun trains and evaluates a trial, then leaves it alone when run again.
func TestRun(t *testing.T) {
	dir := newStudy(t)
	var log bytes.Buffer
	evaluated := 0
	opts := Options{Study: dir, Index: 0, Threads: 1, Version: "test", Log: &log,
		Evaluated: func(*evaluate.RunReport) { evaluated++ }}
	st, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if st == nil || st.Status != study.StatusFinished || len(st.Exits) != 4 || evaluated != 1 {
		t.Fatalf("status %+v after %d evaluations", st, evaluated)
	}
	written, err := dir.ReadStatus(0)
	if err != nil || written == nil || written.Status != study.StatusFinished {
		t.Fatalf("status.json: %+v, %v", written, err)
	}
	if _, err := evaluate.Load(evaluate.Dir(dir.TrialPath(0, study.RunDir), "final", "test")); err != nil {
		t.Errorf("the trial's evaluation: %v", err)
	}
	if !strings.Contains(log.String(), "epoch 1") {
		t.Errorf("the log has no training progress:\n%s", log.String())
	}
	again, err := Run(context.Background(), opts)
	if err != nil || again != nil || evaluated != 1 {
		t.Errorf("second Run: status %+v, %v, %d evaluations; want nothing done", again, err, evaluated)
	}
}

// TestRunInterrupted stops a trial before it trains: no status, and the error says so.
func TestRunInterrupted(t *testing.T) {
	dir := newStudy(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var log bytes.Buffer
	st, err := Run(ctx, Options{Study: dir, Index: 0, Threads: 1, Version: "test", Log: &log})
	if !errors.Is(err, train.ErrInterrupted) || st != nil {
		t.Fatalf("Run with a cancelled context: %+v, %v; want train.ErrInterrupted", st, err)
	}
	if s, err := dir.ReadStatus(0); err != nil || s != nil {
		t.Errorf("status.json of an interrupted trial: %+v, %v; want none", s, err)
	}
}
