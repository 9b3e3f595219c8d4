package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/ablation"
	"github.com/msdx/msdx/costmatch"
	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/dyneval"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/runner"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/study"
)

// ExecutorOptions choose and configure the executor of a study.
type ExecutorOptions struct {
	Executor string // local or slurm
	Jobs     int    // trials at once; 0: cores / threads (local), 4 (slurm)
	Threads  int    // kernel threads per trial
	// Oversubscribe allows more local threads than cores.
	Oversubscribe bool
	// Slurm settings (sbatch --partition, --time, --mem, --cpus-per-task).
	Partition, Time, Memory string
	CPUs                    int
	// Poll is how often the Slurm executor polls squeue; 0 is its default.
	Poll time.Duration
	// Worker, when not nil, replaces this binary's "trial run" (trialWorker; for tests), and
	// WorkerEnv is added to its environment.
	Worker    runner.Worker
	WorkerEnv []string
	// Given reports whether a flag was given on the command line; settings not given
	// are taken from the study's study.toml when it has them. Nil means none was given.
	Given func(flag string) bool
}

// fromStudy fills the settings that the command line left out from an existing study's
// [executor] table, so that a rerun (or an edited study.toml) keeps them.
func (o *ExecutorOptions) fromStudy(dir study.Dir) {
	cfg, err := dir.ReadConfig()
	if err != nil {
		return
	}
	given := o.Given
	if given == nil {
		given = func(string) bool { return false }
	}
	e := cfg.Executor
	if !given("executor") && e.Kind != "" {
		o.Executor = e.Kind
	}
	if !given("jobs") && e.Jobs > 0 {
		o.Jobs = e.Jobs
	}
	if !given("partition") && e.Partition != "" {
		o.Partition = e.Partition
	}
	if !given("time") && e.Time != "" {
		o.Time = e.Time
	}
	if !given("mem") && e.Memory != "" {
		o.Memory = e.Memory
	}
	if !given("cpus") && e.CPUs > 0 {
		o.CPUs = e.CPUs
	}
	if !given("threads") && cfg.Threads > 0 {
		o.Threads = cfg.Threads
	}
}

func (o *ExecutorOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Executor, "executor", "local", "run trials with `local` subprocesses or a slurm job array")
	f.IntVarP(&o.Jobs, "jobs", "j", 0, "run `N` trials at once (default: cores / threads locally, 4 on Slurm)")
	f.IntVar(&o.Threads, "threads", 1, "threads per trial (results do not depend on it)")
	f.BoolVar(&o.Oversubscribe, "oversubscribe", false, "allow local trials × threads to exceed the cores")
	f.StringVar(&o.Partition, "partition", "", "Slurm partition (sbatch --partition)")
	f.StringVar(&o.Time, "time", "", "Slurm time limit per trial (sbatch --time), e.g. 2:00:00")
	f.StringVar(&o.Memory, "mem", "", "Slurm memory per trial (sbatch --mem), e.g. 4G")
	f.IntVar(&o.CPUs, "cpus", 0, "Slurm CPUs per trial (default: --threads)")
}

// check validates the options and fills in defaults.
func (o *ExecutorOptions) check() error {
	if o.Threads < 1 {
		return usageError{fmt.Errorf("--threads %d: want 1 or more", o.Threads)}
	}
	switch o.Executor {
	case "local":
		if o.Jobs == 0 {
			o.Jobs = max(1, runtime.NumCPU()/o.Threads)
		}
		if err := runner.CheckCores(o.Jobs, o.Threads, runtime.NumCPU(), o.Oversubscribe); err != nil {
			return usageError{err}
		}
		for _, name := range []string{o.Partition, o.Time, o.Memory} {
			if name != "" {
				return usageError{errors.New("--partition, --time and --mem are Slurm settings: add --executor slurm")}
			}
		}
	case "slurm":
		if o.Jobs == 0 {
			o.Jobs = 4
		}
		if o.Jobs < 1 {
			return usageError{fmt.Errorf("--jobs %d: want 1 or more", o.Jobs)}
		}
	default:
		return usageError{fmt.Errorf("--executor %q: want local or slurm", o.Executor)}
	}
	return nil
}

// config returns the settings recorded in study.toml.
func (o *ExecutorOptions) config() study.ExecutorConfig {
	return study.ExecutorConfig{Kind: o.Executor, Jobs: o.Jobs, Partition: o.Partition, Time: o.Time, Memory: o.Memory, CPUs: o.CPUs}
}

