package search

import (
	"context"

	"github.com/msdx/msdx/runner"
	"github.com/msdx/msdx/study"
)

// RunnerExecutor runs a driver's trials on one of the runner's executors (local
// subprocesses or Slurm) through runner.Run, which skips finished trials and journals
// every start and end.
type RunnerExecutor struct {
	Exec runner.Executor
	// Log, when not nil, receives runner.Run's lines.
	Log func(string)
}

// Run runs the trials of indices and returns when all have ended. Trials that fail are
// not an error: their status says so.
func (r RunnerExecutor) Run(ctx context.Context, dir study.Dir, indices []int) error {
	_, err := runner.Run(ctx, dir, r.Exec, indices, r.Log)
	return err
}
