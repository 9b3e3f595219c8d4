package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/dyneval"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/internal/tableprinter"
)

// EvalOptions are the inputs of "msdx eval".
type EvalOptions struct {
	IO      *IOStreams
	RunDir  string
	Split   string // the split evaluated: test (default), val or train
	Weights string // final, best or latest
	Batch   int
	Check   []int // budget settings cross-checked with real early exit
	NoCheck bool
	JSON    bool
}

func newCmdEval(ios *IOStreams) *cobra.Command {
	opts := &EvalOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "eval RUN_DIR",
		Short: "Evaluate a trained network: anytime and budgeted-batch results, checked by real early exit",
		Long: `Evaluate the network of a training run dynamically, as the MSDNet/RANet
adaptive_inference.py does (architectures.md §6), and check the simulation with real early
exit.

Anytime: every exit classifies every image of the split (--split, default test); each
exit's top-1/top-5 is paired with its cost.

Budgeted batch: for each of 39 settings q = p/20 (p = 1..39), confidence thresholds are
fitted on the run's validation split for the geometric exit distribution P_k ∝ q^k, and
applied to the split: each image leaves at the first exit whose max softmax probability
reaches the threshold (the last exit takes the rest). Each setting gives (expected cost,
top-1) under two cost models, in MACs per image:
  reference  cumulative cost up to the exit, earlier heads included (the papers' curves)
  cone       the nodes exits 1..k depend on: what real early exit executes

Cross-check: for the settings --check (default 20, q = 1), msdx runs real early exit on
the split with the setting's thresholds, images leaving the batch as they exit, and
compares every image's exit and prediction with the simulation; any difference is an
error (exit code 1). It reports the wall-clock time of early exit against running every
exit (both on the same executor and batches), the saving in wall-clock and in process CPU
time (steadier on a busy machine), next to the saving the cone cost model predicts.

Results are written to RUN_DIR/eval/ (for the final weights on the test split; other
choices go to RUN_DIR/eval/WEIGHTS-SPLIT/): anytime.json, anytime.csv, budgeted.json,
budgeted.csv and report.json (everything, as --json prints it). On a terminal costs get
SI units; piped output is tab-separated with exact numbers, each table after a line
starting with "# " that names it. Passes that take more than a few seconds show their
progress on stderr.

While it works, eval holds RUN_DIR's lock, as training does: it fails at once, naming the
process, on a run that is training, resuming or being evaluated, and such a command fails
on the run while eval works.`,
		Example: `  msdx eval runs/c10
  msdx eval runs/c10 --weights best --check 10 --check 30
  msdx eval runs/c10 --json | jq '.budgeted.settings[] | [.test.expected_cost.reference, .test.top1_percent]'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RunDir = args[0]
			if err := checkEvalFlags(opts.Split, opts.Weights, opts.Batch); err != nil {
				return err
			}
			if opts.NoCheck {
				opts.Check = nil
			}
			for _, p := range opts.Check {
				if p < 1 || p > dyneval.NumBudgetSettings {
					return usageError{fmt.Errorf("--check %d: want a budget setting 1..%d", p, dyneval.NumBudgetSettings)}
				}
			}
			return evalRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Split, "split", "test", "split to evaluate: test, val or train")
	f.StringVar(&opts.Weights, "weights", "final", "weights: final, best or latest")
	f.IntVar(&opts.Batch, "batch", 128, "images per batch")
	f.IntSliceVar(&opts.Check, "check", []int{20}, "budget setting `p` to cross-check with real early exit (repeatable)")
	f.BoolVar(&opts.NoCheck, "no-check", false, "skip the cross-check with real early exit")
	f.BoolVar(&opts.JSON, "json", false, "print one JSON object")
	return cmd
}

func checkEvalFlags(split, weights string, batch int) error {
	switch split {
	case "test", "val", "train":
	default:
		return usageError{fmt.Errorf("split %q: want test, val or train", split)}
	}
	switch weights {
	case "final", "best", "latest":
	default:
		return usageError{fmt.Errorf("--weights %q: want final, best or latest", weights)}
	}
	if batch < 1 {
		return usageError{fmt.Errorf("--batch %d: want at least 1", batch)}
	}
	return nil
}

func evalRun(opts *EvalOptions) error {
	status := newStatusLine(opts.IO)
	doc, err := evaluate.EvaluateRun(opts.RunDir, evaluate.RunOptions{
		Split: opts.Split, Weights: opts.Weights, Batch: opts.Batch, Check: opts.Check,
		Progress: func(step string, done, total int) { status.Update(step, done, total, "images") },
	})
	status.Done()
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else if err := printEval(opts.IO, doc); err != nil {
		return err
	}
	var bad []string
	for _, c := range doc.Checks {
		if !c.OK() {
			bad = append(bad, fmt.Sprintf("p=%d: %d of %d images differ (%s)", c.P, c.Mismatches, c.Real.N, c.FirstMismatch))
		}
	}
	if bad != nil {
		return fmt.Errorf("real early exit does not reproduce the simulated budgeted result: %s", strings.Join(bad, "; "))
	}
	return nil
}

// costString formats a cost in MACs: with SI units for people, with two decimals for
// programs (expected costs are means over images).
func costString(terminal bool, c float64) string {
	if terminal {
		return dyneval.FormatCost(c)
	}
	return strconv.FormatFloat(c, 'f', 2, 64)
}

// macsString formats a whole number of MACs, such as an exit's cost: with SI units for
// people, as an exact integer for programs, as "msdx flops" does.
func macsString(terminal bool, c float64) string {
	n := int64(math.Round(c))
	if terminal {
		return tableprinter.Human(n)
	}
	return strconv.FormatInt(n, 10)
}

func pctString(p float64) string { return strconv.FormatFloat(p, 'f', 2, 64) }

func printEval(ios *IOStreams, doc *evaluate.RunReport) error {
	term := ios.IsTerminal
	out := ios.Out
	ref, cone := evaluate.CostReference, evaluate.CostCone
	printTitle(ios, "%s  %s weights  %s split (%d images)  — anytime: every exit on every image",
		doc.Spec, doc.Weights, doc.Split, doc.Anytime.N)
	tp := tableprinter.New(out, term)
	tp.AddRow("exit", "macs_reference", "macs_cone", "top1", "top5")
	tp.AlignRight(0, 1, 2, 3, 4)
	for _, e := range doc.Anytime.Exits {
		tp.AddRow(strconv.Itoa(e.Exit), macsString(term, e.Cost[ref]), macsString(term, e.Cost[cone]), pctString(e.Top1), pctString(e.Top5))
	}
	if err := tp.Render(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	printTitle(ios, "budgeted batch on the %s split: thresholds fitted on the validation split, top-1 and expected MACs per image on the %s split",
		doc.Split, doc.Split)
	tp = tableprinter.New(out, term)
	tp.AddRow("p", "q", "top1", "expected_macs_reference", "expected_macs_cone", "exits")
	tp.AlignRight(0, 1, 2, 3, 4)
	for _, s := range doc.Budgeted.Settings {
		counts := make([]string, len(s.Test.ExitCounts))
		for k, n := range s.Test.ExitCounts {
			counts[k] = strconv.Itoa(n)
		}
		tp.AddRow(strconv.Itoa(s.P), strconv.FormatFloat(s.Q, 'f', 2, 64), pctString(s.Test.Top1),
			costString(term, s.Test.ExpectedCost[ref]), costString(term, s.Test.ExpectedCost[cone]), strings.Join(counts, "/"))
	}
	if err := tp.Render(); err != nil {
		return err
	}
	if len(doc.Checks) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	printTitle(ios, "real early exit against the simulation on the %s split (wall-clock of the network, softmax included)", doc.Split)
	tp = tableprinter.New(out, term)
	tp.AddRow("p", "result", "top1_simulated", "top1_real", "macs_executed", "macs_all_exits", "saving_predicted", "saving_measured", "seconds_early_exit", "seconds_all_exits", "saving_cpu_time")
	tp.AlignRight(0, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for _, c := range doc.Checks {
		result := "identical"
		if !c.OK() {
			result = fmt.Sprintf("MISMATCH (%d)", c.Mismatches)
		}
		cpuSaving := "-"
		if c.FullCPUSeconds > 0 {
			cpuSaving = pctString(100*(1-c.EarlyExitCPUSeconds/c.FullCPUSeconds)) + "%"
		}
		tp.AddRow(strconv.Itoa(c.P), result, pctString(c.Simulated.Top1), pctString(c.Real.Top1),
			costString(term, c.ExecutedMACs), macsString(term, c.FullMACs),
			pctString(100*c.PredictedSaving)+"%", pctString(100*c.MeasuredSaving)+"%",
			strconv.FormatFloat(c.EarlyExitSeconds, 'f', 3, 64), strconv.FormatFloat(c.FullSeconds, 'f', 3, 64), cpuSaving)
	}
	return tp.Render()
}

var errNoBudget = errors.New("no budget setting fits")
