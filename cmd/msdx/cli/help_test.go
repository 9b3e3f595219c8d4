package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// allCommands returns root and every command below it, depth first.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}

// exampleInvocations returns the msdx command lines of an Example, as arguments after
// "msdx": each line is split at "&&" and "|", a "source <(...)" is unwrapped, and the
// arguments end at a redirection. Comments and other programs' commands are left out.
func exampleInvocations(example string) [][]string {
	var out [][]string
	for _, line := range strings.Split(example, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, seg := range strings.FieldsFunc(strings.ReplaceAll(line, "&&", "|"), func(r rune) bool { return r == '|' }) {
			seg = strings.TrimSpace(seg)
			seg = strings.TrimSuffix(strings.TrimPrefix(seg, "source <("), ")")
			fields := strings.Fields(seg)
			if len(fields) == 0 || (fields[0] != "msdx" && fields[0] != "bin/msdx") {
				continue
			}
			args := []string{}
			for _, f := range fields[1:] {
				if f == ">" || f == "<" {
					break
				}
				args = append(args, f)
			}
			out = append(out, args)
		}
	}
	return out
}

// TestEveryCommandHasExample walks every command NewRoot returns, cobra's help and
// completion included, and fails for one whose --help shows no example, or whose
// examples do not parse: each msdx command line in an Example must name an existing
// command, with flags it has and arguments it accepts, and some line must run the
// command itself (or, for a group, one of its subcommands). Commands added later are caught too (issue 12).
func TestEveryCommandHasExample(t *testing.T) {
	ios := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	for _, cmd := range allCommands(NewRoot(ios)) {
		t.Run(cmd.CommandPath(), func(t *testing.T) {
			if strings.TrimSpace(cmd.Example) == "" {
				t.Fatalf("%q has no Example: give its --help at least one runnable example", cmd.CommandPath())
			}
			invocations := exampleInvocations(cmd.Example)
			if len(invocations) == 0 {
				t.Fatalf("Example of %q runs no msdx command:\n%s", cmd.CommandPath(), cmd.Example)
			}
			runsItself := !cmd.HasParent() // the root's example is the quick start
			for _, args := range invocations {
				// A fresh tree each time: parsing sets the commands' options.
				found, rest, err := NewRoot(ios).Find(args)
				if err != nil {
					t.Errorf("msdx %s: %v", strings.Join(args, " "), err)
					continue
				}
				if err := found.ParseFlags(rest); err != nil {
					t.Errorf("msdx %s: %v", strings.Join(args, " "), err)
					continue
				}
				if err := found.ValidateArgs(found.Flags().Args()); err != nil {
					t.Errorf("msdx %s: %v", strings.Join(args, " "), err)
				}
				// A group's example runs one of its subcommands.
				runsItself = runsItself || strings.HasPrefix(found.CommandPath()+" ", cmd.CommandPath()+" ")
			}
			if !runsItself {
				t.Errorf("no example of %q runs it:\n%s", cmd.CommandPath(), cmd.Example)
			}
		})
	}
}

// TestNoArgsShowsQuickStart checks that "msdx" alone prints the README's two commands
// (the section "Two commands") and exits 0.
func TestNoArgsShowsQuickStart(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Two commands\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var want []string
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(l, "    ") {
			want = append(want, strings.TrimSpace(l))
		}
	}
	if len(want) != 2 {
		t.Fatalf("README's Two commands has %d command lines, want 2: %q", len(want), want)
	}
	stdout, stderr, code := run(t, false)
	if code != ExitOK || stderr != "" {
		t.Errorf("msdx: exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	var got []string
	for _, l := range strings.Split(stdout, "\n") {
		if l := strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") && strings.Contains(QuickStart, l) {
			got = append(got, l)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quick start in the output of msdx (-README +msdx):\n%s", diff)
	}
}
