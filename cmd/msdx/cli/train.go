package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/train"
)

// ExitInterrupted is the exit code of a training run stopped by Ctrl-C or SIGTERM
// after writing a resumable checkpoint (128 + SIGINT, as shells report it).
const ExitInterrupted = 130

// exitCodeError is an error that asks for a particular exit code.
type exitCodeError struct {
	err  error
	code int
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

// ExitCode returns the process exit code the error asks for.
func (e exitCodeError) ExitCode() int { return e.code }

// TrainOptions are the inputs of "msdx train".
type TrainOptions struct {
	IO   *IOStreams
	Spec string
	Sets []string
	Data string
	// CropRatio and SkipBadImages are --crop-ratio and --skip-bad-images (train.Options).
	CropRatio     float64
	SkipBadImages bool
	Recipe        string
	RecipeSets    []string
	Seed          int64 // negative: the recipe's
	Epochs        int   // 0: the recipe's
	Threads       int
	Out           string
	Resume        string
	// CheckpointEvery is the number of batches between mid-epoch checkpoints; 0 is by time.
	CheckpointEvery int
	// Force resumes a run on another kernel path than its last session's.
	Force bool
	Quiet bool
	// JSON prints a TrainSummary instead of the test table.
	JSON bool
	// Context, when not nil, replaces the signal-cancelled context (for tests).
	Context context.Context
}

func newCmdTrain(ios *IOStreams) *cobra.Command {
	opts := &TrainOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "train SPEC_OR_PRESET --out RUN_DIR | train --resume RUN_DIR",
		Short: "Train a network and record the run in a directory",
		Long: `Train the network of a spec on a dataset with a recipe, recording everything in
the run directory RUN_DIR: the resolved spec and recipe, the dataset's fingerprint, its
normalisation and validation split (data.json), one line of per-exit training and
validation metrics per epoch (metrics.jsonl), checkpoints (checkpoints/latest and
checkpoints/best, by the last exit's validation top-1), the final weights
(final.safetensors) and the per-exit test metrics of the final and best weights
(test.json). See "go doc github.com/msdx/msdx/train" for the files' contents.

--data names the dataset as KIND:PATH: cifar10:DIR or cifar100:DIR (the Python versions
torchvision downloads, or the binary ones), imagefolder:DIR or a .tar.gz (torchvision's
ImageFolder layout: DIR/train/CLASS/*.jpg with DIR/val/... or DIR/test/..., or DIR/CLASS/...),
mnist:DIR, fashion-mnist:DIR, or synthetic (the built-in default). The spec's classes must
match the dataset's. Images are brought to the spec's input as the MSDNet and RANet ImageNet
scripts do: an image folder's images (any size, colour model and format) are resized,
keeping their aspect ratio, to cover the input divided by --crop-ratio (256 for 224 at the
default 0.875), then centre-cropped for evaluation; training takes random-resized crops of
the resized images when the recipe asks for them (the imagenet recipe does). Images that
already have the input's size are used as they are; the binary datasets' fixed-size images
are zero-padded or centre-cropped (MNIST's 28x28 to 32x32), grey images are replicated to
RGB. train says once what it changed, and data.json records it. Decoded image folders are
cached under the user cache folder (msdx/data), memory-mapped; nothing is written into
the dataset's folder. --skip-bad-images skips images that do not decode, listing them,
instead of stopping. --recipe names a recipe preset (quick, msdnet,
addad) or file; --recipe-set, --epochs and --seed override it. An --epochs no longer than
a preset recipe's warm-up shortens the warm-up to fit, with a note; a warm-up set in a
recipe file or with --recipe-set that does not fit is an error.

Ctrl-C or SIGTERM stops after the current batch with a resumable checkpoint (exit code
130; a second Ctrl-C kills at once); a checkpoint is also written every --checkpoint-every batches (by default when the
last is two minutes old), so that even a killed run loses little. "msdx train --resume
RUN_DIR" continues (with the recorded number of threads unless --threads is given), and
reproduces the uninterrupted run bit for bit on the same kernel path (avx512, avx2 or
generic, see "msdx version"): results do not depend on the thread count. run.json records
every session's msdx commit, Go version, kernel path, CPU model and thread count; resuming
on another kernel path is refused unless --force.

A NaN or infinite loss stops the run (status "failed" in run.json) and keeps the last
good checkpoint. Progress goes to stderr: a status line on a terminal, one line per
epoch otherwise; the per-exit test accuracy goes to stdout at the end (with --json, a
summary of the run: its directory, status, epochs, test metrics and the session's
provenance).`,
		Example: `  msdx train msdnet-cifar10-small --out runs/small
  msdx train msdnet-cifar10-small --data cifar10:data --epochs 30 --out runs/c10
  msdx train msdnet-imagenet --data imagefolder:imagenet --recipe imagenet --out runs/in
  msdx train msdnet-imagenet --set input=3x64x64 --set classes=100 --data imagefolder:photos --recipe imagenet --out runs/p64
  msdx train my-spec.toml --data fashion-mnist:/usr/share/datasets/fashion-mnist --set input=1x32x32 --out runs/fm
  msdx train --resume runs/c10`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.Resume != "" {
				return exactArgs(0)(cmd, args)
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Resume != "" {
				for _, name := range []string{"out", "data", "crop-ratio", "skip-bad-images", "recipe", "set", "recipe-set", "seed", "epochs"} {
					if cmd.Flags().Changed(name) {
						return usageError{fmt.Errorf("--%s cannot be changed when resuming: the run directory records it", name)}
					}
				}
			} else {
				if opts.Force {
					return usageError{errors.New("--force only applies with --resume")}
				}
				opts.Spec = args[0]
				if opts.Out == "" {
					return usageError{errors.New("--out RUN_DIR is required")}
				}
			}
			if !cmd.Flags().Changed("seed") {
				opts.Seed = -1
			} else if opts.Seed < 0 {
				return usageError{fmt.Errorf("--seed %d: want a seed of 0 or more", opts.Seed)}
			}
			if !(opts.CropRatio > 0 && opts.CropRatio <= 1) {
				return usageError{fmt.Errorf("--crop-ratio %v: want a number in (0, 1]", opts.CropRatio)}
			}
			if opts.Epochs < 0 {
				return usageError{fmt.Errorf("--epochs %d: want 1 or more (or leave it out for the recipe's)", opts.Epochs)}
			}
			if opts.CheckpointEvery < 0 {
				return usageError{fmt.Errorf("--checkpoint-every %d: want 0 (by time) or a number of batches", opts.CheckpointEvery)}
			}
			return trainRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", "synthetic", "dataset `KIND:PATH`")
	f.Float64Var(&opts.CropRatio, "crop-ratio", 0.875, "fraction `R` of a resized image that evaluation's centre crop keeps")
	f.BoolVar(&opts.SkipBadImages, "skip-bad-images", false, "skip images that do not decode, with a count, instead of stopping")
	f.StringVar(&opts.Recipe, "recipe", "quick", "recipe preset or file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override a spec field, `path=value` (repeatable)")
	f.StringArrayVar(&opts.RecipeSets, "recipe-set", nil, "override a recipe field, `path=value` (repeatable)")
	f.Int64Var(&opts.Seed, "seed", 0, "seed of initialisation, shuffling and augmentation (default: the recipe's)")
	f.IntVar(&opts.Epochs, "epochs", 0, "train for `N` epochs (default: the recipe's)")
	f.IntVar(&opts.Threads, "threads", 0, "use `N` kernel threads (default: all cores; on resume, the run's)")
	f.StringVar(&opts.Out, "out", "", "create the run in `RUN_DIR`")
	f.StringVar(&opts.Resume, "resume", "", "continue the run in `RUN_DIR`")
	f.IntVar(&opts.CheckpointEvery, "checkpoint-every", 0, "write a checkpoint every `N` batches (0: when the last is 2 minutes old)")
	f.BoolVar(&opts.Force, "force", false, "with --resume: continue on another kernel path than the run's (not bit-identical)")
	f.BoolVar(&opts.JSON, "json", false, "print a JSON summary of the finished run")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print no progress and no notes, only errors and the results")
	return cmd
}

func trainRun(opts *TrainOptions) error {
	ctx, stop := interruptContext(opts.Context)
	defer stop()
	sess := train.Session{Threads: opts.Threads, CheckpointEvery: opts.CheckpointEvery, ForceKernels: opts.Force}
	if !opts.Quiet {
		sess.Progress = train.NewTextProgress(opts.IO.ErrOut, opts.IO.ErrWidth)
		sess.Log = func(s string) { fmt.Fprintln(opts.IO.ErrOut, "msdx:", s) }
	}
	var r *train.Run
	var err error
	if opts.Resume != "" {
		r, err = train.Resume(ctx, opts.Resume, versionInfo().Version, sess)
	} else {
		sets := opts.RecipeSets
		if opts.Seed >= 0 {
			sets = append(sets, "seed="+strconv.FormatInt(opts.Seed, 10))
		}
		r, err = train.Train(ctx, train.Options{
			Spec: opts.Spec, SpecSets: opts.Sets, Data: opts.Data,
			CropRatio: opts.CropRatio, SkipBadImages: opts.SkipBadImages,
			Recipe: opts.Recipe, RecipeSets: sets, Epochs: opts.Epochs, Out: opts.Out,
			Version: versionInfo().Version, Session: sess,
		})
	}
	if errors.Is(err, train.ErrInterrupted) {
		return exitCodeError{err, ExitInterrupted}
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		return printTrainSummary(opts.IO, r)
	}
	return printTest(opts.IO, r)
}

// TrainSummary is what "msdx train --json" prints when the run has finished.
type TrainSummary struct {
	Run    string `json:"run"`
	Status string `json:"status"`
	// Spec and SpecHash name the network (run.json's spec_name and spec_hash).
	Spec     string `json:"spec"`
	SpecHash string `json:"spec_hash"`
	Data     string `json:"data"`
	Seed     int64  `json:"seed"`
	// EpochsDone of Epochs.
	EpochsDone int `json:"epochs_done"`
	Epochs     int `json:"epochs"`
	// Test is test.json: per-exit test metrics of the final and best weights; absent
	// when the dataset has no test split.
	Test *train.TestResult `json:"test,omitempty"`
	// Session is the provenance of the session that ended the run (run.json's last session).
	Session *train.Provenance `json:"session,omitempty"`
}

// printTrainSummary prints the TrainSummary of a finished run as JSON.
func printTrainSummary(ios *IOStreams, r *train.Run) error {
	sum := TrainSummary{Run: r.Dir, Status: r.Info.Status, Spec: r.Info.SpecName, SpecHash: r.Info.SpecHash,
		Data: r.Info.Data, Seed: r.Info.Seed, EpochsDone: r.Info.EpochsDone, Epochs: r.Info.Epochs}
	if n := len(r.Info.Sessions); n > 0 {
		sum.Session = &r.Info.Sessions[n-1]
	}
	res, err := r.Test()
	switch {
	case err == nil:
		sum.Test = res
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	enc := json.NewEncoder(ios.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// printTest prints the per-exit test metrics of a finished run.
func printTest(ios *IOStreams, r *train.Run) error {
	res, err := r.Test()
	if errors.Is(err, os.ErrNotExist) {
		_, err = fmt.Fprintf(ios.Out, "run %s finished; the dataset has no test split\n", r.Dir)
		return err
	}
	if err != nil {
		return err
	}
	tp := tableprinter.New(ios.Out, ios.IsTerminal)
	tp.AddRow("exit", "top1", "top5", "loss", "best_top1")
	tp.AlignRight(0, 1, 2, 3, 4)
	for k, m := range res.Final {
		best := ""
		if k < len(res.Best) {
			best = pct(res.Best[k].Top1)
		}
		tp.AddRow(strconv.Itoa(k+1), pct(m.Top1), pct(m.Top5), strconv.FormatFloat(m.Loss, 'f', 4, 64), best)
	}
	return tp.Render()
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 2, 64) }
