package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
)

// completeNames completes toComplete from names; when none matches, the shell completes
// file names instead (a spec or recipe may be a file).
func completeNames(names []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completePresets completes a SPEC_OR_PRESET argument with the preset names.
func completePresets(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeNames(spec.PresetNames(), toComplete)
}

// completeDirs completes directories: run and study directories.
func completeDirs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// completeValues completes a flag with a fixed set of values.
func completeValues(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeData completes --data: a KIND: prefix, then the shell completes the path.
func completeData(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, ":") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []string
	for _, k := range []string{"cifar10:", "cifar100:", "imagefolder:", "mnist:", "fashion-mnist:", "synthetic"} {
		if strings.HasPrefix(k, toComplete) {
			out = append(out, k)
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// argCompletions complete the positional arguments of commands, by command path.
var argCompletions = map[string]cobra.CompletionFunc{
	"msdx flops":          completePresets,
	"msdx spec show":      completePresets,
	"msdx export pytorch": completePresets,
	"msdx train":          completePresets,
	"msdx bench":          completePresets,
	"msdx eval":           completeDirs,
	"msdx pareto":         completeDirs,
	"msdx predict": func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveFilterDirs // RUN_DIR, then image files
		}
		return nil, cobra.ShellCompDirectiveDefault
	},
	"msdx search": func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"toml"}, cobra.ShellCompDirectiveFilterFileExt
	},
}

// flagCompletions complete flag values, by flag name, in every command that has the flag.
var flagCompletions = map[string]cobra.CompletionFunc{
	"base": completePresets,
	"recipe": func(_ *cobra.Command, _ []string, s string) ([]string, cobra.ShellCompDirective) {
		return completeNames(recipe.PresetNames(), s)
	},
	"data":       completeData,
	"resume":     completeDirs,
	"study":      completeDirs,
	"by":         completeValues("exit", "block", "layer", "kind"),
	"semantics":  completeValues("execution", "own-head", "cone"),
	"executor":   completeValues("local", "slurm"),
	"weights":    completeValues("final", "best", "latest"),
	"cost-model": completeValues("reference", "cone"),
	"format":     completeValues("svg", "png", "pdf"),
	"baselines":  completeValues("auto", "none", "cifar10", "cifar100"),
}

// flagValueCompletions complete flags whose values differ between commands, by command
// path and flag name.
var flagValueCompletions = map[string]map[string]cobra.CompletionFunc{
	"msdx eval":    {"split": completeValues("test", "val", "train")},
	"msdx predict": {"split": completeValues("val", "test")},
	"msdx search":  {"sampler": completeValues("auto", "asha", "random", "grid", "nsga2")},
}

// addCompletions registers the shell completions of cmd and its subcommands: preset and
// recipe names, directories and flag values.
func addCompletions(cmd *cobra.Command) {
	path := cmd.CommandPath()
	if f, ok := argCompletions[path]; ok && cmd.ValidArgsFunction == nil {
		cmd.ValidArgsFunction = f
	}
	for name, f := range flagCompletions {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
	for name, f := range flagValueCompletions[path] {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
	for _, c := range cmd.Commands() {
		addCompletions(c)
	}
}
