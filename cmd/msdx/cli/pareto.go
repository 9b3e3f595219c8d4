package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/report"
)

// ParetoOptions are the inputs of "msdx pareto".
type ParetoOptions struct {
	IO      *IOStreams
	Dirs    []string // run and study directories
	Out     string   // the HTML report's path
	Figures string   // directory receiving each figure separately
	Format  string   // svg, png or pdf
	Title   string
	// Baselines chooses the published baselines drawn (report.Options.Baselines).
	Baselines string
	JSON      bool
	// Now and Machine describe the report's making; zero values mean the clock and
	// report.DetectMachine (tests fix them).
	Now     time.Time
	Machine *report.Machine
}

func newCmdPareto(ios *IOStreams) *cobra.Command {
	opts := &ParetoOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "pareto RUN_OR_STUDY_DIR... --out report.html",
		Short: "Report accuracy against cost of runs and studies, with the Pareto front, as one HTML page",
		Long: `Build a report of accuracy against cost from evaluated training runs ("msdx train",
then "msdx eval") and study directories, and write it as one self-contained HTML page
(--out): figures inline as SVG with fonts embedded, no script, no external URL.

The report holds: a header saying what was run (data, recipes, epochs, seeds, msdx
versions, the machine); anytime curves (test top-1 of every exit against the cumulative
MACs of reaching it, reference cost model); budgeted-batch curves; the Pareto front over
every exit of every model, non-dominated points highlighted, with its hypervolume against
the reference point (1.1 × the largest cost, 0 % top-1); for an ablation study with an
ablation.json, the table of variants and the chart of the effects; and the per-exit cost
of each network stacked by stem, blocks, transitions and heads.

A study contributes one series per ablation variant (mean ± sd over seeds) when it has an
ablation.json, otherwise one per evaluated trial. Colours follow the order of the inputs
and are the same in every figure.

Published MSDNet and RANet results (architectures.md §7, shipped with msdx with their
sources) are drawn grey and dashed when every input trained on CIFAR-10 (data
cifar10:DIR), or every input on CIFAR-100; they are for the original CIFAR data and
300-epoch training. --baselines none leaves them out, and --baselines cifar10 or cifar100
draws them whatever the data (CIFAR as an image folder, say), with a note.

--figures DIR also writes each figure to DIR/NAME.FORMAT (--format svg, png or pdf) for a
paper. --json prints the report's data model instead of a summary.`,
		Example: `  msdx pareto runs/c10 --out report.html
  msdx pareto studies/fusion-stem runs/msdnet runs/ranet --out report.html --figures figs --format pdf
  msdx pareto runs/c10 --json | jq '.pareto.hypervolume'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("give at least one run or study directory")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dirs = args
			if opts.Out == "" && opts.Figures == "" && !opts.JSON {
				return usageError{fmt.Errorf("nothing to write: give --out FILE, --figures DIR or --json")}
			}
			if !slices.Contains(report.Formats, opts.Format) {
				return usageError{fmt.Errorf("--format %q: want %s", opts.Format, strings.Join(report.Formats, ", "))}
			}
			switch opts.Baselines {
			case "auto":
				opts.Baselines = report.BaselinesAuto
			case report.BaselinesNone, "cifar10", "cifar100":
			default:
				return usageError{fmt.Errorf("--baselines %q: want auto (those of the data when it is CIFAR), none, cifar10 or cifar100", opts.Baselines)}
			}
			if cmd.Flags().Changed("format") && opts.Figures == "" {
				return usageError{fmt.Errorf("--format needs --figures DIR")}
			}
			return paretoRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "write the HTML report to `FILE`")
	f.StringVar(&opts.Figures, "figures", "", "also write each figure to `DIR`")
	f.StringVar(&opts.Format, "format", "svg", "format of --figures: svg, png or pdf")
	f.StringVar(&opts.Title, "title", "", "title of the report")
	f.StringVar(&opts.Baselines, "baselines", "auto", "published baselines to draw: auto (the data's when it is CIFAR), none, cifar10 or cifar100")
	f.BoolVar(&opts.JSON, "json", false, "print the report's data model as JSON")
	return cmd
}

func paretoRun(opts *ParetoOptions) error {
	machine := report.DetectMachine()
	if opts.Machine != nil {
		machine = *opts.Machine
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r, err := report.Build(opts.Dirs, report.Options{
		Title: opts.Title, Generator: versionInfo().Version, Go: runtime.Version(), Machine: machine, Now: now,
		Baselines: opts.Baselines,
	})
	if err != nil {
		return err
	}
	var figs []*report.Figure
	if opts.Out != "" || opts.Figures != "" {
		if figs, err = report.Figures(r); err != nil {
			return err
		}
	}
	if opts.Figures != "" {
		if err := os.MkdirAll(opts.Figures, 0o755); err != nil {
			return err
		}
		for _, f := range figs {
			name := filepath.Join(opts.Figures, f.ID+"."+opts.Format)
			if err := atomicfile.Write(name, 0o644, func(w io.Writer) error { return f.Write(w, opts.Format) }); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
	}
	if opts.Out != "" {
		if err := atomicfile.Write(opts.Out, 0o644, func(w io.Writer) error { return report.WriteHTML(w, r, figs) }); err != nil {
			return fmt.Errorf("writing %s: %w", opts.Out, err)
		}
	}
	summary := opts.IO.Out
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
		summary = opts.IO.ErrOut
	}
	front := 0
	for _, p := range r.Pareto.Points {
		if p.Front {
			front++
		}
	}
	if opts.Out != "" {
		fmt.Fprintf(summary, "wrote %s: %d series, %d of %d exits on the Pareto front (hypervolume %.4g of the reference box), %d figures\n",
			opts.Out, len(r.Series), front, len(r.Pareto.Points), r.Pareto.Normalised, len(figs))
	}
	if opts.Figures != "" {
		fmt.Fprintf(summary, "wrote %d figures to %s as %s\n", len(figs), opts.Figures, opts.Format)
	}
	return nil
}
