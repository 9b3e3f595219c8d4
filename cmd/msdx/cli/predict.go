package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/dyneval"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/train"
)

// PredictOptions are the inputs of "msdx predict".
type PredictOptions struct {
	IO      *IOStreams
	RunDir  string
	Inputs  []string // image files
	Split   string   // --split: classify a whole split instead of Inputs
	Weights string
	// Exactly one of Threshold (when HasThreshold) and Budget (when positive) is set.
	Threshold    float64
	HasThreshold bool
	Budget       float64
	CostModel    string // the cost model Budget is expressed in
	Refit        bool   // fit Budget's settings on the validation split, ignoring saved ones
	Batch        int    // images per batch (--batch)
	JSON         bool
}

func newCmdPredict(ios *IOStreams) *cobra.Command {
	opts := &PredictOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "predict RUN_DIR IMAGE... (--threshold T | --budget MACS) | predict RUN_DIR --split SPLIT ...",
		Short: "Classify images with real early exit",
		Long: `Classify images with the network of a training run, evaluating its exits in order
and stopping at the first one whose max softmax probability reaches its threshold (the last
exit takes every image); each exit computes only the nodes it needs that earlier exits did
not compute.

The thresholds are either
  --threshold T   the same T at every exit but the last, or
  --budget MACS   those of the budgeted-batch setting whose expected cost per image on the
                  validation split is the largest not above MACS (suffixes k, M, G allowed),
                  in the cost model --cost-model (reference, the papers' cumulative cost,
                  or cone, what early exit executes). The settings come from the
                  results "msdx eval RUN_DIR --weights WEIGHTS" saved, else (or with
                  --refit) they are fitted on the validation split now. Saved results
                  are used only for the weights they were computed with: when the
                  weights file has changed since (its SHA-256 differs from the one eval
                  recorded, or eval recorded none), predict refuses; rerun eval, or
                  pass --refit.

IMAGE files are JPEG, PNG, GIF, BMP, TIFF or WebP, of any size. Each is prepared as the
run's evaluation images were, by the same code: an image of the network's input size is used
as it is; any other is resized (bilinear, antialiased) to cover the input divided by the
run's crop ratio (0.875 unless train's --crop-ratio said otherwise: 256 for 224) and
centre-cropped to the input, except that an image of the size of a binary dataset's images
(CIFAR, MNIST) is padded or cropped as they were. Colour images are used as RGB (alpha
dropped) and grey images replicated to the network's channels; for a network trained on
grey images, colour is converted to grey (ITU-R 601 luma). Pixels are normalised with the
run's statistics. For each image msdx prints the predicted class, the exit taken, the
confidence and the time the network took.

--split SPLIT classifies a whole split of the run's dataset (val or test) in batches of
--batch images (as in "msdx eval" and "msdx bench"), images leaving the batch as they
exit, and prints the accuracy, the number of images leaving at each exit, the MACs
executed per image and the throughput.

predict writes nothing into RUN_DIR and takes no lock: it may run while the run trains or
is evaluated (every file of a run is replaced atomically), and then classifies with the
weights as they are when it reads them.`,
		Example: `  msdx predict runs/c10 cat.png dog.jpg --threshold 0.9
  msdx predict runs/c10 cat.png --budget 20M
  msdx predict runs/c10 --split test --budget 15M --cost-model cone`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usageError{errors.New("missing RUN_DIR")}
			}
			if opts.Split == "" && len(args) < 2 {
				return usageError{errors.New("give IMAGE files, or --split SPLIT")}
			}
			if opts.Split != "" && len(args) > 1 {
				return usageError{errors.New("--split classifies a split: give no IMAGE files")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RunDir, opts.Inputs = args[0], args[1:]
			if cmd.Flags().Changed("batch-size") {
				fmt.Fprintln(ios.ErrOut, "msdx: --batch-size is now --batch")
			}
			opts.HasThreshold = cmd.Flags().Changed("threshold")
			budget, _ := cmd.Flags().GetString("budget")
			if opts.HasThreshold == (budget != "") {
				return usageError{errors.New("give exactly one of --threshold and --budget")}
			}
			if opts.Refit && budget == "" {
				return usageError{errors.New("--refit fits the thresholds of --budget: give --budget")}
			}
			if opts.HasThreshold && (math.IsNaN(opts.Threshold) || math.IsInf(opts.Threshold, 0)) {
				return usageError{fmt.Errorf("--threshold %v: want a number", opts.Threshold)}
			}
			if budget != "" {
				b, err := parseMACs(budget)
				if err != nil {
					return usageError{fmt.Errorf("--budget: %w", err)}
				}
				opts.Budget = b
			}
			switch opts.CostModel {
			case evaluate.CostReference, evaluate.CostCone:
			default:
				return usageError{fmt.Errorf("--cost-model %q: want %s or %s", opts.CostModel, evaluate.CostReference, evaluate.CostCone)}
			}
			if opts.Split != "" && opts.Split != "val" && opts.Split != "test" {
				return usageError{fmt.Errorf("--split %q: want val or test", opts.Split)}
			}
			if err := checkEvalFlags("test", opts.Weights, opts.Batch); err != nil {
				return err
			}
			return predictRun(opts)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		// Before --batch meant images per batch in every command, predict's named a split.
		if strings.Contains(err.Error(), `for "--batch" flag`) {
			err = fmt.Errorf("%w (--batch is images per batch; name a split with --split SPLIT)", err)
		}
		return usageError{err}
	})
	f := cmd.Flags()
	f.Float64Var(&opts.Threshold, "threshold", 0, "confidence `T` at which an image leaves at an exit")
	f.String("budget", "", "expected `MACS` per image; picks a budgeted setting's thresholds")
	f.StringVar(&opts.CostModel, "cost-model", evaluate.CostReference, "cost model of --budget: reference or cone")
	f.BoolVar(&opts.Refit, "refit", false, "fit the --budget thresholds on the validation split now, ignoring those msdx eval saved")
	f.StringVar(&opts.Weights, "weights", "final", "weights: final, best or latest")
	f.StringVar(&opts.Split, "split", "", "classify the whole `SPLIT` (val or test) instead of image files")
	f.IntVar(&opts.Batch, "batch", 128, "images per batch with --split, and when fitting --budget")
	// --batch-size was the name of --batch before --batch meant images per batch in every
	// command; it keeps working, hidden, with a note on stderr (pflag's own deprecation
	// note would go to stdout, into --json output).
	f.IntVar(&opts.Batch, "batch-size", 128, "images per batch")
	_ = f.MarkHidden("batch-size")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// parseMACs reads a positive count with an optional k, M or G suffix.
