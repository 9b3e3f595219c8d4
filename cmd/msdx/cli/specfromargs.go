package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/refargs"
)

// SpecFromArgsOptions are the inputs of "msdx spec from-args".
type SpecFromArgsOptions struct {
	IO       *IOStreams
	Args     []string // the reference command line, after main.py
	ArgsFile string   // a file holding it instead (NAME.args.txt)
	Name     string
	Out      string
}

func newCmdSpecFromArgs(ios *IOStreams) *cobra.Command {
	opts := &SpecFromArgsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "from-args [--out FILE] -- REFERENCE_ARGS... | from-args --args-file FILE",
		Short: "Write the spec of a reference command line (MSDNet-PyTorch, RANet-pytorch)",
		Long: `Translate the command line of a reference repository's main.py into an msdx spec:
--arch msdnet reads it as kalviny/MSDNet-PyTorch's args.py does, --arch RANet as
yangle15/RANet-pytorch's. Options not given take that parser's argparse defaults (not
msdx's spec defaults), long options may be abbreviated as argparse allows, and options that
do not change the network (--epochs, --lr, -j, --use-valid, ...) are accepted and listed as
ignored. Where the reference builds something unexpected, a note says so (MSDNet without
--stepmode builds the lin_grow schedule; --bottleneck False still means True).

Give the arguments after "--" (or, quoted, as one argument), or in a file with
--args-file (such as the NAME.args.txt next to a reference checkpoint). The spec is
printed as TOML, with the command line in a comment, or written to --out. "msdx flops" of
it gives the reference op counter's numbers; "msdx import" reads the repository's
checkpoints into it.`,
		Example: `  msdx spec from-args -- --arch msdnet --data cifar10 --nBlocks 10 --stepmode even --step 2 --base 4 --nChannels 16 > c10.toml
  msdx spec from-args --out ranet.toml -- --arch RANet --data cifar100 --step 4 --scale-list 1-2-3-3 --grFactor 4-2-1-1 --bnFactor 4-2-1-1
  msdx spec from-args --args-file model.args.txt --name mine`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if (len(args) == 0) == (opts.ArgsFile == "") {
				return usageError{fmt.Errorf("give the reference arguments after -- or with --args-file, not both")}
			}
			return specFromArgsRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ArgsFile, "args-file", "", "read the reference arguments from `FILE` (whitespace-separated)")
	f.StringVar(&opts.Name, "name", "", "the spec's name (default ARCH-DATA-args)")
	f.StringVarP(&opts.Out, "out", "o", "", "write the spec to `FILE` instead of printing it")
	return cmd
}

// referenceArgs returns the reference command line of args or, when it is empty, of the
// file name: a single argument holding spaces is split at them, as a shell would have.
func referenceArgs(args []string, name string) ([]string, error) {
	if name != "" {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		args = strings.Fields(string(b))
		if len(args) == 0 {
			return nil, fmt.Errorf("%s holds no arguments", name)
		}
		return args, nil
	}
	if len(args) == 1 {
		return strings.Fields(args[0]), nil
	}
	return args, nil
}

// parseReference parses a reference command line (args, or the file argsFile) into a
// spec named name, printing its notes on stderr.
func parseReference(ios *IOStreams, args []string, argsFile, name string) (*refargs.Command, error) {
	args, err := referenceArgs(args, argsFile)
	if err != nil {
		return nil, err
	}
	c, err := refargs.Parse(args, name)
	if err != nil {
		return nil, err
	}
	for _, n := range c.Notes {
		fmt.Fprintln(ios.ErrOut, "note:", n)
	}
	return c, nil
}

func specFromArgsRun(opts *SpecFromArgsOptions) error {
	c, err := parseReference(opts.IO, opts.Args, opts.ArgsFile, opts.Name)
	if err != nil {
		return err
	}
	if opts.Out == "" {
		_, err := opts.IO.Out.Write(c.TOML())
		return err
	}
	return atomicfile.WriteFile(opts.Out, c.TOML(), 0o644)
}
