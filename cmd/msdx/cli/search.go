package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/search"
)

// SearchOptions are the inputs of "msdx search".
type SearchOptions struct {
	IO    *IOStreams
	Space string
	// NoTrain reports the cost front without training.
	NoTrain bool
	// Sampler is auto, grid, random or nsga2.
	Sampler string
	// Trials is the number of candidates sampled (random, nsga2) or trained.
	Trials int
	// Limit bounds the grid.
	Limit int
	Seed  uint64
	// Front lists the objectives of the cost front, comma-separated.
	Front string
	// TargetRange is "LO:HI" in MACs; Tolerance is relative.
	TargetRange string
	Tolerance   float64
	// All lists every feasible candidate instead of the front.
	All  bool
	JSON bool

	// Training mode: the objectives, ASHA's rungs (epochs) and promotion ratio, the
	// study directory, the data, the recipe and its overrides.
	Objectives string
	Rungs      string
	Eta        int
	Study      string
	Data       string
	Recipe     string
	RecipeSets []string
	ExecutorOptions
	// Context, when not nil, replaces the signal-cancelled context (for tests).
	Context context.Context
}

func newCmdSearch(ios *IOStreams) *cobra.Command {
	opts := &SearchOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "search SPACE.toml [--no-train] [--trials N] [--study DIR]",
		Short: "Search a space of specs under cost constraints",
		Long: `Search the space of specs that SPACE.toml describes: a base spec, the fields to vary
(choices, integer and real ranges) and constraints on the analytic per-exit cost (see
"go doc github.com/msdx/msdx/search" for the file format). Every candidate's cost is
known before training: candidates that do not build or that break a constraint are
infeasible and never train. A candidate's spec is the base (with the space's fixed
sets) in canonical form, every field explicit, with the candidate's overrides: the
spec a study with that base.toml trains.

Training (the default) trains --trials trials on the runner's executors, as "msdx
ablate" does (--executor local or slurm, --jobs, --threads; see "msdx ablate --help"),
in a study directory (--study, default studies/search-SPACE) with --recipe on --data.
--sampler asha (the default) runs asynchronous successive halving over the --rungs
(epochs, e.g. 1,3,9; every trial trains its candidate from scratch for its rung's
epochs): a free slot promotes a candidate in the top 1/--eta of its rung, ranked by
non-dominated sorting and crowding on the --objectives, or else starts the next
feasible candidate (a fixed random order from --seed) at the first rung. A candidate
whose optimistic bound (its objectives now, improved by the largest gain any
candidate has shown from its rung to the last) is dominated by the last rung's front is
pruned: at its known cost, its accuracy cannot reach the front. --sampler random
trains --trials candidates of the same order at the last rung's epochs only. Training
objectives: last_top1, mean_top1, anytime_auc, budget_auc (the budgeted curve of the
trial's evaluation), with the cost ones above. A rung shorter than the recipe's cosine
warm-up trains with schedule.warmup_epochs=EPOCHS-1 (0 for one epoch), recorded in
the trial's recipe_sets. Every trial trains with seed 0.

Rerunning the same command resumes from the study: finished trials are not run again,
and the search's decisions, which depend only on the trials already planned and their
results, carry on where they stopped. The result, search.json in the study directory,
is {space, base, objectives: ["max:NAME"|"min:NAME"], rungs, eta, budget, trials:
[{index, candidate, rung, epochs, sets, spec_hash, spec (the trial's spec.toml,
relative to the study), status, exits: [{exit, macs, params, top1_percent}],
objectives (in the listed order and direction), pruned}], front (the indices of the
trials on the Pareto front of the last rung), hypervolume, reference}: the hypervolume
is taken in the minimised objectives (accuracies negated) against reference, the
worst value of each over the finished trials pushed out by 1% of its range. The front
is printed as a table, or search.json with --json. Ctrl-C stops the trials with
resumable checkpoints (exit code 130).

--no-train reports the cost front at once: the candidates no other feasible candidate
beats on the --front objectives (default last_macs,max:exits: cheapest last exit for
the most exits). Objectives known before training: last_macs, mean_macs, first_macs,
params, exits; a "min:" or "max:" prefix sets the direction. --target-range LO:HI keeps
the candidates whose first exit costs LO and whose last exit costs HI MACs, each within
--tolerance (relative), e.g. the paper's 0.25-0.64 x10^8 MACs: --target-range
0.25e8:0.64e8. --all lists every feasible candidate left instead of the front.
--sampler grid enumerates the space (reals at their levels) up to --limit candidates;
random draws --trials candidates with --seed; nsga2 runs NSGA-II on the --front
objectives, --trials evaluations in generations of 100; auto (the default) is grid when
the grid has at most --limit candidates, else random. On a terminal the front is a
table with SI units; piped output is tab-separated with exact integers, after a line
starting with "# " that names it; --json prints
one object with every front member's overrides, spec hash, per-exit MACs and
parameters.

Exit codes: 0 done, 1 error (or some trial failed: the front shows the rest), 2 bad
command line, 130 interrupted.`,
		Example: `  msdx search examples/search/msdnet-cifar10.toml --no-train
  msdx search examples/search/msdnet-cifar10.toml --no-train --target-range 0.25e8:0.64e8 --front last_macs,params
  msdx search examples/search/msdnet-cifar10.toml --no-train --sampler nsga2 --trials 2000 --seed 1 --json
  msdx search examples/search/msdnet-cifar10.toml --trials 24 --rungs 1,3,9 --jobs 1 --threads 1 --study studies/search-asha
  msdx search examples/search/msdnet-cifar10.toml --sampler random --trials 8 --rungs 9 --study studies/search-random
  msdx search examples/search/msdnet-cifar10.toml --data imagefolder:../shared/data/cifar10-jpeg.tar.gz --executor slurm --jobs 8 --time 2:00:00`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Space = args[0]
			if !opts.NoTrain {
				if !cmd.Flags().Changed("trials") {
					opts.Trials = 24
				}
				opts.Given = cmd.Flags().Changed
				return searchTrainCheck(opts)
			}
			switch opts.Sampler {
			case "auto", "grid", "random", "nsga2":
			default:
				return usageError{fmt.Errorf("--sampler %q: want auto, grid, random or nsga2", opts.Sampler)}
			}
			if opts.Trials < 1 || opts.Limit < 1 {
				return usageError{fmt.Errorf("--trials and --limit must be positive")}
			}
			if opts.Tolerance < 0 || opts.Tolerance >= 1 {
				return usageError{fmt.Errorf("--tolerance %g: want a fraction in [0, 1)", opts.Tolerance)}
			}
			return searchCostRun(opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.NoTrain, "no-train", false, "report the cost front without training")
	f.StringVar(&opts.Sampler, "sampler", "auto", "training: asha (auto) or random; --no-train: auto, grid, random or nsga2")
	f.IntVar(&opts.Trials, "trials", 1000, "trials to train (default 24), or candidates to sample with --no-train (random, nsga2)")
	f.IntVar(&opts.Limit, "limit", 100000, "most candidates the grid enumerates")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed of the samplers")
	f.StringVar(&opts.Front, "front", "last_macs,max:exits", "objectives of the front, comma-separated")
	f.StringVar(&opts.TargetRange, "target-range", "", "keep candidates whose exits span `LO:HI` MACs")
	f.Float64Var(&opts.Tolerance, "tolerance", 0.1, "relative tolerance of --target-range")
	f.BoolVar(&opts.All, "all", false, "list every feasible candidate, not only the front")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	f.StringVar(&opts.Objectives, "objectives", "anytime_auc,last_macs", "objectives of a training search, comma-separated")
	f.StringVar(&opts.Rungs, "rungs", "1,3,9", "ASHA's rungs: `EPOCHS`, increasing, comma-separated")
	f.IntVar(&opts.Eta, "eta", 3, "ASHA's promotion ratio: the top 1/`N` of a rung is promoted")
	f.StringVar(&opts.Study, "study", "", "the study `DIR` (default: studies/search-SPACE)")
	f.StringVar(&opts.Data, "data", "synthetic", "dataset `KIND:PATH`")
	f.StringVar(&opts.Recipe, "recipe", "quick", "recipe preset or file")
	f.StringArrayVar(&opts.RecipeSets, "recipe-set", nil, "override a recipe field, `path=value` (repeatable)")
	opts.ExecutorOptions.addFlags(cmd)
	return cmd
}

