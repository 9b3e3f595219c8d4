// Package cli implements the msdx command line: one file per command, each with an options
// struct so that commands run in tests without a process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes of the msdx process.
const (
	ExitOK    = 0 // success
	ExitError = 1 // the command failed: bad spec or data, I/O error, failed run
	ExitUsage = 2 // the command line itself is wrong: unknown flag, missing argument
	// An interrupted "msdx train" (Ctrl-C, SIGTERM) exits 130 after writing a resumable
	// checkpoint.
)

// usageError marks errors in the command line, which exit with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// NewRoot returns the msdx root command with every subcommand.
func NewRoot(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "msdx",
		Short: "Explore multi-exit image classifiers with an exact cost model",
		Long: `msdx describes multi-exit image classifiers (MSDNet, RANet, the fusion/stem model of
Addad et al. 2023) as TOML specs, costs them per exit exactly as the reference op counters
do, and runs them on its own CPU kernels.

A SPEC_OR_PRESET argument is a spec file or the name of a built-in preset ("msdx presets").

Exit codes: 0 success, 1 failure (bad spec or data, I/O error), 2 bad command line,
130 training interrupted (resumable).`,
		Example:       QuickStart,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetIn(ios.In)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newCmdFlops(ios, nil),
		newCmdPresets(ios, nil),
		newCmdSpec(ios),
		newCmdVersion(ios),
		newCmdExport(ios),
		newCmdImport(ios),
		newCmdTrain(ios),
		newCmdBench(ios),
		newCmdEval(ios),
		newCmdPredict(ios),
		newCmdAblate(ios),
		newCmdTrial(ios),
		newCmdSearch(ios),
		newCmdPareto(ios),
	)
	addCompletions(root)
	// cobra adds its help and completion commands when the root runs; adding them now lets
	// them carry examples too, and lets tests see every command NewRoot returns.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  msdx help train"
		}
		if c.Name() == "completion" {
			c.Example = "  source <(msdx completion bash)"
			for _, sh := range c.Commands() {
				sh.Example = completionExamples[sh.Name()]
			}
		}
	}
	return root
}

// QuickStart is the README's "Two commands", which "msdx" with no arguments shows: build
// and run the main job from the source tree, and run the tests.
const QuickStart = `  # quick start, in the source tree: build, train a small MSDNet on built-in data, evaluate it
  go build -o bin/msdx ./cmd/msdx && bin/msdx train msdnet-cifar10-small --out runs/demo && bin/msdx eval runs/demo
  # run the tests
  go test ./...`

// completionExamples are the examples of cobra's completion subcommands, by shell.
var completionExamples = map[string]string{
	"bash":       "  source <(msdx completion bash)",
	"zsh":        `  msdx completion zsh > "${fpath[1]}/_msdx"`,
	"fish":       "  msdx completion fish | source",
	"powershell": "  msdx completion powershell | Out-String | Invoke-Expression",
}

// Main runs msdx with args and returns the process exit code.
func Main(ios *IOStreams, args []string) int {
	root := NewRoot(ios)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(ios.ErrOut, "msdx:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return ExitUsage
		}
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return ExitError
	}
	return ExitOK
}

// exactArgs is cobra.ExactArgs reporting a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// interruptContext returns ctx when it is not nil (tests), and otherwise a context that
// the first Ctrl-C or SIGTERM cancels, so that the command can stop cleanly (trials and
// runs checkpoint); a second signal then kills the process as usual.
func interruptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx != nil {
		return ctx, func() {}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}
