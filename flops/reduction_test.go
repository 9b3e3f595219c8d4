package flops_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// transitions returns the transition convs of g as "name in->out" strings.
func transitions(g *graph.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		if n.Op.Kind == graph.Conv && strings.Contains(n.Name, "/transition") {
			out = append(out, fmt.Sprintf("%s %d->%d", n.Name, n.In[0].C, n.Out.C))
		}
	}
	return out
}

// TestReduction checks reductions of 1 and more, which the reference builds: the
// transitions stay (1x1 convs that keep, or widen, the width) and cost more than halving.
func TestReduction(t *testing.T) {
	for _, preset := range []string{"msdnet-cifar10-small", "ranet-cifar10"} {
		t.Run(preset, func(t *testing.T) {
			var prev int64
			for _, r := range []string{"0.5", "1", "1.5"} {
				s, err := spec.Resolve(preset, []string{"reduction=" + r})
				if err != nil {
					t.Fatal(err)
				}
				g, err := builder.Build(s)
				if err != nil {
					t.Fatalf("reduction %s: %v", r, err)
				}
				tr := transitions(g)
				if len(tr) == 0 {
					t.Fatalf("reduction %s: no transition convs", r)
				}
				for _, x := range tr {
					var name string
					var in, out int
					if _, err := fmt.Sscanf(x, "%s %d->%d", &name, &in, &out); err != nil {
						t.Fatal(err)
					}
					// MSDNet's transitions give floor(r·c)·gr[s] channels, RANet's floor(r·C).
					ok := map[string]bool{"0.5": out <= in/2, "1": out == in, "1.5": out > in && out <= in*3/2}[r]
					if !ok {
						t.Errorf("reduction %s: %s", r, x)
					}
				}
				exits := flops.Exits(g)
				macs := exits[len(exits)-1].MACs
				if macs <= prev {
					t.Errorf("reduction %s: %d MACs at the last exit, not more than the previous reduction's %d", r, macs, prev)
				}
				prev = macs
			}
		})
	}
}

// TestReductionTooSmall checks that a reduction leaving a transition no channels is
// rejected with an error naming the field and the transition.
func TestReductionTooSmall(t *testing.T) {
	tests := []struct {
		preset, reduction, want string
	}{
		{"msdnet-cifar10-small", "0.01", "--set:1: reduction: 0.01 gives floor(0.01*34) = 0 channels at the transition after layer 3 (block 2); want at least 1/34 there, or 0 for no transitions (--set reduction=0.01)"},
		{"ranet-cifar10", "0.001", "--set:1: reduction: 0.001 gives floor(0.001*185) = 0 channels at the transition after flow 1 block 2; want at least 1/185 there, or 0 for no transitions (--set reduction=0.001)"},
		{"msdnet-cifar10-small", "1e6", "--set:1: reduction: 1e+06 gives floor(1e+06*34)*4 = 136000000 channels at the transition after layer 3 (block 2), more than the 1048576 msdx supports (--set reduction=1e6)"},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.reduction, func(t *testing.T) {
			s, err := spec.Resolve(tt.preset, []string{"reduction=" + tt.reduction})
			if err != nil {
				t.Fatal(err)
			}
			_, err = builder.Build(s)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
