// Package trial is the worker that every executor of a study runs ("msdx trial run"):
// it trains, or resumes, one trial of a study directory, evaluates it, and writes the
// trial's status.json at the end, atomically: "finished" with the per-exit cost and test
// top-1, or "failed" with the reason. It writes only inside the trial's directory
// (study.Dir.TrialPath), so a shared filesystem is all a cluster needs, and it holds
// the trial directory's lock (package dirlock) while it works.
package trial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/study"
	"github.com/msdx/msdx/train"
)

// LockName is the name under which Run locks a trial directory.
const LockName = "msdx trial run"

// EvalBatch is the batch size of a trial's evaluation.
const EvalBatch = 256

// Options say which trial Run works on and how.
type Options struct {
	// Study is the study directory and Index the trial's index in it.
	Study study.Dir
	Index int
	// Threads is the number of kernel threads.
	Threads int
	// Version is the msdx version recorded in the trial's run.
	Version string
	// Log receives the worker's notes and the training progress (the trial's
	// worker.log, when an executor runs it).
	Log io.Writer
	// EvalProgress, when not nil, is told how the evaluation's passes go, and Evaluated,
	// when not nil, receives the evaluation once it is saved.
	EvalProgress evaluate.Progress
	Evaluated    func(*evaluate.RunReport)
}

// Run works on the trial: it returns the status it wrote, or nil when the trial had
// finished before with its current key (nothing is done then). A trial that fails
// writes a "failed" status and returns the error too. When ctx is cancelled, training
// stops after the current batch with a resumable checkpoint and Run returns an error
// wrapping train.ErrInterrupted without writing a status: the trial is unfinished, and
// the next Run resumes it. Two Runs on one trial are refused (dirlock).
func Run(ctx context.Context, opts Options) (*study.Status, error) {
	dir := opts.Study
	cfg, err := dir.ReadConfig()
	if err != nil {
		return nil, err
	}
	t, err := dir.ReadTrial(opts.Index)
	if err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(dir.TrialPath(t.Index), LockName)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if done, err := dir.Done(t); err != nil {
		return nil, err
	} else if done {
		return nil, nil
	}
	// A status left by an earlier attempt (failed, or for another key) would describe
	// this attempt if it were killed: remove it.
	if err := os.Remove(dir.TrialPath(t.Index, study.StatusFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	host, _ := os.Hostname()
	st := &study.Status{Key: t.Key, Started: time.Now().UTC(), Host: host, PID: os.Getpid(), Threads: opts.Threads}
	err = work(ctx, opts, cfg, t, st)
	if errors.Is(err, train.ErrInterrupted) {
		return nil, err
	}
	st.Ended = time.Now().UTC()
	st.Seconds = st.Ended.Sub(st.Started).Seconds()
	st.Status = study.StatusFinished
	if err != nil {
		st.Status, st.Reason, st.Exits = study.StatusFailed, err.Error(), nil
	}
	if werr := dir.WriteStatus(t.Index, st); werr != nil {
		return nil, werr
	}
	return st, err
}

// work trains (or resumes) and evaluates trial t, filling st.Exits.
func work(ctx context.Context, opts Options, cfg *study.Config, t *study.Trial, st *study.Status) error {
	dir := opts.Study
	runDir := dir.TrialPath(t.Index, study.RunDir)
	sess := train.Session{
		Threads:  opts.Threads,
		Progress: train.NewTextProgress(opts.Log, 0),
		Log:      func(s string) { fmt.Fprintln(opts.Log, "msdx:", s) },
		// An executor resumes a trial on whichever node it gets, with no one to pass
		// --force: a trial continues on another kernel path, with the note in its log and
		// the session in run.json, rather than failing.
		ForceKernels: true,
	}
	r, err := train.OpenRun(runDir)
	switch {
	case err == nil && r.Info.SpecHash == t.Key.SpecHash && r.Info.Fingerprint == t.Key.Fingerprint &&
		study.RecipeHash(r.Recipe.Canonical()) == t.Key.RecipeHash:
		if r.Info.Status != train.StatusFinished {
			sess.Log(fmt.Sprintf("resuming %s (%s after %d of %d epochs)", runDir, r.Info.Status, r.Info.EpochsDone, r.Info.Epochs))
			if r, err = train.Resume(ctx, runDir, opts.Version, sess); err != nil {
				return err
			}
		}
	default:
		// No run yet, one killed before it wrote run.json, or one of another key: start over.
		if err := os.RemoveAll(runDir); err != nil {
			return err
		}
		r, err = train.Train(ctx, train.Options{
			Spec: dir.TrialPath(t.Index, study.SpecFile), Data: cfg.Data,
			Recipe: dir.Path(study.RecipeFile), RecipeSets: append(append([]string(nil), t.RecipeSets...), "seed="+strconv.FormatInt(t.Key.Seed, 10)),
			Epochs: t.Epochs, Out: runDir, Version: opts.Version, Session: sess,
		})
		if err != nil {
			return err
		}
	}
	if got := (study.Key{SpecHash: r.Info.SpecHash, RecipeHash: study.RecipeHash(r.Recipe.Canonical()),
		Fingerprint: r.Info.Fingerprint, Seed: r.Info.Seed}); got != t.Key {
		return fmt.Errorf("the run trained %+v, not the trial's %+v", got, t.Key)
	}
	res, err := r.Test()
	if err != nil {
		return fmt.Errorf("trial needs test results: %w", err)
	}
	costs, err := dir.ReadCost(t.Index)
	if err != nil {
		return err
	}
	if len(costs) != len(res.Final) {
		return fmt.Errorf("%s has %d exits, the test results %d", study.CostFile, len(costs), len(res.Final))
	}
	rep, err := evaluate.EvaluateRun(runDir, evaluate.RunOptions{Split: "test", Weights: "final", Batch: EvalBatch, Progress: opts.EvalProgress})
	if err != nil {
		return fmt.Errorf("evaluating: %w", err)
	}
	if opts.Evaluated != nil {
		opts.Evaluated(rep)
	}
	for k, m := range res.Final {
		st.Exits = append(st.Exits, study.ExitResult{Exit: k + 1, MACs: costs[k].MACs, Params: costs[k].Params, Top1: 100 * m.Top1})
	}
	return nil
}
