package cli

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams, and whether output goes to a terminal
// (human tables) or a pipe (tab-separated values).
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// IsTerminal reports whether Out is a terminal.
	IsTerminal bool
	// ErrWidth is the width in columns of the terminal ErrOut writes to, on which progress
	// is a status line redrawn in place and cut to fit; 0 when ErrOut is not a terminal,
	// where progress is a line now and then.
	ErrWidth int
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		IsTerminal: isTerminal(os.Stdout), ErrWidth: terminalWidth(os.Stderr)}
}

// isTerminal reports whether f is a terminal. A character device is not enough: /dev/null
// is one too, and output redirected there must not be drawn for people.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// terminalWidth returns the width of the terminal f, or 0 when f is not a terminal. A
// terminal that does not say its width counts as 80 columns.
func terminalWidth(f *os.File) int {
	if !isTerminal(f) {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return 80
	}
	return w
}

// printTitle says what the table that follows is: on a terminal as a line and a blank
// line; piped, as one line starting with "# " (as comments go in tab-separated files),
// so that a program reading several tables can tell them apart and skip the titles.
func printTitle(ios *IOStreams, format string, args ...any) {
	if ios.IsTerminal {
		fmt.Fprintf(ios.Out, format+"\n\n", args...)
		return
	}
	fmt.Fprintf(ios.Out, "# "+format+"\n", args...)
}