// executor returns the configured executor.
func (o *ExecutorOptions) executor() (runner.Executor, error) {
	w := o.Worker
	if w == nil {
		var err error
		if w, err = trialWorker(); err != nil {
			return nil, err
		}
	}
	if o.Executor == "slurm" {
		return &runner.Slurm{Worker: w, Jobs: o.Jobs, Threads: o.Threads, CPUs: o.CPUs,
			Partition: o.Partition, Time: o.Time, Memory: o.Memory, Poll: o.Poll, Env: o.WorkerEnv}, nil
	}
	return &runner.Local{Worker: w, Jobs: o.Jobs, Threads: o.Threads, Env: o.WorkerEnv}, nil
}

// AblateOptions are the inputs of "msdx ablate".
type AblateOptions struct {
	IO     *IOStreams
	Vary   []string
	Base   string
	Sets   []string
	Data   string
	Recipe string
	// RecipeSets override the recipe; Epochs, when positive, its epochs.
	RecipeSets []string
	Epochs     int
	Seeds      int
	Study      string
	// MatchCost, when not empty, scales every cell to the baseline cell's cost: its
	// "last-exit" MACs or, with "curve", the mean over exits; MatchBy is the integer spec
	// field scaled.
	MatchCost string
	MatchBy   string
	// Plan prints the grid and its costs without training.
	Plan bool
	JSON bool
	ExecutorOptions
	// Context, when not nil, replaces the signal-cancelled context (for tests).
	Context context.Context
}

func newCmdAblate(ios *IOStreams) *cobra.Command {
	opts := &AblateOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "ablate --vary AXES [--base SPEC_OR_PRESET] [--study DIR]",
		Short: "Run a factorial ablation over spec fields and tabulate the effects",
		Long: `Build the full factorial grid over the --vary axes, train and evaluate every cell once
per seed, and write an ablation table: per variant and exit, cost and test top-1 (mean and
standard deviation over seeds); and the main effect of each factor (each level against
the first, averaged over the other factors) and the interaction of each pair (the
difference of differences), computed per seed and summarised over seeds, on
  last_exit_top1         the last exit's test top-1 (%)
  anytime_top1_matched   top-1 at matched cost: the deepest exit within each matched
                         budget, averaged over the budgets
  budgeted_top1_matched  the budgeted-batch curve at the matched budgets, averaged
  last_exit_macs         the cost of the last exit
The matched budgets are the exit costs, of any variant, at which every variant has both
an anytime and a budgeted result (at least its first exit's cost and its cheapest budgeted
setting's), so variants that differ in cost are compared at equal cost, not only exit by
exit.

--match-cost asks the other question: is a variant a better use of the same MACs? Before
anything trains, every cell is scaled to the cost of the baseline cell (every axis at its
first level) by choosing the value of one integer spec field, --match-by (channels by
default; growth, head.channels or any integer field): the value whose last exit's MACs
(--match-cost, or --match-cost=last-exit) or mean MACs over exits (--match-cost=curve)
come nearest the baseline's, within 2 % or the nearest the field allows (said). The
chosen values are in --plan, study.toml, the tables and ablation.json, and the effects
are then effects at equal cost.

Axes: "fusion" (msdnet, the baseline, or dense: the Addad et al. fusion), "stem"
(msdnet, or paper: the efficient stem of the author's code), or any spec field with its
values, path=v1,v2 (e.g. --vary growth=6,8). --vary is repeatable.

The study directory (--study) records everything (study.toml, journal.jsonl, one
directory per trial; see "go doc github.com/msdx/msdx/study"); the table is written to
ablation.json, ablation.csv (per variant and exit) and effects.csv in it. Rerunning the
same command resumes: finished trials are skipped, failed and unfinished ones rerun.
Every trial's spec is built before anything trains, so a bad cell fails at once.

Trials run as subprocesses ("msdx trial run"), --jobs at a time with --threads each,
or as a Slurm job array with --executor slurm (at most --jobs tasks at once; the study
directory must be on a filesystem the nodes share). Ctrl-C stops the trials with
resumable checkpoints (and cancels the Slurm job).

Exit codes: 0 every trial finished, 1 some failed (the table shows the rest), 2 bad
command line, 130 interrupted.`,
		Example: `  msdx ablate --vary fusion,stem --study studies/fusion-stem
  msdx ablate --vary fusion,stem --data imagefolder:../shared/data/cifar10-jpeg.tar.gz --seeds 2 --study studies/c10
  msdx ablate --vary growth=6,8 --base msdnet-cifar10-small --plan
  msdx ablate --vary fusion,stem --match-cost --plan
  msdx ablate --vary fusion,stem --match-cost=curve --match-by growth --plan
  msdx ablate --vary fusion,stem --executor slurm --partition cpu --time 4:00:00 --jobs 8 --study /shared/studies/fs`,
		Args: matchCostArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.MatchCost = args[0] // "--match-cost curve", see matchCostArgs
			}
			if len(opts.Vary) == 0 {
				return usageError{errors.New("--vary is required, e.g. --vary fusion,stem")}
			}
			if opts.Seeds < 1 {
				return usageError{fmt.Errorf("--seeds %d: want 1 or more", opts.Seeds)}
			}
			if opts.Epochs < 0 {
				return usageError{fmt.Errorf("--epochs %d: want 1 or more", opts.Epochs)}
			}
			opts.Given = cmd.Flags().Changed
			return ablateRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Vary, "vary", nil, "axes: `fusion,stem` or path=v1,v2 (repeatable)")
	f.StringVar(&opts.Base, "base", "addad-cifar10-small", "base spec or preset")
	f.StringArrayVar(&opts.Sets, "set", nil, "override a base spec field, `path=value` (repeatable)")
	f.StringVar(&opts.Data, "data", "synthetic", "dataset `KIND:PATH`")
	f.StringVar(&opts.Recipe, "recipe", "quick", "recipe preset or file")
	f.StringArrayVar(&opts.RecipeSets, "recipe-set", nil, "override a recipe field, `path=value` (repeatable)")
	f.IntVar(&opts.Epochs, "epochs", 0, "train for `N` epochs (default: the recipe's)")
	f.IntVar(&opts.Seeds, "seeds", 2, "train every cell with seeds 0..`N`-1")
	f.StringVar(&opts.Study, "study", "", "the study `DIR` (default: studies/BASE-AXES)")
	f.StringVar(&opts.MatchCost, "match-cost", "", "scale every cell to the baseline cell's `last-exit` or curve cost")
	f.Lookup("match-cost").NoOptDefVal = string(costmatch.LastExit)
	f.StringVar(&opts.MatchBy, "match-by", "channels", "the integer spec `field` --match-cost scales")
	f.BoolVar(&opts.Plan, "plan", false, "print the grid and its per-exit costs; train nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the ablation result as JSON")
	opts.ExecutorOptions.addFlags(cmd)
	return cmd
}