func parseMACs(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a positive number of MACs", s)
	}
	return v * mult, nil
}

// PredictResult is the JSON form of one classified image.
type PredictResult struct {
	Input      string  `json:"input"`
	Class      int     `json:"class"`
	ClassName  string  `json:"class_name"`
	Exit       int     `json:"exit"` // from 1
	Confidence float32 `json:"confidence"`
	Seconds    float64 `json:"seconds"`
}

// PredictSplitResult is the JSON form of "msdx predict --split".
type PredictSplitResult struct {
	Split      string             `json:"split"`
	Thresholds dyneval.Thresholds `json:"thresholds"`
	N          int                `json:"n"`
	Correct    int                `json:"correct"`
	Top1       float64            `json:"top1_percent"`
	ExitCounts []int              `json:"exit_counts"`
	// MACsPerImage is what early exit executed, averaged over the images.
	MACsPerImage float64 `json:"macs_per_image"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_second"`
}

func predictRun(opts *PredictOptions) error {
	r, err := train.OpenRun(opts.RunDir)
	if err != nil {
		return err
	}
	net, digest, err := r.NetworkDigest(opts.Weights)
	if err != nil {
		return err
	}
	t, note, err := predictThresholds(opts, r, net, digest)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(opts.IO.ErrOut, "msdx:", note)
	}
	if opts.Split != "" {
		return predictSplit(opts, r, net, t)
	}
	return predictImages(opts, r, net, t)
}

