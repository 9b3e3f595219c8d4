package evaluate

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/train"
)

// Files of an evaluation directory (see Dir), relative to it. Package evaluate is their
// only writer and reader: Save writes them, Load reads ReportFile.
const (
	// ReportFile holds the RunReport: everything, as "msdx eval --json" prints it.
	ReportFile = "report.json"
	// AnytimeJSON, AnytimeCSV, BudgetedJSON and BudgetedCSV hold the anytime and
	// budgeted results alone, for other programs.
	AnytimeJSON  = "anytime.json"
	AnytimeCSV   = "anytime.csv"
	BudgetedJSON = "budgeted.json"
	BudgetedCSV  = "budgeted.csv"
)

// RunReport is the evaluation of one run's weights on one split: the JSON document of
// "msdx eval --json" and of ReportFile.
type RunReport struct {
	Run     string `json:"run"`
	Spec    string `json:"spec"`
	Weights string `json:"weights"`
	// WeightsSHA256 is the SHA-256, in hex, of the weights file evaluated: "msdx predict
	// --budget" uses the saved thresholds only for weights with the same hash. Reports of
	// msdx versions before it have none.
	WeightsSHA256 string `json:"weights_sha256"`
	// Split is the evaluated split; the budgeted thresholds are fitted on the "val" split.
	Split string `json:"split"`
	Report
}

// Dir returns where the evaluation of a run's weights ("final", "best" or "latest") on a
// split is kept: RUN/eval for the final weights on the test split, RUN/eval/WEIGHTS-SPLIT
// for the others.
func Dir(runDir, weights, split string) string {
	if weights == "final" && split == "test" {
		return filepath.Join(runDir, "eval")
	}
	return filepath.Join(runDir, "eval", weights+"-"+split)
}

// Save writes rep into dir, each file atomically: ReportFile, and the anytime and
// budgeted results alone in JSON and CSV.
func Save(dir string, rep *RunReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{AnytimeJSON, rep.Anytime.WriteJSON},
		{AnytimeCSV, rep.Anytime.WriteCSV},
		{BudgetedJSON, rep.Budgeted.WriteJSON},
		{BudgetedCSV, rep.Budgeted.WriteCSV},
		{ReportFile, rep.WriteJSON},
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.name), 0o644, f.write); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

// WriteJSON writes rep as indented JSON, as ReportFile holds it.
func (rep *RunReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Load reads the RunReport that Save wrote in dir. Like every JSON reader of msdx it
// rejects unknown fields: a file is read only by the msdx that knows all of it. It checks
// that the report has budgeted results; an error wraps os.ErrNotExist when dir has no
// ReportFile.
func Load(dir string) (*RunReport, error) {
	name := filepath.Join(dir, ReportFile)
	var rep RunReport
	if err := jsonfile.Read(name, &rep); err != nil {
		return nil, err
	}
	if rep.Budgeted == nil || len(rep.Budgeted.Settings) == 0 {
		return nil, fmt.Errorf("%s: no budget settings", name)
	}
	return &rep, nil
}

// BudgetedCurve returns the budgeted-batch curve on the evaluated split under the
// named cost model (CostReference for the papers' curves): expected MACs per image and
// top-1, in order of cost. It is an error when a setting has no cost under the model.
func (rep *RunReport) BudgetedCurve(model string) ([]curve.Point, error) {
	var out []curve.Point
	for _, s := range rep.Budgeted.Settings {
		cost, ok := s.Test.ExpectedCost[model]
		if !ok {
			return nil, fmt.Errorf("budgeted results have no %q cost", model)
		}
		out = append(out, curve.Point{MACs: cost, Top1: s.Test.Top1})
	}
	curve.SortByCost(out)
	return out, nil
}

// LockName is the name under which EvaluateRun locks a run directory (package dirlock),
// as training does under its own.
const LockName = "msdx eval"

// RunOptions choose what EvaluateRun evaluates.
type RunOptions struct {
	// Split is the split evaluated: "test", "val" or "train".
	Split string
	// Weights are "final", "best" or "latest".
	Weights string
	// Batch is the number of images per batch.
	Batch int
	// Check lists the budget settings cross-checked with real early exit.
	Check []int
	// Progress, when not nil, is told how the passes go.
	Progress Progress
}

// EvaluateRun evaluates the network of the run directory runDir (Evaluate), with the
// thresholds fitted on its validation split, and saves the report in Dir(runDir,
// opts.Weights, opts.Split). It holds the run's lock while it works, so that the
// weights are not those of a training still writing them. A failed cross-check is in
// the report (Check.OK), not an error.
func EvaluateRun(runDir string, opts RunOptions) (*RunReport, error) {
	if _, err := train.OpenRun(runDir); err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(runDir, LockName)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// Read the run again now that no one else writes it.
	r, err := train.OpenRun(runDir)
	if err != nil {
		return nil, err
	}
	net, digest, err := r.NetworkDigest(opts.Weights)
	if err != nil {
		return nil, err
	}
	val, err := r.EvalLoader("val", opts.Batch)
	if err != nil {
		return nil, err
	}
	if val.Len() == 0 {
		return nil, fmt.Errorf("run %s has no validation split: budgeted evaluation fits its thresholds on it", r.Dir)
	}
	test, err := r.EvalLoader(opts.Split, opts.Batch)
	if err != nil {
		return nil, err
	}
	rep, err := Evaluate(net, val, test, opts.Check, opts.Progress)
	if err != nil {
		return nil, err
	}
	doc := &RunReport{Run: r.Dir, Spec: r.Spec.Name, Weights: opts.Weights, WeightsSHA256: digest, Split: opts.Split, Report: *rep}
	if err := Save(Dir(r.Dir, opts.Weights, opts.Split), doc); err != nil {
		return nil, err
	}
	return doc, nil
}