// matchCostArgs accepts no argument, or the one measure that "--match-cost curve" leaves
// behind: --match-cost takes an optional value, which pflag reads only as
// --match-cost=curve.
func matchCostArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		if f := cmd.Flags().Lookup("match-cost"); f.Changed && f.Value.String() == f.NoOptDefVal {
			if _, err := costmatch.ParseMeasure(args[0]); err == nil {
				return nil
			}
		}
	}
	return exactArgs(0)(cmd, args)
}

func ablateRun(opts *AblateOptions) error {
	base, err := spec.Resolve(opts.Base, opts.Sets)
	if err != nil {
		return err
	}
	axes, err := ablation.ParseAxes(opts.Vary, base)
	if err != nil {
		return usageError{err}
	}
	var match *study.Match
	if opts.MatchCost != "" {
		m, err := costmatch.ParseMeasure(opts.MatchCost)
		if err != nil {
			return usageError{fmt.Errorf("--match-cost: %w", err)}
		}
		if match, err = ablation.MatchCells(base, axes, opts.MatchBy, m); err != nil {
			return fmt.Errorf("--match-cost by %s: %w", opts.MatchBy, err)
		}
		printMatch(opts.IO, match)
	}
	rc, err := recipe.ResolveOverrides(opts.Recipe, recipe.Overrides{Sets: opts.RecipeSets, Flag: "--recipe-set", Epochs: opts.Epochs,
		Note: func(s string) { fmt.Fprintf(opts.IO.ErrOut, "msdx: recipe %s: %s\n", opts.Recipe, s) }})
	if err != nil {
		return err
	}
	seeds := make([]int64, opts.Seeds)
	for i := range seeds {
		seeds[i] = int64(i)
	}
	trials := ablation.Trials(axes, seeds, match)
	if opts.Plan {
		return printPlan(opts, base, trials)
	}
	dirName := opts.Study
	if dirName == "" {
		names := make([]string, len(axes))
		for i, a := range axes {
			names[i] = a.Name
		}
		dirName = filepath.Join("studies", study.SafeName(base.Name+"-"+strings.Join(names, "-")))
	}
	opts.fromStudy(study.Dir(dirName))
	if err := opts.ExecutorOptions.check(); err != nil {
		return err
	}
	ds, err := openStudyData(opts.Data, base)
	if err != nil {
		return err
	}
	if ds.NumClasses() != base.Classes {
		return fmt.Errorf("spec %s has %d classes but dataset %s has %d: add --set classes=%d",
			base.Name, base.Classes, opts.Data, ds.NumClasses(), ds.NumClasses())
	}
	dir := study.Dir(dirName)
	cfg, err := study.Create(dir, &study.Config{
		Kind: study.KindAblation, Version: versionInfo().Version, Created: time.Now().UTC().Truncate(time.Second),
		Base: opts.Base, Recipe: opts.Recipe, Data: ds.Ref, Fingerprint: ds.Fingerprint,
		Seeds: seeds, Threads: opts.Threads, Axes: axes, Match: match, Executor: opts.config(),
	}, base, rc)
	if err != nil {
		return err
	}
	d := &ablation.Driver{Dir: dir, Config: cfg, Log: func(s string) { fmt.Fprintln(opts.IO.ErrOut, "msdx:", s) }}
	if err := d.Plan(); err != nil {
		return err
	}
	exec, err := opts.executor()
	if err != nil {
		return err
	}
	ctx, stop := interruptContext(opts.Context)
	defer stop()
	fmt.Fprintf(opts.IO.ErrOut, "msdx: study %s: %d variants × %d seeds = %d trials, %s executor, %d at once × %d threads\n",
		dir, len(ablation.Grid(axes)), len(seeds), len(trials), exec.Name(), opts.Jobs, opts.Threads)
	res, sum, err := d.Run(ctx, exec)
	if ctx.Err() != nil {
		return exitCodeError{fmt.Errorf("interrupted; rerun the same command to resume: %w", ctx.Err()), ExitInterrupted}
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		if err := res.WriteJSON(opts.IO.Out); err != nil {
			return err
		}
	} else if err := printAblation(opts.IO, res); err != nil {
		return err
	}
	if !sum.OK() {
		return fmt.Errorf("%d trials did not finish (%s); rerun the same command to retry them", len(sum.Failed)+len(sum.Unfinished), sum.Error())
	}
	return nil
}

