package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/export"
	"github.com/msdx/msdx/train"
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
		Use:   "pytorch SPEC_OR_PRESET|RUN_DIR",
		Short: "Print a standalone PyTorch module of the network",
		Long: `Print a Python module defining Net, a torch.nn.Module built from the same graph msdx
costs and runs, with load_msdx/save_msdx to exchange msdx parameter files (safetensors
layout). Its parameter count equals "msdx flops"'s.

Given a run directory (msdx train, msdx import), it exports the run's spec; load_msdx then
reads the run's RUN_DIR/final.safetensors.`,
		Example: `  msdx export pytorch addad-cifar10 > model.py
  msdx export pytorch runs/c10 > model.py`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if fi, err := os.Stat(opts.Spec); err == nil && fi.IsDir() {
				if _, err := os.Stat(filepath.Join(opts.Spec, train.RunFile)); err != nil {
					return fmt.Errorf("%s is a directory but not a run directory (it has no %s)", opts.Spec, train.RunFile)
				}
				opts.Spec = filepath.Join(opts.Spec, train.SpecFile)
			}
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
