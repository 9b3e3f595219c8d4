package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/study"
	"github.com/msdx/msdx/train"
)

// TrialOptions are the inputs of "msdx trial run".
type TrialOptions struct {
	IO      *IOStreams
	Study   string
	Index   int
	Threads int
	// Context, when not nil, replaces the signal-cancelled context (for tests).
	Context context.Context
}

func newCmdTrial(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "trial",
		Short:   "Work on one trial of a study (the worker that every executor runs)",
		Example: `  msdx trial run --study studies/fusion-stem --index 3`,
		Args:    exactArgs(0),
	}
	cmd.AddCommand(newCmdTrialRun(ios))
	return cmd
}

func newCmdTrialRun(ios *IOStreams) *cobra.Command {
	opts := &TrialOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "run --study DIR [--index N]",
		Short: "Train and evaluate one trial of a study",
		Long: `Train and evaluate trial N of the study in DIR, as "msdx ablate" and "msdx search"
planned it, writing only inside DIR/trials/NNNN/: the training run (run/), its evaluation
(run/eval/), and at the end status.json, atomically: "finished" with the per-exit cost
and test top-1, or "failed" with the reason.

The index comes from --index, or else from SLURM_ARRAY_TASK_ID, so that a Slurm array
task runs its trial. A trial that has finished with its current key is left alone; an
unfinished one resumes from its last checkpoint. Two workers on one trial are refused
(the trial directory is locked). Ctrl-C or SIGTERM stops after the current batch with a
resumable checkpoint (exit code 130).

Exit codes: 0 finished, 1 failed, 2 bad command line, 130 interrupted.`,
		Example: `  msdx trial run --study studies/fusion-stem --index 3
  SLURM_ARRAY_TASK_ID=3 msdx trial run --study studies/fusion-stem`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("index") {
				env := os.Getenv("SLURM_ARRAY_TASK_ID")
				if env == "" {
					return usageError{errors.New("give --index N (or run as a Slurm array task, with SLURM_ARRAY_TASK_ID)")}
				}
				i, err := strconv.Atoi(env)
				if err != nil {
					return usageError{fmt.Errorf("SLURM_ARRAY_TASK_ID=%q is not an index", env)}
				}
				opts.Index = i
			}
			if opts.Study == "" {
				return usageError{errors.New("--study DIR is required")}
			}
			if opts.Index < 0 {
				return usageError{fmt.Errorf("--index %d: want 0 or more", opts.Index)}
			}
			return trialRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Study, "study", "", "the study `DIR`")
	f.IntVar(&opts.Index, "index", 0, "the trial's index `N` (default: $SLURM_ARRAY_TASK_ID)")
	f.IntVar(&opts.Threads, "threads", 1, "use `N` kernel threads")
	return cmd
}

func trialRun(opts *TrialOptions) error {
	ctx, stop := interruptContext(opts.Context)
	defer stop()
	dir := study.Dir(opts.Study)
	cfg, err := dir.ReadConfig()
	if err != nil {
		return err
	}
	t, err := dir.ReadTrial(opts.Index)
	if err != nil {
		return err
	}
	lock, err := dirlock.Acquire(dir.TrialPath(t.Index), "msdx trial run")
	if err != nil {
		return err
	}
	defer lock.Release()
	if done, err := dir.Done(t); err != nil {
		return err
	} else if done {
		fmt.Fprintf(opts.IO.ErrOut, "msdx: trial %s has finished before\n", study.TrialID(t.Index))
		return nil
	}
	// A status left by an earlier attempt (failed, or for another key) would describe
	// this attempt if it were killed: remove it.
	if err := os.Remove(dir.TrialPath(t.Index, study.StatusFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	host, _ := os.Hostname()
	st := &study.Status{Key: t.Key, Started: time.Now().UTC(), Host: host, PID: os.Getpid(), Threads: opts.Threads}
	err = trialWork(ctx, opts, dir, cfg, t, st)
	if errors.Is(err, train.ErrInterrupted) {
		// No status: the trial is unfinished, and the next run resumes it.
		return exitCodeError{err, ExitInterrupted}
	}
	st.Ended = time.Now().UTC()
	st.Seconds = st.Ended.Sub(st.Started).Seconds()
	st.Status = study.StatusFinished
	if err != nil {
		st.Status, st.Reason, st.Exits = study.StatusFailed, err.Error(), nil
	}
	if werr := dir.WriteStatus(t.Index, st); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "msdx: trial %s finished in %s\n", study.TrialID(t.Index), time.Duration(st.Seconds*float64(time.Second)).Round(time.Second))
	return nil
}

// trialWork trains (or resumes) and evaluates trial t, filling st.Exits.
func trialWork(ctx context.Context, opts *TrialOptions, dir study.Dir, cfg *study.Config, t *study.Trial, st *study.Status) error {
	runDir := dir.TrialPath(t.Index, study.RunDir)
	sess := train.Session{
		Threads:  opts.Threads,
		Progress: train.NewTextProgress(opts.IO.ErrOut, 0),
		Log:      func(s string) { fmt.Fprintln(opts.IO.ErrOut, "msdx:", s) },
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
			if r, err = train.Resume(ctx, runDir, versionInfo().Version, sess); err != nil {
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
			Epochs: t.Epochs, Out: runDir, Version: versionInfo().Version, Session: sess,
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
	evalOpts := &EvalOptions{IO: &IOStreams{Out: opts.IO.ErrOut, ErrOut: opts.IO.ErrOut}, RunDir: runDir,
		Split: "test", Weights: "final", Batch: 256}
	if err := evalRun(evalOpts); err != nil {
		return fmt.Errorf("evaluating: %w", err)
	}
	for k, m := range res.Final {
		st.Exits = append(st.Exits, study.ExitResult{Exit: k + 1, MACs: costs[k].MACs, Params: costs[k].Params, Top1: 100 * m.Top1})
	}
	return nil
}