// openStudyData opens a study's dataset as its trials will open it, for the base spec's
// input (the fingerprint does not depend on it, and a resized image folder is then cached
// for the trials).
func openStudyData(ref string, base *spec.Spec) (*data.Dataset, error) {
	return data.Open(absDataRef(ref), data.OpenOptions{Fit: &data.Fit{C: base.Input[0], H: base.Input[1], W: base.Input[2]}})
}

// absDataRef makes the path of a dataset reference absolute, so that trials running
// elsewhere (a Slurm node, another directory) find the same files.
func absDataRef(ref string) string {
	kind, path, ok := strings.Cut(ref, ":")
	if !ok || kind == "synthetic" || path == "" {
		return ref
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ref
	}
	return kind + ":" + abs
}

// printMatch prints how the cells were scaled to equal cost, and says on stderr which
// could not be matched within the tolerance.
func printMatch(ios *IOStreams, m *study.Match) {
	fmt.Fprintf(ios.Out, "cost matching: every cell scaled by %s to the %s cost of %s, %s MACs (within %g %%)\n",
		m.Knob, m.Measure, m.Cells[0].Cell, macsString(ios.IsTerminal, m.Target), 100*m.Tolerance)
	tp := tableprinter.New(ios.Out, ios.IsTerminal)
	tp.AddRow("variant", m.Knob, "macs_"+strings.ReplaceAll(m.Measure, "-", "_"), "gap")
	tp.AlignRight(1, 2, 3)
	for _, c := range m.Cells {
		value := strconv.Itoa(c.Value)
		if c.Value != c.From {
			value = fmt.Sprintf("%d→%d", c.From, c.Value)
		}
		tp.AddRow(c.Cell, value, macsString(ios.IsTerminal, c.Cost), gapString(c.Gap))
	}
	tp.Render()
	fmt.Fprintln(ios.Out)
	for _, c := range m.Cells {
		if !c.Within {
			fmt.Fprintf(ios.ErrOut, "msdx: cell %s: no value of %s comes within %g %% of the target; %s=%d is the nearest (%s)\n",
				c.Cell, m.Knob, 100*m.Tolerance, m.Knob, c.Value, gapString(c.Gap))
		}
	}
}

// gapString formats a relative gap in percent with its sign.
func gapString(gap float64) string { return fmt.Sprintf("%+.2f %%", 100*gap) }

