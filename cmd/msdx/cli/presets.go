package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/tableprinter"
	"github.com/msdx/msdx/spec"
)

// PresetsOptions are the inputs of "msdx presets".
type PresetsOptions struct {
	IO   *IOStreams
	JSON bool
}

func newCmdPresets(ios *IOStreams, run func(*PresetsOptions) error) *cobra.Command {
	opts := &PresetsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "presets",
		Short: "List the built-in architecture presets",
		Example: `  msdx presets
  msdx presets --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if run != nil {
				return run(opts)
			}
			return presetsRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func presetsRun(opts *PresetsOptions) error {
	list := spec.Presets()
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tp := tableprinter.New(opts.IO.Out, opts.IO.IsTerminal)
	if opts.IO.IsTerminal {
		tp.AddRow("NAME", "DESCRIPTION")
	}
	for _, p := range list {
		tp.AddRow(p.Name, p.Description)
	}
	return tp.Render()
}
