package builder_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/preset_graphs.json")

// graphDigest is the SHA-256 of every node of g as text: its name, op, inputs by name,
// shapes, parameter count, costs, block, layer label, role and exit. Two graphs with the same
// digest are the same network with the same parameter names, shapes and costs.
func graphDigest(g *graph.Graph) string {
	var b strings.Builder
	name := func(id int) string {
		if id == graph.Input {
			return "<input>"
		}
		return g.Nodes[id].Name
	}
	for _, n := range g.Nodes {
		ins := make([]string, len(n.Inputs))
		for i, id := range n.Inputs {
			ins[i] = name(id) + ":" + n.In[i].String()
		}
		op, _ := json.Marshal(n.Op)
		fmt.Fprintf(&b, "%s %s [%s] -> %s params=%d cost=%+v block=%d layer=%q role=%d exit=%d needed=%x\n",
			n.Name, op, strings.Join(ins, " "), n.Out, n.Params, n.Cost, n.Block, n.Layer, n.Role, n.Exit, n.Needed)
	}
	for _, e := range g.Exits {
		fmt.Fprintf(&b, "exit %d %s block %d head %v\n", e.Index, name(e.Output), e.Block, e.Head)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// snapshotVariants are further configurations whose graphs are recorded: every stem and
// head on both fusion rules, both prune schedules and both step modes.
var snapshotVariants = []struct {
	preset string
	sets   []string
}{
	{"msdnet-cifar10-anytime", []string{"fusion.prune=min", "reduction=0.7"}},
	{"msdnet-cifar10-budget", []string{"fusion.rule=dense", "stem.kind=addad-separable", "stem.stride=2", "input=3x64x64", "head.kind=addad"}},
	{"msdnet-imagenet", []string{"fusion.rule=dense", "head.kind=addad-imagenet", "input=3x64x64"}},
	{"msdnet-imagenet", []string{"head.kind=addad", "head.channels=32", "stem.kind=addad-code", "stem.stride=2"}},
	{"addad-cifar10", []string{"fusion.rule=msdnet", "head.kind=msdnet-cifar", "stem.kind=msdnet-cifar", "stem.stride=", "fusion.prune=min"}},
	{"ranet-cifar10", []string{"stem.kind=msdnet-imagenet", "head.kind=addad", "input=3x64x64", "head.channels=32"}},
}

// TestPresetGraphsUnchanged checks that every preset builds exactly the graph recorded in
// testdata/preset_graphs.json (node names, ops, shapes, parameters and costs), so that
// changes to how parts are described cannot change a network, its parameter names or its
// costs unnoticed. Rewrite the file with -update only for an intended change.
func TestPresetGraphsUnchanged(t *testing.T) {
	path := filepath.Join("testdata", "preset_graphs.json")
	got := map[string]string{}
	for _, name := range spec.PresetNames() {
		s, err := spec.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = graphDigest(g)
	}
	for _, v := range snapshotVariants {
		s, err := spec.Resolve(v.preset, v.sets)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		got[v.preset+" "+strings.Join(v.sets, " ")] = graphDigest(g)
	}
	if *update {
		raw, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preset graphs changed (-recorded +built):\n%s", diff)
	}
}
