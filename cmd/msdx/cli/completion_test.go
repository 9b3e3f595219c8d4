package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
)

// TestCompletion runs cobra's hidden __complete command, as the shell scripts of
// "msdx completion" do, and checks the candidates and the directive that ends them.
func TestCompletion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"presets", []string{"flops", ""}, append(spec.PresetNames(), ":4")},
		{"presets by prefix", []string{"train", "ranet"}, []string{"ranet-cifar10", "ranet-cifar100", ":4"}},
		{"a spec file", []string{"flops", "./my"}, []string{":0"}},
		{"one spec only", []string{"flops", "ranet-cifar10", ""}, []string{":4"}},
		{"base preset", []string{"ablate", "--base", "addad-cifar10-"}, []string{"addad-cifar10-paper", "addad-cifar10-small", ":4"}},
		{"recipes", []string{"train", "msdnet-cifar10-small", "--recipe", ""}, append(recipe.PresetNames(), ":4")},
		{"flag values", []string{"flops", "ranet-cifar10", "--semantics", ""}, []string{"execution", "own-head", "cone", ":4"}},
		{"eval splits", []string{"eval", "runs/x", "--split", "t"}, []string{"test", "train", ":4"}},
		{"predict splits", []string{"predict", "runs/x", "--split", ""}, []string{"val", "test", ":4"}},
		{"data kinds", []string{"train", "msdnet-cifar10-small", "--data", "f"}, []string{"fashion-mnist:", ":6"}},
		{"run directories", []string{"eval", ""}, []string{":16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := run(t, false, append([]string{"__complete"}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			if diff := cmp.Diff(tt.want, strings.Fields(out)); diff != "" {
				t.Errorf("msdx __complete %q (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
