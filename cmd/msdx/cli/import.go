package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/refargs"
	"github.com/msdx/msdx/refimport"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/train"
)

// ImportOptions are the inputs of "msdx import".
type ImportOptions struct {
	IO         *IOStreams
	Checkpoint string
	Args       []string // the reference command line, after "--"
	ArgsFile   string
	Spec       string // a spec or preset instead of a command line
	Sets       []string
	Data       string
	Norm       string // the normalisation: "" (the reference's for the data), a --data name, or "data"
	Name       string // the spec's name, when given
	Out        string
}

// importRecipe is the recipe an imported run records: the reference repositories' own.
const importRecipe = "msdnet"

func newCmdImport(ios *IOStreams) *cobra.Command {
	opts := &ImportOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "import CHECKPOINT --data DATA --out RUN_DIR (--args-file FILE | --spec SPEC | -- REFERENCE_ARGS...)",
		Short: "Import a MSDNet-PyTorch or RANet-pytorch checkpoint as a run directory",
		Long: `Read a checkpoint saved by the main.py of kalviny/MSDNet-PyTorch or yangle15/RANet-pytorch
(CHECKPOINT, a .pth.tar written by torch.save, in its zip or legacy format) and write a run
directory, in the layout "msdx train" writes, that "msdx eval", "msdx predict",
"msdx pareto" and "msdx export pytorch" read.

The network is the one the checkpoint's command line builds: give that line after "--"
or in a file (--args-file, such as NAME.args.txt), as "msdx spec from-args" reads it, or
give a spec (--spec, a file or preset). Every tensor of the checkpoint's state_dict is
mapped to msdx's parameter or batch-norm buffer and its shape checked; a tensor left over
or missing is an error naming it. Batch-norm num_batches_tracked counters and the
optimizer state are not imported, and msdx says so.

--data is the dataset the network is evaluated on (as "msdx train --data" takes it). As
"msdx train" does, the run holds out validation images from its training split for
budgeted evaluation's thresholds (the msdnet recipe's 5000, at most a tenth); a reference
run trained without --use-valid has seen them, and one trained with it held out others.
Images are normalised as the reference dataloader does for the checkpoint's dataset
(--norm cifar10, cifar100 or ImageNet; by default the command line's --data, or the
spec's class count), or with the statistics of the training images (--norm data).`,
		Example: `  msdx import ckpt/model_best.pth.tar --args-file ckpt/args.txt --data cifar10:data/cifar-10-batches-bin --out runs/ref
  msdx import model.pth.tar --data synthetic --out runs/imported -- --arch msdnet --data cifar10 --nBlocks 4 --stepmode even --step 2 --base 4 --nChannels 8
  msdx import model.pth.tar --spec msdnet-cifar10-anytime --data imagefolder:cifar10.tar.gz --out runs/c10 && msdx eval runs/c10`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || cmd.ArgsLenAtDash() == 0 {
				return usageError{fmt.Errorf("give the checkpoint file")}
			}
			if dash := cmd.ArgsLenAtDash(); dash > 1 || dash < 0 && len(args) > 1 {
				return usageError{fmt.Errorf("one checkpoint at a time; the reference arguments go after --")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Checkpoint, opts.Args = args[0], args[1:]
			ways := 0
			for _, given := range []bool{len(opts.Args) > 0, opts.ArgsFile != "", opts.Spec != ""} {
				if given {
					ways++
				}
			}
			if ways != 1 {
				return usageError{fmt.Errorf("give the network once: the reference arguments after --, --args-file FILE or --spec SPEC")}
			}
			if len(opts.Sets) > 0 && opts.Spec == "" {
				return usageError{fmt.Errorf("--set changes a --spec; a reference command line says everything itself")}
			}
			if opts.Data == "" || opts.Out == "" {
				return usageError{fmt.Errorf("give --data (the dataset to evaluate on) and --out (the run directory)")}
			}
			return importRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ArgsFile, "args-file", "", "read the reference command line from `FILE`")
	f.StringVar(&opts.Spec, "spec", "", "the network as a spec file or preset instead of a command line")
	f.StringArrayVar(&opts.Sets, "set", nil, "override a field of --spec, `path=value` (repeatable)")
	f.StringVar(&opts.Data, "data", "", "dataset to evaluate on, `KIND:PATH` (as msdx train takes it)")
	f.StringVar(&opts.Norm, "norm", "", "normalisation: cifar10, cifar100, ImageNet (the reference dataloader's) or data")
	f.StringVar(&opts.Name, "name", "", "name the network `NAME` (default: the spec's, or ARCH-DATA-args)")
	f.StringVarP(&opts.Out, "out", "o", "", "the run directory to write (must not exist, or be empty)")
	return cmd
}

func importRun(opts *ImportOptions) error {
	var s *spec.Spec
	info := train.ImportInfo{Source: opts.Checkpoint}
	dataset := ""
	if opts.Spec != "" {
		var err error
		if s, err = spec.Resolve(opts.Spec, opts.Sets); err != nil {
			return err
		}
	} else {
		c, err := parseReference(opts.IO, opts.Args, opts.ArgsFile, opts.Name)
		if err != nil {
			return err
		}
		s, dataset = c.Spec, c.Data
		info.Args = strings.Join(c.Args, " ")
	}
	if opts.Name != "" {
		s.Name = opts.Name
	}
	stats, normNote, err := importStats(opts.Norm, dataset, s.Classes)
	if err != nil {
		return err
	}
	ck, err := refimport.Read(opts.Checkpoint)
	if err != nil {
		return err
	}
	g, err := builder.Build(s)
	if err != nil {
		return err
	}
	net, err := nn.New(g, nn.InitPyTorch, 0)
	if err != nil {
		return err
	}
	weights, res, err := refimport.Weights(ck, s, net)
	if err != nil {
		return err
	}
	sum, err := fileSHA256(opts.Checkpoint)
	if err != nil {
		return err
	}
	info.SHA256 = sum
	info.Repository = "kalviny/MSDNet-PyTorch"
	if s.Fusion.Rule == spec.RuleRANet {
		info.Repository = "yangle15/RANet-pytorch"
	}
	info.Arch, info.Epoch, info.BestPrec1, info.Ignored = ck.Arch, ck.Epoch, ck.BestPrec1, res.Ignored
	epochs := 0
	if ck.HasMeta && ck.Epoch >= 0 {
		epochs = int(ck.Epoch) + 1 // main.py saves the 0-based epoch just finished
	}
	r, err := train.Import(train.ImportOptions{
		Spec: s, Weights: weights, Data: opts.Data, Stats: stats,
		Recipe: importRecipe, Epochs: epochs, Out: opts.Out,
		Version: versionInfo().Version, Info: info,
		Log: func(line string) { fmt.Fprintln(opts.IO.ErrOut, line) },
	})
	if err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "imported %d tensors of %s (%s", res.Tensors, opts.Checkpoint, info.Repository)
	if ck.HasMeta {
		fmt.Fprintf(out, ", arch %s, epoch %d, best_prec1 %.2f", ck.Arch, ck.Epoch, ck.BestPrec1)
	}
	fmt.Fprintf(out, ") into %s: spec %s, %d exits\n", r.Dir, s.Name, len(g.Exits))
	for _, ig := range res.Ignored {
		fmt.Fprintf(out, "not imported: %s\n", ig)
	}
	fmt.Fprintf(out, "normalisation: %s\n", normNote)
	fmt.Fprintf(out, "validation: %d training images of %s, for budgeted evaluation's thresholds (the checkpoint's own training may have used them)\n",
		r.DataInfo.ValSize, r.Info.Data)
	fmt.Fprintf(out, "next: msdx eval %s\n", r.Dir)
	fmt.Fprintf(out, "in PyTorch: msdx export pytorch %s > model.py, then load_msdx(Net(), %q)\n", r.Dir, r.Path(train.FinalFile))
	return nil
}

// importStats returns the normalisation of an imported run and says what it is: the
// reference dataloader's for norm (a --data name), else for the command line's dataset,
// else for the dataset the class count names; nil for "data" (computed by Import).
func importStats(norm, dataset string, classes int) (*data.Stats, string, error) {
	switch norm {
	case "data":
		return nil, "the training images' own mean and standard deviation (--norm data)", nil
	case "":
		norm = dataset
		if norm == "" {
			byClasses := map[int]string{10: refargs.DataCIFAR10, 100: refargs.DataCIFAR100, 1000: refargs.DataImageNet}
			if norm = byClasses[classes]; norm == "" {
				return nil, "", usageError{fmt.Errorf("a spec with %d classes is none of the reference datasets: give --norm cifar10, cifar100, ImageNet or data", classes)}
			}
		}
	}
	st, ok := refargs.Normalization(norm)
	if !ok {
		return nil, "", usageError{fmt.Errorf("--norm %q: want cifar10, cifar100, ImageNet or data", norm)}
	}
	return &st, fmt.Sprintf("the reference dataloader's for %s, mean %v, std %v", norm, st.Mean, st.Std), nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
