package cli

import (
	"github.com/spf13/cobra"

	"github.com/msdx/msdx/export"
)

// ExportOptions are the inputs of "msdx export pytorch".
type ExportOptions struct {
	IO   *IOStreams
	Spec string
	Sets []string
}

func newCmdExport(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "export",
		Short:   "Write a network in another framework's terms",
		Example: `  msdx export pytorch addad-cifar10 > model.py`,
	}
	opts := &ExportOptions{IO: ios}
	pt := &cobra.Command{
		Use:   "pytorch SPEC_OR_PRESET",
		Short: "Print a standalone PyTorch module of the network",
		Long: `Print a Python module defining Net, a torch.nn.Module built from the same graph msdx
costs and runs, with load_msdx/save_msdx to exchange msdx parameter files (safetensors
layout). Its parameter count equals "msdx flops"'s.`,
		Example: `  msdx export pytorch addad-cifar10 > model.py`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			s, g, err := loadGraph(opts.Spec, opts.Sets, "")
			if err != nil {
				return err
			}
			return export.PyTorch(opts.IO.Out, g, export.Info{SpecName: s.Name, SpecHash: s.Hash(), Version: versionInfo().Version})
		},
	}
	pt.Flags().StringArrayVar(&opts.Sets, "set", nil, "override a spec field, `path=value` (repeatable)")
	cmd.AddCommand(pt)
	return cmd
}