func parseTargetRange(text string) (lo, hi float64, err error) {
	a, b, ok := strings.Cut(text, ":")
	if ok {
		lo, err = strconv.ParseFloat(strings.TrimSpace(a), 64)
	}
	if ok && err == nil {
		hi, err = strconv.ParseFloat(strings.TrimSpace(b), 64)
	}
	if !ok || err != nil || !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return 0, 0, fmt.Errorf("--target-range %q: want LO:HI in MACs with 0 < LO <= HI, e.g. 0.25e8:0.64e8", text)
	}
	return lo, hi, nil
}

func searchCostRun(opts *SearchOptions) error {
	objs, err := search.ParseObjectives(opts.Front)
	if err != nil {
		return usageError{fmt.Errorf("--front: %w", err)}
	}
	for _, o := range objs {
		if !o.CostOnly {
			return usageError{fmt.Errorf("--front: %s needs training; with --no-train use last_macs, mean_macs, first_macs, params or exits", o.Name)}
		}
	}
	cs := &search.CostSearch{Sampler: opts.Sampler, Limit: opts.Limit, Trials: opts.Trials, Seed: opts.Seed,
		Objectives: objs, Tolerance: opts.Tolerance, All: opts.All}
	if opts.TargetRange != "" {
		if cs.TargetLo, cs.TargetHi, err = parseTargetRange(opts.TargetRange); err != nil {
			return usageError{err}
		}
	}
	if cs.Space, err = search.LoadSpace(opts.Space); err != nil {
		return err
	}
	rep, err := cs.Run()
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printSearchCost(opts.IO, rep, opts.All)
}

