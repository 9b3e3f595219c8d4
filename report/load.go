package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/msdx/msdx/ablation"
	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/study"
	"github.com/msdx/msdx/train"
)

// candidate is a series read from a directory, before colours and labels are settled.
type candidate struct {
	series Series
	spec   *spec.Spec
	// data, recipe, epochs, seeds and version feed the header.
	data    string
	classes int
	recipe  string
	epochs  int
	seeds   []int64
	version string
}

// input is everything read from one directory.
type input struct {
	source     Source
	candidates []candidate
	ablation   *ablation.Result
	notes      []string
}

// readDir reads a run or a study directory.
func readDir(dir string) (*input, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: want a run directory (msdx train) or a study directory", dir)
	}
	if exists(filepath.Join(dir, study.ConfigFile)) {
		return readStudy(dir)
	}
	if exists(filepath.Join(dir, train.RunFile)) {
		c, err := readRun(dir, dir)
		if err != nil {
			return nil, err
		}
		return &input{source: Source{Dir: dir, Kind: "run"}, candidates: []candidate{*c}}, nil
	}
	return nil, fmt.Errorf("%s is neither a run directory (it has no %s) nor a study directory (it has no %s)", dir, train.RunFile, study.ConfigFile)
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// readRun reads an evaluated run directory (train.OpenRun, and the evaluation of its
// final weights on the test split, evaluate.Load); id names its series.
func readRun(dir, id string) (*candidate, error) {
	evalDir := evaluate.Dir(dir, "final", "test")
	rep, err := evaluate.Load(evalDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("run %s has no evaluation results (%s): run `msdx eval %s` first", dir, filepath.Join(evalDir, evaluate.ReportFile), dir)
		}
		return nil, err
	}
	if rep.Anytime == nil || len(rep.Anytime.Exits) == 0 {
		return nil, fmt.Errorf("%s: no anytime results", filepath.Join(evalDir, evaluate.ReportFile))
	}
	r, err := train.OpenRun(dir)
	if err != nil {
		return nil, err
	}
	ser := Series{
		ID: KindRun + ":" + id, Label: r.Spec.Name, Kind: KindRun, Spec: r.Spec.Name, SpecHash: r.Spec.Hash(),
		Source: dir, Seeds: 1,
	}
	for _, e := range rep.Anytime.Exits {
		macs, ok := e.Cost[evaluate.CostReference]
		if !ok {
			return nil, fmt.Errorf("%s: exit %d has no %q cost", filepath.Join(evalDir, evaluate.ReportFile), e.Exit, evaluate.CostReference)
		}
		ser.Anytime = append(ser.Anytime, Point{Exit: e.Exit, MACs: macs, Top1: e.Top1})
	}
	if ser.Budgeted, err = rep.BudgetedCurve(evaluate.CostReference); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(evalDir, evaluate.ReportFile), err)
	}
	return &candidate{
		series: ser, spec: r.Spec, data: r.Info.Data, classes: len(r.DataInfo.Classes), recipe: r.Info.Recipe,
		epochs: r.Info.Epochs, seeds: []int64{r.Info.Seed}, version: r.Info.Version,
	}, nil
}

// readStudy reads a study directory: its ablation.json when there is one, otherwise
// every evaluated trial.
func readStudy(dir string) (*input, error) {
	d := study.Dir(dir)
	cfg, err := d.ReadConfig()
	if err != nil {
		return nil, err
	}
	in := &input{source: Source{Dir: dir, Kind: "study", StudyKind: cfg.Kind}}
	res, err := ablation.Load(d)
	switch {
	case err == nil:
		in.ablation = res
		if err := studyVariants(d, cfg, res, in); err != nil {
			return nil, err
		}
		return in, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if cfg.Kind == study.KindAblation {
		in.notes = append(in.notes, fmt.Sprintf("Study %s has no %s yet: its trials are shown one by one, without the ablation table and effects.", dir, study.AblationJSON))
	}
	idx, err := d.Trials()
	if err != nil {
		return nil, err
	}
	var skipped []string
	for _, i := range idx {
		t, err := d.ReadTrial(i)
		if err != nil {
			return nil, err
		}
		runDir := d.TrialPath(i, study.RunDir)
		if !exists(filepath.Join(evaluate.Dir(runDir, "final", "test"), evaluate.ReportFile)) {
			skipped = append(skipped, study.TrialID(i))
			continue
		}
		c, err := readRun(runDir, dir+":"+study.TrialID(i))
		if err != nil {
			return nil, err
		}
		c.series.Kind = KindTrial
		c.series.ID = KindTrial + ":" + dir + ":" + study.TrialID(i)
		c.series.Label = trialLabel(t)
		c.recipe = cfg.Recipe
		in.candidates = append(in.candidates, *c)
	}
	if skipped != nil {
		in.notes = append(in.notes, fmt.Sprintf("Study %s: trials %s have no evaluation results and are left out.", dir, strings.Join(skipped, ", ")))
	}
	if len(in.candidates) == 0 {
		return nil, fmt.Errorf("study %s has no %s and no evaluated trial (trials/NNNN/run/eval/%s)", dir, study.AblationJSON, evaluate.ReportFile)
	}
	return in, nil
}

func trialLabel(t *study.Trial) string {
	var parts []string
	for _, l := range t.Labels {
		parts = append(parts, l.Axis+"="+l.Value)
	}
	if parts == nil {
		parts = append(parts, "trial "+study.TrialID(t.Index))
	}
	return fmt.Sprintf("%s seed %d", strings.Join(parts, " "), t.Key.Seed)
}

// studyVariants makes one candidate per variant of an ablation result.
func studyVariants(d study.Dir, cfg *study.Config, res *ablation.Result, in *input) error {
	if len(res.Variants) == 0 {
		return fmt.Errorf("%s: no variants", d.Path(study.AblationJSON))
	}
	for _, v := range res.Variants {
		if len(v.Trials) == 0 {
			return fmt.Errorf("%s: variant %q has no trials", d.Path(study.AblationJSON), v.Name)
		}
		if v.Finished == 0 || len(v.Exits) == 0 {
			in.notes = append(in.notes, fmt.Sprintf("Study %s: variant %s has no finished trial and is left out.", string(d), v.Name))
			continue
		}
		s, err := spec.Load(d.TrialPath(v.Trials[0], study.SpecFile), nil)
		if err != nil {
			return err
		}
		t, err := d.ReadTrial(v.Trials[0])
		if err != nil {
			return err
		}
		rc, err := d.TrialRecipe(t)
		if err != nil {
			return err
		}
		epochs := rc.Epochs
		ser := Series{
			ID: KindVariant + ":" + string(d) + ":" + v.Name, Label: v.Name, Kind: KindVariant,
			Spec: s.Name, SpecHash: s.Hash(), Source: string(d), Seeds: v.Finished,
		}
		for _, e := range v.Exits {
			ser.Anytime = append(ser.Anytime, Point{Exit: e.Exit, MACs: float64(e.MACs), Top1: e.Top1.Mean, SD: e.Top1.SD})
		}
		for _, b := range v.Budgeted {
			ser.Budgeted = append(ser.Budgeted, curve.Point{MACs: b.MACs, Top1: b.Top1})
		}
		in.candidates = append(in.candidates, candidate{
			series: ser, spec: s, data: cfg.Data, classes: s.Classes, recipe: cfg.Recipe,
			epochs: epochs, seeds: cfg.Seeds, version: cfg.Version,
		})
	}
	if len(in.candidates) == 0 {
		return fmt.Errorf("%s: no variant has a finished trial", d.Path(study.AblationJSON))
	}
	return nil
}
