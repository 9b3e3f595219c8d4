package ablation

import (
	"context"
	"fmt"
	"strings"

	"github.com/msdx/msdx/runner"
	"github.com/msdx/msdx/study"
)

// Driver runs an ablation study: it trains and evaluates every trial of the grid through
// an executor, analyses the study and saves the result. It is the ablation's counterpart
// of search.Driver.
type Driver struct {
	// Dir is the study directory and Config its configuration, as study.Create returned
	// them.
	Dir    study.Dir
	Config *study.Config
	// Log, when not nil, receives one line per event for people.
	Log func(string)

	planned []int // the trials' indices, once Plan has written them
}

// Plan writes every trial of the grid into the study directory (study.Dir.Plan), so
// that a cell that cannot build fails the study before anything trains. Run calls it
// when it has not been called.
func (d *Driver) Plan() error {
	cfg := d.Config
	trials := Trials(cfg.Axes, cfg.Seeds, cfg.Match)
	var bad []string
	indices := make([]int, len(trials))
	for i, t := range trials {
		indices[i] = t.Index
		if _, err := d.Dir.Plan(cfg, t); err != nil {
			bad = append(bad, fmt.Sprintf("trial %s (%s): %v", study.TrialID(t.Index), Cell{Labels: t.Labels}.Name(), err))
		}
	}
	if bad != nil {
		return fmt.Errorf("%d of %d trials cannot be built; nothing was trained:\n  %s", len(bad), len(trials), strings.Join(bad, "\n  "))
	}
	d.planned = indices
	return nil
}

// Run plans the trials (Plan) unless done, runs through exec (runner.Run) the trials not
// finished with their current key, analyses the study (Analyze) and saves the result
// (Save). Trials that did not finish are in the summary and the result's Failed, not an
// error. When ctx is cancelled it returns ctx.Err() once the trials have stopped; rerun
// to resume.
func (d *Driver) Run(ctx context.Context, exec runner.Executor) (*Result, *runner.Summary, error) {
	if d.planned == nil {
		if err := d.Plan(); err != nil {
			return nil, nil, err
		}
	}
	sum, err := runner.Run(ctx, d.Dir, exec, d.planned, d.Log)
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := Analyze(d.Dir)
	if err != nil {
		return nil, nil, err
	}
	if err := Save(d.Dir, res); err != nil {
		return nil, nil, err
	}
	return res, sum, nil
}