func printSearchCost(ios *IOStreams, rep *search.CostReport, all bool) error {
	format := func(n int64) string { return strconv.FormatInt(n, 10) }
	if ios.IsTerminal {
		format = tableprinter.Human
	}
	what := "front over " + strings.Join(rep.Objectives, ", ")
	if all {
		what = "every feasible candidate"
	}
	printTitle(ios, "%s: %d candidates costed (%s) in %.2fs: %d feasible, %d do not build, %d in range; %s: %d",
		rep.Space, rep.Evaluated, rep.Sampler, rep.Seconds, rep.Feasible, rep.Unbuildable, rep.InRange, what, len(rep.Candidates))
	tp := tableprinter.New(ios.Out, ios.IsTerminal)
	header := append([]string(nil), rep.Params...)
	if rep.MatchedBy != "" {
		header = append(header, rep.MatchedBy+" (placed)")
	}
	n := len(header)
	header = append(header, "exits", "first MACs", "last MACs", "params", "exit MACs")
	tp.AlignRight(n, n+1, n+2, n+3)
	tp.AddRow(header...)
	for _, c := range rep.Candidates {
		row := append([]string(nil), c.Values...)
		if rep.MatchedBy != "" {
			row = append(row, strconv.Itoa(c.Placed))
		}
		last := c.Exits[len(c.Exits)-1]
		var each []string
		for _, e := range c.Exits {
			each = append(each, format(e.MACs))
		}
		row = append(row, strconv.Itoa(len(c.Exits)), format(c.Exits[0].MACs), format(last.MACs), format(last.Params), strings.Join(each, " "))
		tp.AddRow(row...)
	}
	return tp.Render()
}
