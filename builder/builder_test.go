package builder_test

import (
	"strings"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// TestRejectsHeadsThatCannotRun covers the configurations the reference builds but cannot
// run (architectures.md §4, rows E8 and E18): the error names the file, line and field.
func TestRejectsHeadsThatCannotRun(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{
			name: "E8 two scales",
			file: "extends = \"msdnet-cifar10-anytime\"\n[scales]\ngr_factor = [1, 2]\nbn_factor = [1, 2]\n",
			want: []string{"e.toml:3: scales.gr_factor:", "16x16", "512 features"},
		},
		{
			name: "E18 four scales",
			file: "extends = \"msdnet-cifar10-anytime\"\n\n[scales]\ngr_factor = [1, 2, 4, 4]\nbn_factor = [1, 2, 4, 4]\n",
			want: []string{"e.toml:4: scales.gr_factor:", "4x4", "too small"},
		},
		{
			name: "MSDNet head on a 64x64 input",
			file: "extends = \"msdnet-cifar10-anytime\"\ninput = [3, 64, 64]\n",
			want: []string{"scales.gr_factor:", "16x16"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := spec.Parse("e.toml", []byte(tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = builder.Build(s)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestAdaptiveHeadRunsAnywhere checks that the paper's head accepts the maps MSDNet's head
// rejects, as its adaptive pooling allows.
func TestAdaptiveHeadRunsAnywhere(t *testing.T) {
	for _, gr := range []string{"1-2", "1-2-4-4"} {
		s, err := spec.Resolve("addad-cifar10", []string{"scales.gr_factor=" + gr, "scales.bn_factor=" + gr})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := builder.Build(s); err != nil {
			t.Errorf("gr_factor %s: %v", gr, err)
		}
	}
}

// TestDenseFusionReadsUpdatedFinerScale checks the one wiring difference between MSDNet and
// the fusion of Addad et al.: the down unit's input.
func TestDenseFusionReadsUpdatedFinerScale(t *testing.T) {
	for _, tt := range []struct {
		rule string
		want string // name of the node the scale-1 down unit of layer 2 reads
	}{
		{spec.RuleMSDNet, "layer1/scale0/concat"},
		{spec.RuleDense, "layer2/scale0/concat"},
	} {
		s, err := spec.Resolve("msdnet-cifar10-anytime", []string{"fusion.rule=" + tt.rule})
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		var reads string
		for _, n := range g.Nodes {
			if n.Name == "layer2/scale1/down/bottleneck/conv" {
				reads = g.Nodes[n.Inputs[0]].Name
			}
		}
		if reads != tt.want {
			t.Errorf("%s: layer 2's scale-1 down unit reads %q, want %q", tt.rule, reads, tt.want)
		}
	}
}

// TestEveryExitEndsInLinear checks the graph's exit bookkeeping on every preset.
func TestEveryExitEndsInLinear(t *testing.T) {
	for _, p := range spec.Presets() {
		s, err := spec.Preset(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range g.Exits {
			out := g.Nodes[e.Output]
			if out.Op.Kind != graph.Linear || out.Out.C != s.Classes || out.Exit != e.Index {
				t.Errorf("%s exit %d ends in %s (%v), want its own linear to %d classes", p.Name, e.Index, out.Name, out.Op.Kind, s.Classes)
			}
		}
	}
}

// TestNodesRecordTheirPart checks the part the builder records for every node of every
// preset against the node names, which today's parts spell out: heads under "exitK/", the
// stem and the first layer's other convs under "stem" and "first/", transitions with
// "transition" in their name.
func TestNodesRecordTheirPart(t *testing.T) {
	for _, p := range spec.Presets() {
		s, err := spec.Preset(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range g.Nodes {
			want := graph.PartLayer
			switch {
			case n.Role == graph.RoleHead:
				want = graph.PartHead
			case strings.HasPrefix(n.Name, "stem") || strings.HasPrefix(n.Name, "first/"):
				want = graph.PartStem
			case strings.Contains(n.Name, "transition"):
				want = graph.PartTransition
			}
			if n.Part != want {
				t.Errorf("%s: node %s is recorded as part %q, want %q", p.Name, n.Name, n.Part, want)
			}
		}
	}
}
