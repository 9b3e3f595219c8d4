package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/runner"
	"github.com/msdx/msdx/study"
	"github.com/msdx/msdx/train"
	"github.com/msdx/msdx/trial"
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
	log := opts.IO.ErrOut
	logIO := &IOStreams{Out: log, ErrOut: log}
	status := newStatusLine(logIO)
	st, err := trial.Run(ctx, trial.Options{
		Study: study.Dir(opts.Study), Index: opts.Index, Threads: opts.Threads, Version: versionInfo().Version, Log: log,
		EvalProgress: func(step string, done, total int) { status.Update(step, done, total, "images") },
		Evaluated: func(rep *evaluate.RunReport) {
			status.Done()
			if err := printEval(logIO, rep); err != nil {
				fmt.Fprintln(log, "msdx:", err)
			}
		},
	})
	switch {
	case errors.Is(err, train.ErrInterrupted):
		// No status: the trial is unfinished, and the next run resumes it.
		return exitCodeError{err, ExitInterrupted}
	case err != nil:
		return err
	case st == nil:
		fmt.Fprintf(log, "msdx: trial %s has finished before\n", study.TrialID(opts.Index))
		return nil
	}
	fmt.Fprintf(log, "msdx: trial %s finished in %s\n", study.TrialID(opts.Index), time.Duration(st.Seconds*float64(time.Second)).Round(time.Second))
	return nil
}

// trialWorker returns the runner.Worker that runs this binary's "trial run" command.
func trialWorker() (runner.Worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the msdx binary to run trials: %w", err)
	}
	return runner.Argv{exe, "trial", "run"}, nil
}