// printPlan prints the grid's cells with their per-exit costs.
func printPlan(opts *AblateOptions, base *spec.Spec, trials []*study.Trial) error {
	tp := tableprinter.New(opts.IO.Out, opts.IO.IsTerminal)
	tp.AddRow("variant", "exit", "macs", "params")
	tp.AlignRight(1, 2, 3)
	seen := map[string]bool{}
	var bad []string
	for _, t := range trials {
		name := ablation.Cell{Labels: t.Labels}.Name()
		if seen[name] {
			continue
		}
		seen[name] = true
		costs, err := specCosts(opts.Base, append(append([]string(nil), opts.Sets...), t.Sets...))
		if err != nil {
			bad = append(bad, name+": "+err.Error())
			continue
		}
		for _, c := range costs {
			tp.AddRow(name, strconv.Itoa(c.Exit), macsString(opts.IO.IsTerminal, float64(c.MACs)), strconv.FormatInt(c.Params, 10))
		}
	}
	if err := tp.Render(); err != nil {
		return err
	}
	if bad != nil {
		return fmt.Errorf("%d variants cannot be built:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	return nil
}

// specCosts resolves a spec and returns its per-exit costs.
func specCosts(nameOrPath string, sets []string) ([]flops.ExitCost, error) {
	return costmatch.Cost(func(extra []string) (*spec.Spec, error) { return spec.Resolve(nameOrPath, sets) }, nil)
}

// sdString formats the standard deviation of s, or n/a where one seed gives none.
func sdString(s ablation.Stat, format func(float64) string) string {
	if !s.HasSD() {
		return "n/a"
	}
	return format(s.SD)
}

// printAblation prints the variant table and the effects table.
func printAblation(ios *IOStreams, res *ablation.Result) error {
	title := "variants: per exit, cost and test top-1 over seeds (mean, sample sd)"
	if res.Match != nil {
		title = fmt.Sprintf("variants, cells scaled by %s to equal %s cost (%s MACs): per exit, cost and test top-1 over seeds (mean, sample sd)",
			res.Match.Knob, res.Match.Measure, macsString(ios.IsTerminal, res.Match.Target))
	}
	printTitle(ios, "%s", title)
	tp := tableprinter.New(ios.Out, ios.IsTerminal)
	head := []string{"variant"}
	if res.Match != nil {
		head = append(head, res.Match.Knob)
	}
	tp.AddRow(append(head, "exit", "macs", "top1", "sd", "seeds")...)
	tp.AlignRight(len(head), len(head)+1, len(head)+2, len(head)+3, len(head)+4)
	for _, v := range res.Variants {
		row := []string{v.Name}
		if v.Scaled != nil {
			row = append(row, strconv.Itoa(v.Scaled.Value))
		}
		for _, e := range v.Exits {
			tp.AddRow(append(row, strconv.Itoa(e.Exit), macsString(ios.IsTerminal, float64(e.MACs)),
				pctString(e.Top1.Mean), sdString(e.Top1, pctString), strconv.Itoa(e.Top1.N))...)
		}
		if len(v.Exits) == 0 {
			tp.AddRow(append(row, "-", "-", "-", "-", "0")...)
		}
	}
	if err := tp.Render(); err != nil {
		return err
	}
	fmt.Fprintln(ios.Out)
	budgets := make([]string, len(res.MatchedBudgets))
	for i, b := range res.MatchedBudgets {
		budgets[i] = macsString(ios.IsTerminal, b)
	}
	printTitle(ios, "effects over seeds; matched budgets (MACs): %s", strings.Join(budgets, ", "))
	ep := tableprinter.New(ios.Out, ios.IsTerminal)
	ep.AddRow("effect", "response", "mean", "sd", "seeds")
	ep.AlignRight(2, 3, 4)
	for _, e := range res.Effects {
		name := ""
		for i, f := range e.Factors {
			if i > 0 {
				name += " x "
			}
			name += f + "=" + e.Levels[i]
		}
		format := pctString
		if e.Response == ablation.ResponseLastMACs {
			format = dyneval.FormatCost
			if !ios.IsTerminal {
				format = func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
			}
		}
		mean, sd := format(e.Mean), sdString(e.Stat, format)
		ep.AddRow(name, e.Response, mean, sd, strconv.Itoa(e.N))
	}
	if err := ep.Render(); err != nil {
		return err
	}
	for _, f := range res.Failed {
		fmt.Fprintf(ios.ErrOut, "msdx: trial %s (%s, seed %d) %s: %s\n", study.TrialID(f.Trial),
			ablation.Cell{Labels: f.Labels}.Name(), f.Seed, f.Status, f.Reason)
	}
	return nil
}