// predictThresholds returns the thresholds the options ask for, and a note saying where
// they come from. digest is the SHA-256 of net's weights file (train.Run.NetworkDigest).
func predictThresholds(opts *PredictOptions, r *train.Run, net *nn.Network, digest string) (dyneval.Thresholds, string, error) {
	k := net.NumExits()
	if opts.HasThreshold {
		t := make(dyneval.Thresholds, k)
		for i := range t {
			t[i] = float32(opts.Threshold)
		}
		t[k-1] = dyneval.AcceptAll
		return t, "", nil
	}
	dir := evaluate.Dir(r.Dir, opts.Weights, "test")
	var res *dyneval.BudgetedResult
	fromEval := false // res is what msdx eval saved for the test split
	source := "thresholds fitted on the validation split (run msdx eval to save them)"
	if opts.Refit {
		source = "thresholds fitted on the validation split (--refit)"
	} else {
		saved, err := savedBudgeted(r, dir, opts.Weights, digest)
		if err != nil {
			return nil, "", err
		}
		if saved != nil {
			res, source, fromEval = saved, "the budgeted results in "+dir, true
		}
	}
	if res == nil {
		// Fit the settings on the validation split now; only their validation outcomes
		// are used, so the split the thresholds are applied to does not matter.
		val, err := r.EvalLoader("val", opts.Batch)
		if err != nil {
			return nil, "", err
		}
		if val.Len() == 0 {
			return nil, "", fmt.Errorf("run %s has no validation split to fit --budget thresholds on", r.Dir)
		}
		status := newStatusLine(opts.IO)
		out, err := evaluate.Outputs(net, val, func(done int) {
			status.Update("fitting the budget settings on the validation split", done, val.Len(), "images")
		})
		status.Done()
		if err != nil {
			return nil, "", err
		}
		if res, err = dyneval.Budgeted(out, out, evaluate.CostModels(net.Graph())); err != nil {
			return nil, "", err
		}
	}
	if res.NumExits != k {
		return nil, "", fmt.Errorf("%s: results for %d exits, the network has %d", dir, res.NumExits, k)
	}
	s, err := pickSetting(res, opts.CostModel, opts.Budget)
	if err != nil {
		return nil, "", err
	}
	note := fmt.Sprintf("--budget %s: setting p=%d (q=%.2f), expected %s MACs per image (%s) and %.2f%% top-1 on the validation split",
		dyneval.FormatCost(opts.Budget), s.P, s.Q, dyneval.FormatCost(s.Validation.ExpectedCost[opts.CostModel]), opts.CostModel, s.Validation.Top1)
	if fromEval {
		// msdx eval's table quotes the test split's figures for the same setting.
		note += fmt.Sprintf(" (%s and %.2f%% on the test split, as msdx eval shows them)", dyneval.FormatCost(s.Test.ExpectedCost[opts.CostModel]), s.Test.Top1)
	}
	note += "; from " + source
	return s.Thresholds, note, nil
}

// savedBudgeted returns the budgeted results "msdx eval" saved in dir for the run's
// weights, or nil when it saved none. Results saved for other weights than those with
// SHA-256 digest, or saved without the weights' hash (by an older msdx, or by an eval cut
// short before report.json), are an error: their thresholds would not give the costs and
// accuracies they promise.
func savedBudgeted(r *train.Run, dir, weights, digest string) (*dyneval.BudgetedResult, error) {
	doc, err := evaluate.Load(dir)
	report := filepath.Join(dir, "report.json")
	rerun := fmt.Sprintf("rerun \"msdx eval %s --weights %s\" to save thresholds for them, or pass --refit to fit them on the validation split now", r.Dir, weights)
	switch {
	case errors.Is(err, os.ErrNotExist):
		budgeted := filepath.Join(dir, "budgeted.json")
		if _, serr := os.Stat(budgeted); serr == nil {
			return nil, fmt.Errorf("%s has budgeted thresholds but there is no %s to say which weights they are for: %s", budgeted, report, rerun)
		}
		return nil, nil
	case err != nil:
		return nil, err
	case doc.WeightsSHA256 == "":
		return nil, fmt.Errorf("%s does not record which weights its budgeted thresholds were fitted for (an older msdx wrote it): %s", report, rerun)
	case doc.WeightsSHA256 != digest:
		return nil, fmt.Errorf("%s: the budgeted thresholds were fitted for other weights (sha256 %s) than the run's %s weights now (sha256 %s): %s",
			report, short(doc.WeightsSHA256), weights, short(digest), rerun)
	}
	return doc.Budgeted, nil
}

// short abbreviates a hex digest for messages.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "..."
	}
	return digest
}

