package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/spec"
)

// SpecShowOptions are the inputs of "msdx spec show".
type SpecShowOptions struct {
	IO     *IOStreams
	Spec   string
	Sets   []string
	JSON   bool
	Expand bool
}

func newCmdSpec(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "spec",
		Short:   "Inspect architecture specs",
		Example: `  msdx spec show addad-cifar10`,
	}
	cmd.AddCommand(newCmdSpecShow(ios, nil), newCmdSpecFromArgs(ios))
	return cmd
}

func newCmdSpecShow(ios *IOStreams, run func(*SpecShowOptions) error) *cobra.Command {
	opts := &SpecShowOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "show SPEC_OR_PRESET",
		Short: "Print a spec fully resolved, in canonical TOML",
		Long: `Print a spec or preset with every default filled in and every override applied, in
canonical TOML (fixed key order), followed by its content hash as a comment. The hash
identifies the architecture: it ignores name, description, formatting and key order.
--expand writes every part out: the stem's and the head's layers and the fusion's units
instead of the names of shipped parts (a spec that builds the same network).`,
		Example: `  msdx spec show addad-cifar10
  msdx spec show addad-cifar10 --expand
  msdx spec show my-spec.toml --set blocks.count=4`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if run != nil {
				return run(opts)
			}
			return specShowRun(opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Sets, "set", nil, "override a spec field, `path=value` (repeatable)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&opts.Expand, "expand", false, "write out the layers and units of named parts")
	return cmd
}

func specShowRun(opts *SpecShowOptions) error {
	s, err := spec.Resolve(opts.Spec, opts.Sets)
	if err != nil {
		return err
	}
	hash := s.Hash()
	if opts.Expand {
		s = s.Expanded()
	}
	if opts.JSON {
		doc := struct {
			*spec.Spec
			Hash string `json:"hash"`
		}{s, hash}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	if _, err := opts.IO.Out.Write(s.Canonical()); err != nil {
		return err
	}
	_, err = opts.IO.Out.Write([]byte("# hash " + hash + "\n"))
	return err
}
