package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/bench"
	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
)

// BenchOptions are the inputs of "msdx bench".
type BenchOptions struct {
	IO      *IOStreams
	Spec    string
	Sets    []string
	Batch   int
	Threads int
	MinTime time.Duration
	Scaling []int
	Rounds  int
	JSON    bool
}

func newCmdBench(ios *IOStreams) *cobra.Command {
	opts := &BenchOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "bench SPEC_OR_PRESET",
		Short: "Measure inference and training speed on msdx's kernels",
		Long: `Measure, on random weights and inputs, the inference latency and throughput up to each
exit (evaluation mode, computing only what exits 1..k need) and the training throughput
(forward, per-exit cross-entropy, backward and an SGD step). Wall-clock numbers depend on
the machine's load: compare with a peer measured in the same run (scripts/bench). Each
row also gives the heap allocations per image of one pass. --json prints the figures in
a stable schema documented in "go doc ./bench" (schema version 1), with the process CPU
time per image beside each rate.

--scaling 1,2 adds a scaling curve: training and all-exit inference images/s (and CPU time
per image) at each listed thread count, measured interleaved over --rounds rounds (medians),
so that a drifting load affects every count alike. Results are the same bits at every
thread count; only the speed changes. Piped, each table follows a line starting with "# "
that names it.`,
		Example: `  msdx bench msdnet-cifar100-anytime --batch 64 --threads 1
  msdx bench addad-cifar10 --scaling 1,2 --rounds 3 --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if opts.Batch < 1 {
				return usageError{fmt.Errorf("--batch must be at least 1")}
			}
			if opts.Rounds < 1 {
				return usageError{fmt.Errorf("--rounds must be at least 1")}
			}
			for _, n := range opts.Scaling {
				if n < 1 {
					return usageError{fmt.Errorf("--scaling: thread count %d, want at least 1", n)}
				}
			}
			return benchRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Sets, "set", nil, "override a spec field, `path=value` (repeatable)")
	f.IntVar(&opts.Batch, "batch", 64, "images per pass")
	f.IntVar(&opts.Threads, "threads", 0, "threads for the kernels (default: all cores)")
	f.DurationVar(&opts.MinTime, "time", 2*time.Second, "minimum time per measurement")
	f.IntSliceVar(&opts.Scaling, "scaling", nil, "also measure training and all-exit inference at these thread `counts` (e.g. 1,2)")
	f.IntVar(&opts.Rounds, "rounds", 3, "interleaved rounds of the --scaling curve")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func benchRun(opts *BenchOptions) error {
	s, g, err := loadGraph(opts.Spec, opts.Sets, "")
	if err != nil {
		return err
	}
	if opts.Threads > 0 {
		runtime.GOMAXPROCS(max(opts.Threads, slices.Max(append([]int{0}, opts.Scaling...))))
		kernels.SetThreads(opts.Threads)
	} else if len(opts.Scaling) > 0 {
		runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), slices.Max(opts.Scaling)))
	}
	init := nn.InitPyTorch
	if s.Fusion.Rule == spec.RuleRANet {
		init = nn.InitHeNormal
	}
	status := newStatusLine(opts.IO)
	res, err := bench.Run(g, init, bench.Options{Batch: opts.Batch, MinTime: opts.MinTime, Seed: 1,
		Scaling: opts.Scaling, Rounds: opts.Rounds,
		Progress: func(done, total int) {
			status.Update("measuring", done, total, "measurements")
		}})
	status.Done()
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Name string `json:"name"`
			*bench.Result
		}{s.Name, res})
	}
	printTitle(opts.IO, "%s  batch %d  %d threads  kernels %s", s.Name, res.Batch, res.Threads, res.Kernels)
	tp := tableprinter.New(opts.IO.Out, opts.IO.IsTerminal)
	tp.AlignRight(1, 2, 3, 4, 5)
	tp.AddRow("exit", "MACs", "ms/batch", "images/s", "GMAC/s", "allocs/image")
	macs := func(n int64) string { return strconv.FormatInt(n, 10) }
	if opts.IO.IsTerminal {
		macs = tableprinter.Human
	}
	for _, e := range res.Exits {
		tp.AddRow(strconv.Itoa(e.Exit), macs(e.MACs), fmt.Sprintf("%.2f", e.BatchSeconds*1e3),
			fmt.Sprintf("%.1f", e.ImagesPerSecond), fmt.Sprintf("%.1f", e.GMACsPerSecond), fmt.Sprintf("%.2f", e.AllocsPerImage))
	}
	tp.AddRow("train", "", fmt.Sprintf("%.2f", res.TrainStepSeconds*1e3), fmt.Sprintf("%.1f", res.TrainImagesPerSecond), "",
		fmt.Sprintf("%.2f", res.TrainAllocsPerImage))
	if err := tp.Render(); err != nil || len(res.Scaling) == 0 {
		return err
	}
	if opts.IO.IsTerminal {
		fmt.Fprintln(opts.IO.Out)
	}
	printTitle(opts.IO, "scaling: training and all-exit inference, medians of %d interleaved rounds", opts.Rounds)
	tp = tableprinter.New(opts.IO.Out, opts.IO.IsTerminal)
	tp.AlignRight(0, 1, 2, 3, 4, 5, 6)
	tp.AddRow("threads", "train img/s", "speedup", "train CPU ms/img", "infer img/s", "speedup", "infer CPU ms/img")
	base := res.Scaling[0]
	for _, p := range res.Scaling {
		tp.AddRow(strconv.Itoa(p.Threads),
			fmt.Sprintf("%.1f", p.TrainImagesPerSecond), fmt.Sprintf("%.2f", p.TrainImagesPerSecond/base.TrainImagesPerSecond),
			fmt.Sprintf("%.3f", p.TrainCPUSecondsPerImage*1e3),
			fmt.Sprintf("%.1f", p.InferenceImagesPerSecond), fmt.Sprintf("%.2f", p.InferenceImagesPerSecond/base.InferenceImagesPerSecond),
			fmt.Sprintf("%.3f", p.InferenceCPUSecondsPerImage*1e3))
	}
	return tp.Render()
}