// pickSetting returns the setting whose expected validation cost under model is the largest
// not above budget.
func pickSetting(res *dyneval.BudgetedResult, model string, budget float64) (*dyneval.BudgetSetting, error) {
	var best *dyneval.BudgetSetting
	cheapest := math.Inf(1)
	for i := range res.Settings {
		s := &res.Settings[i]
		c, ok := s.Validation.ExpectedCost[model]
		if !ok {
			return nil, fmt.Errorf("the budgeted results have no %q cost model", model)
		}
		cheapest = min(cheapest, c)
		if c <= budget && (best == nil || c > best.Validation.ExpectedCost[model]) {
			best = s
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: budget %s MACs is below the cheapest setting's %s", errNoBudget, dyneval.FormatCost(budget), dyneval.FormatCost(cheapest))
	}
	return best, nil
}

func predictSplit(opts *PredictOptions, r *train.Run, net *nn.Network, t dyneval.Thresholds) error {
	loader, err := r.EvalLoader(opts.Split, opts.Batch)
	if err != nil {
		return err
	}
	if loader.Len() == 0 {
		return fmt.Errorf("run %s has no %s images", r.Dir, opts.Split)
	}
	ee := nn.NewEarlyExit(net)
	res := PredictSplitResult{Split: opts.Split, Thresholds: t, ExitCounts: make([]int, net.NumExits())}
	var decisions []nn.Decision
	var elapsed time.Duration
	status := newStatusLine(opts.IO)
	for b := range loader.Batches() {
		batch := loader.Batch(0, b)
		start := time.Now()
		decisions = ee.Run(&kernels.Tensor{C: batch.C, N: batch.N, H: batch.H, W: batch.W, Data: batch.Data}, t.Accepts, decisions)
		elapsed += time.Since(start)
		for j, d := range decisions {
			res.ExitCounts[d.Exit]++
			if d.Class == int(batch.Labels[j]) {
				res.Correct++
			}
		}
		res.N += batch.N
		status.Update("early exit on the "+opts.Split+" split", res.N, loader.Len(), "images")
	}
	status.Done()
	res.Top1 = 100 * float64(res.Correct) / float64(res.N)
	res.MACsPerImage = float64(ee.MACs()) / float64(res.N)
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.ImagesPerSec = float64(res.N) / res.Seconds
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	term := opts.IO.IsTerminal
	counts := make([]string, len(res.ExitCounts))
	for k, n := range res.ExitCounts {
		counts[k] = strconv.Itoa(n)
	}
	tp := tableprinter.New(opts.IO.Out, term)
	tp.AddRow("split", "images", "top1", "exits", "macs_per_image", "seconds", "images_per_second")
	tp.AlignRight(1, 2, 4, 5, 6)
	tp.AddRow(res.Split, strconv.Itoa(res.N), pctString(res.Top1), strings.Join(counts, "/"),
		costString(term, res.MACsPerImage), strconv.FormatFloat(res.Seconds, 'f', 3, 64),
		strconv.FormatFloat(res.ImagesPerSec, 'f', 1, 64))
	return tp.Render()
}

func predictImages(opts *PredictOptions, r *train.Run, net *nn.Network, t dyneval.Thresholds) error {
	classes := r.DataInfo.Classes
	ee := nn.NewEarlyExit(net)
	var results []PredictResult
	var decisions []nn.Decision
	for _, name := range opts.Inputs {
		x, err := loadImage(name, r)
		if err != nil {
			return err
		}
		start := time.Now()
		decisions = ee.Run(x, t.Accepts, decisions)
		elapsed := time.Since(start)
		d := decisions[0]
		className := strconv.Itoa(d.Class)
		if d.Class < len(classes) {
			className = classes[d.Class]
		}
		results = append(results, PredictResult{Input: name, Class: d.Class, ClassName: className,
			Exit: d.Exit + 1, Confidence: d.Confidence, Seconds: elapsed.Seconds()})
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tp := tableprinter.New(opts.IO.Out, opts.IO.IsTerminal)
	tp.AddRow("input", "class", "exit", "confidence", "ms")
	tp.AlignRight(2, 3, 4)
	for _, p := range results {
		tp.AddRow(p.Input, p.ClassName, strconv.Itoa(p.Exit), strconv.FormatFloat(float64(p.Confidence), 'f', 4, 32),
			strconv.FormatFloat(1000*p.Seconds, 'f', 2, 64))
	}
	return tp.Render()
}

// loadImage reads an image file into a batch of one for the run's network, prepared as the
// run's evaluation images were (data.ReadImage) and normalised with the run's statistics.
func loadImage(name string, r *train.Run) (*kernels.Tensor, error) {
	in := r.Spec.Input
	fit := data.Fit{C: in[0], H: in[1], W: in[2]}
	pre := r.DataInfo.Preprocessing
	if pre == nil {
		// A run recorded before data.json said how its data were prepared: they were
		// padded or cropped.
		pre = &data.Preprocessing{Source: r.DataInfo.SourceShape, Method: "pad and crop"}
	}
	img, err := data.ReadImage(name, fit, pre)
	if err != nil {
		return nil, err
	}
	loader, err := data.NewLoader(img, nil, 1, data.LoaderConfig{BatchSize: 1, Stats: r.DataInfo.Stats})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	batch := loader.Batch(0, 0)
	return &kernels.Tensor{C: batch.C, N: batch.N, H: batch.H, W: batch.W, Data: batch.Data}, nil
}
