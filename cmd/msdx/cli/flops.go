package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/spec"
)

// FlopsOptions are the inputs of "msdx flops".
type FlopsOptions struct {
	IO        *IOStreams
	Spec      string   // spec file or preset name
	Sets      []string // --set overrides
	Input     string   // --input CxHxW, a shorthand for --set input=...
	By        string   // exit, block, layer or kind
	Semantics string   // execution, own-head or cone
	JSON, CSV bool
}

func newCmdFlops(ios *IOStreams, run func(*FlopsOptions) error) *cobra.Command {
	opts := &FlopsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "flops SPEC_OR_PRESET",
		Short: "Print the exact per-exit cost of a network",
		Long: `Print the per-exit cost of a network without running it: MACs as the MSDNet/RANet
op counters count them, FLOPs, the fvcore count, parameters and activation elements
(batch of one).

Per-exit numbers are cumulative. --semantics picks how:
  execution  everything executed up to exit k, earlier heads included (the reference
             counters' numbers and the cost budgeted evaluation charges; default)
  own-head   the backbone before exit k plus exit k's own head
  cone       only what exit k depends on (what a real early exit pays)

--by block|layer|kind prints a breakdown instead (costs of each part, not cumulative).
--json prints one object whose "exits" array holds, in exit order, the integer fields
macs, params, flops, fvcore and activations (execution semantics) plus the same under
"own_head" and "cone". On a terminal numbers get SI units; piped output is tab-separated
with exact integers.`,
		Example: `  msdx flops msdnet-cifar10-anytime
  msdx flops addad-cifar100 --semantics cone
  msdx flops my-spec.toml --set blocks.count=6 --by block --csv
  msdx flops msdnet-imagenet --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if opts.JSON && opts.CSV {
				return usageError{fmt.Errorf("--json and --csv are exclusive")}
			}
			if _, err := flops.ParseSemantics(opts.Semantics); err != nil {
				return usageError{err}
			}
			switch opts.By {
			case "exit", "block", "layer", "kind":
			default:
				return usageError{fmt.Errorf("--by %q: want exit, block, layer or kind", opts.By)}
			}
			if run != nil {
				return run(opts)
			}
			return flopsRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Sets, "set", nil, "override a spec field, `path=value` (repeatable)")
	f.StringVar(&opts.Input, "input", "", "input shape `CxHxW` (default: the spec's)")
	f.StringVar(&opts.By, "by", "exit", "rows: exit, block, layer or kind")
	f.StringVar(&opts.Semantics, "semantics", "execution", "per-exit accumulation: execution, own-head or cone")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	f.BoolVar(&opts.CSV, "csv", false, "print CSV")
	return cmd
}

// loadGraph resolves a spec or preset with overrides and builds its graph.
func loadGraph(specArg string, sets []string, input string) (*spec.Spec, *graph.Graph, error) {
	if input != "" {
		sets = append(append([]string(nil), sets...), "input="+input)
	}
	s, err := spec.Resolve(specArg, sets)
	if err != nil {
		return nil, nil, err
	}
	g, err := builder.Build(s)
	if err != nil {
		return nil, nil, err
	}
	return s, g, nil
}

// FlopsReport is the JSON document of "msdx flops --json".
type FlopsReport struct {
	Name      string           `json:"name"`
	Hash      string           `json:"hash"`
	Input     [3]int           `json:"input"`
	Classes   int              `json:"classes"`
	Total     flops.Totals     `json:"total"`
	Exits     []flops.ExitCost `json:"exits"`
	Breakdown []flops.Row      `json:"breakdown,omitempty"`
	// By names the breakdown ("block", "layer" or "kind"); empty for per-exit output.
	By string `json:"by,omitempty"`
}

func flopsRun(opts *FlopsOptions) error {
	s, g, err := loadGraph(opts.Spec, opts.Sets, opts.Input)
	if err != nil {
		return err
	}
	rep := FlopsReport{Name: s.Name, Hash: s.Hash(), Input: s.Input, Classes: s.Classes,
		Total: flops.Total(g), Exits: flops.Exits(g)}
	switch opts.By {
	case "block":
		rep.Breakdown = flops.ByBlock(g)
	case "layer":
		rep.Breakdown = flops.ByLayer(g)
	case "kind":
		rep.Breakdown = flops.ByKind(g)
	}
	if rep.Breakdown != nil {
		rep.By = opts.By
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}

	header := []string{"exit", "MACs", "FLOPs", "fvcore", "params", "activations"}
	var rows [][]string
	var totals []flops.Totals
	if rep.Breakdown != nil {
		header[0] = opts.By
		for _, r := range rep.Breakdown {
			rows = append(rows, []string{r.Label})
			totals = append(totals, r.Totals)
		}
	} else {
		sem := flops.Semantics(opts.Semantics)
		for _, e := range rep.Exits {
			rows = append(rows, []string{strconv.Itoa(e.Exit)})
			totals = append(totals, e.Get(sem))
		}
	}
	format := func(n int64) string { return strconv.FormatInt(n, 10) }
	if opts.IO.IsTerminal && !opts.CSV {
		format = tableprinter.Human
	}
	for i, t := range totals {
		rows[i] = append(rows[i], format(t.MACs), format(t.FLOPs), format(t.FVCore), format(t.Params), format(t.Activations))
	}
	if opts.CSV {
		w := csv.NewWriter(opts.IO.Out)
		w.Write(header)
		w.WriteAll(rows)
		return w.Error()
	}
	if opts.IO.IsTerminal {
		what := "per exit, cumulative (" + opts.Semantics + ")"
		if rep.Breakdown != nil {
			what = "by " + opts.By
		}
		fmt.Fprintf(opts.IO.Out, "%s  input %s  %d classes  %d exits  %s params  — %s\n\n",
			s.Name, graph.Shape{C: s.Input[0], H: s.Input[1], W: s.Input[2]}, s.Classes, len(rep.Exits),
			tableprinter.Human(rep.Total.Params), what)
	}
	tp := tableprinter.New(opts.IO.Out, opts.IO.IsTerminal)
	tp.AlignRight(1, 2, 3, 4, 5)
	tp.AddRow(header...)
	for _, r := range rows {
		tp.AddRow(r...)
	}
	return tp.Render()
}
