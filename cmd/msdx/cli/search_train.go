package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/search"
	"github.com/msdx/msdx/study"
)

// searchTrainCheck validates the options of a training search and runs it.
func searchTrainCheck(opts *SearchOptions) error {
	switch opts.Sampler {
	case "auto", "asha", "random":
	default:
		return usageError{fmt.Errorf("--sampler %q: a training search samples with asha or random (grid and nsga2 are for --no-train)", opts.Sampler)}
	}
	if opts.Trials < 1 {
		return usageError{fmt.Errorf("--trials %d: want 1 or more", opts.Trials)}
	}
	if opts.Eta < 2 {
		return usageError{fmt.Errorf("--eta %d: want 2 or more", opts.Eta)}
	}
	if _, err := parseRungs(opts.Rungs); err != nil {
		return usageError{err}
	}
	objs, err := search.ParseObjectives(opts.Objectives)
	if err != nil {
		return usageError{fmt.Errorf("--objectives: %w", err)}
	}
	trained := false
	for _, o := range objs {
		trained = trained || !o.CostOnly
	}
	if !trained {
		return usageError{errors.New("--objectives: a training search needs an accuracy objective (last_top1, mean_top1, anytime_auc or budget_auc); for cost alone use --no-train")}
	}
	return searchTrainRun(opts)
}

// parseRungs reads --rungs: increasing positive epochs.
func parseRungs(text string) ([]int, error) {
	var rungs []int
	for _, f := range strings.Split(text, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || len(rungs) > 0 && n <= rungs[len(rungs)-1] {
			return nil, fmt.Errorf("--rungs %q: want increasing epochs of 1 or more, e.g. 1,3,9", text)
		}
		rungs = append(rungs, n)
	}
	return rungs, nil
}

func searchTrainRun(opts *SearchOptions) error {
	objs, _ := search.ParseObjectives(opts.Objectives)
	rungs, _ := parseRungs(opts.Rungs)
	if opts.Sampler == "random" {
		// Random search: every trial a new candidate at full fidelity.
		rungs = rungs[len(rungs)-1:]
	}
	dirName := opts.Study
	if dirName == "" {
		name := strings.TrimSuffix(filepath.Base(opts.Space), filepath.Ext(opts.Space))
		dirName = filepath.Join("studies", study.SafeName("search-"+name))
	}
	opts.fromStudy(study.Dir(dirName))
	if err := opts.ExecutorOptions.check(); err != nil {
		return err
	}
	sp, err := search.LoadSpace(opts.Space)
	if err != nil {
		return err
	}
	base, err := sp.BaseSpec()
	if err != nil {
		return err
	}
	rc, err := recipe.ResolveOverrides(opts.Recipe, recipe.Overrides{Sets: opts.RecipeSets, Flag: "--recipe-set",
		Note: func(s string) { fmt.Fprintf(opts.IO.ErrOut, "msdx: recipe %s: %s\n", opts.Recipe, s) }})
	if err != nil {
		return err
	}
	ds, err := openStudyData(opts.Data, base)
	if err != nil {
		return err
	}
	if ds.NumClasses() != base.Classes {
		return fmt.Errorf("%s: base spec %s has %d classes but dataset %s has %d: add sets = [\"classes=%d\"] to the space",
			opts.Space, base.Name, base.Classes, opts.Data, ds.NumClasses(), ds.NumClasses())
	}
	dir := study.Dir(dirName)
	cfg, err := study.Create(dir, &study.Config{
		Kind: study.KindSearch, Version: versionInfo().Version, Created: time.Now().UTC().Truncate(time.Second),
		Base: sp.Base, Recipe: opts.Recipe, Data: ds.Ref, Fingerprint: ds.Fingerprint,
		Seeds: []int64{0}, Threads: opts.Threads, Executor: opts.config(),
	}, base, rc)
	if err != nil {
		return err
	}
	exec, err := opts.executor()
	if err != nil {
		return err
	}
	ctx, stop := interruptContext(opts.Context)
	defer stop()
	logLine := func(s string) { fmt.Fprintln(opts.IO.ErrOut, "msdx:", s) }
	sampler := "asha"
	if opts.Sampler == "random" {
		sampler = "random"
	}
	fmt.Fprintf(opts.IO.ErrOut, "msdx: study %s: %s search of %s, %d trials over rungs %v epochs, %s executor, %d at once × %d threads\n",
		dir, sampler, opts.Space, opts.Trials, rungs, exec.Name(), opts.Jobs, opts.Threads)
	d := &search.Driver{Space: sp, Dir: dir, Config: cfg, Objectives: objs, Trials: opts.Trials,
		Rungs: rungs, Eta: opts.Eta, Jobs: opts.Jobs, Seed: opts.Seed,
		Log: func(format string, args ...any) { logLine(fmt.Sprintf(format, args...)) }}
	res, err := d.Run(ctx, search.RunnerExecutor{Exec: exec, Log: logLine})
	if ctx.Err() != nil {
		return exitCodeError{fmt.Errorf("interrupted; rerun the same command to resume: %w", ctx.Err()), ExitInterrupted}
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if err := printSearchFront(opts.IO, res); err != nil {
		return err
	}
	var failed []string
	for _, tr := range res.Trials {
		if tr.Status != study.StatusFinished {
			failed = append(failed, study.TrialID(tr.Index)+" "+tr.Status)
		}
	}
	if failed != nil {
		return fmt.Errorf("%d trials did not finish (%s); rerun the same command to retry them", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// printSearchFront prints the front of a training search, one row per member.
func printSearchFront(ios *IOStreams, res *search.Result) error {
	printTitle(ios, "%d trials; front over %s: %d trials, hypervolume %.6g (reference %v)",
		len(res.Trials), strings.Join(res.Objectives, ", "), len(res.Front), res.Hypervolume, res.Reference)
	tp := tableprinter.New(ios.Out, ios.IsTerminal)
	header := []string{"trial", "epochs"}
	for _, o := range res.Objectives {
		header = append(header, o[strings.IndexByte(o, ':')+1:])
	}
	header = append(header, "exit MACs", "exit top1", "spec", "sets")
	tp.AddRow(header...)
	right := []int{0, 1}
	for i := range res.Objectives {
		right = append(right, 2+i)
	}
	tp.AlignRight(right...)
	for _, i := range res.Front {
		tr := res.Trials[i]
		row := []string{study.TrialID(tr.Index), strconv.Itoa(tr.Epochs)}
		for _, v := range tr.Objectives {
			row = append(row, strconv.FormatFloat(v, 'g', 6, 64))
		}
		var macs, top1 []string
		for _, e := range tr.Exits {
			macs = append(macs, macsString(ios.IsTerminal, float64(e.MACs)))
			top1 = append(top1, pctString(e.Top1))
		}
		row = append(row, strings.Join(macs, " "), strings.Join(top1, " "), tr.Spec, strings.Join(tr.Sets, " "))
		tp.AddRow(row...)
	}
	return tp.Render()
}
