package flops_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/graph"
)

// TestInvariants checks, on every reference configuration, the identities that tie the
// semantics and breakdowns together.
func TestInvariants(t *testing.T) {
	for _, row := range referenceRows() {
		t.Run(row.name, func(t *testing.T) {
			g, err := builder.Build(row.spec)
			if err != nil {
				t.Fatal(err)
			}
			exits := flops.Exits(g)
			last := exits[len(exits)-1]
			if total := flops.Total(g); last.Params != total.Params || last.MACs != total.MACs {
				t.Errorf("last exit (%d MACs, %d params) != whole network (%d, %d)", last.MACs, last.Params, total.MACs, total.Params)
			}
			// exit k+1 − exit k = segment k+1 (backbone between the exits) + head k+1.
			blocks := flops.ByBlock(g)
			seg := map[string]flops.Totals{}
			for _, r := range blocks {
				seg[r.Label] = r.Totals
			}
			prev := flops.Totals{}
			for i, e := range exits {
				k := i + 1
				b, h := seg[label("block", k)], seg[label("head", k)]
				if got, want := e.MACs-prev.MACs, b.MACs+h.MACs; got != want {
					t.Errorf("exit %d: MACs step %d != block+head %d", k, got, want)
				}
				if got, want := e.Params-prev.Params, b.Params+h.Params; got != want {
					t.Errorf("exit %d: params step %d != block+head %d", k, got, want)
				}
				// The cone never exceeds the execution cost and always holds the own head.
				if e.Cone.MACs > e.MACs || e.Cone.MACs > e.OwnHead.MACs {
					t.Errorf("exit %d: cone %d exceeds execution %d or own-head %d", k, e.Cone.MACs, e.MACs, e.OwnHead.MACs)
				}
				if e.OwnHead.MACs > e.MACs {
					t.Errorf("exit %d: own-head %d exceeds execution %d", k, e.OwnHead.MACs, e.MACs)
				}
				prev = e.Totals
			}
			// Breakdowns partition the network.
			for name, rows := range map[string][]flops.Row{"block": blocks, "layer": flops.ByLayer(g), "kind": flops.ByKind(g)} {
				var sum flops.Totals
				for _, r := range rows {
					sum.MACs += r.MACs
					sum.Params += r.Params
				}
				if sum.MACs != last.MACs || sum.Params != last.Params {
					t.Errorf("by %s sums to (%d, %d), want (%d, %d)", name, sum.MACs, sum.Params, last.MACs, last.Params)
				}
			}
		})
	}
}

func label(kind string, k int) string { return fmt.Sprintf("%s %d", kind, k) }

// TestConeSkipsLaterWork checks the dependency cone: MSDNet's exit 1 does not need the
// finer scales' updates in the last layer of block 1 (only later exits read them), so a
// real early exit pays less than the reference charges; the cone still holds the own head.
func TestConeSkipsLaterWork(t *testing.T) {
	g, err := builder.Build(referenceRows()[0].spec) // A_c10_anytime_nb10
	if err != nil {
		t.Fatal(err)
	}
	e1 := flops.Exits(g)[0]
	for _, n := range g.Nodes {
		if n.Needed.Has(1) && strings.HasPrefix(n.Name, "layer4/scale0/") {
			t.Errorf("exit 1 depends on %s", n.Name)
		}
	}
	if e1.Cone.MACs >= e1.MACs {
		t.Errorf("exit 1 cone %d MACs, not below the reference's %d", e1.Cone.MACs, e1.MACs)
	}
	var heads int
	for _, n := range g.Nodes {
		if n.Role == graph.RoleHead && n.Needed.Has(1) {
			heads++
		}
	}
	if heads != len(g.Exits[0].Head) {
		t.Errorf("exit 1 cone holds %d head nodes, want its own %d", heads, len(g.Exits[0].Head))
	}
}
