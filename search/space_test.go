package search

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/msdx/msdx/spec"
)

func TestParseSpace(t *testing.T) {
	src := `base = "msdnet-cifar10-small"
sets = ["classes=10"]

[[param]]
path = "growth"
values = [4, 6]

[[param]]
path = "blocks.count"
int = [2, 6]
step = 2

[[param]]
path = "reduction"
float = [0.25, 1.0]
log = true
levels = 3

[[param]]
path = "scales.gr_factor"
values = [[1, 2, 4], "1-1-1"]

[[constraint]]
exit = 1
max_macs = 10e6

[[constraint]]
max_params = 1000000
`
	sp, err := ParseSpace("space.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Space{
		File: "space.toml",
		Base: "msdnet-cifar10-small",
		Sets: []string{"classes=10"},
		Params: []Param{
			{Path: "growth", Kind: Choice, Values: []string{"4", "6"}, Line: 4},
			{Path: "blocks.count", Kind: Int, Lo: 2, Hi: 6, Step: 2, Line: 8},
			{Path: "reduction", Kind: Float, Lo: 0.25, Hi: 1, Log: true, Levels: 3, Line: 13},
			{Path: "scales.gr_factor", Kind: Choice, Values: []string{"1-2-4", "1-1-1"}, Line: 19},
		},
		Constraints: []Constraint{
			{Exit: 1, MaxMACs: 10e6, Line: 23},
			{Exit: LastExit, MaxParams: 1e6, Line: 27},
		},
	}
	if diff := cmp.Diff(want, sp, cmpopts.IgnoreUnexported(Space{})); diff != "" {
		t.Errorf("space (-want +got):\n%s", diff)
	}
	t.Run("grid", func(t *testing.T) {
		if got := sp.GridSize(1000); got != 2*3*3*2 {
			t.Errorf("GridSize = %d, want 36", got)
		}
		grid := sp.Grid(1000)
		if len(grid) != 36 {
			t.Fatalf("Grid has %d candidates, want 36", len(grid))
		}
		wantFirst := []Candidate{
			{Values: []string{"4", "2", "0.25", "1-2-4"}},
			{Values: []string{"4", "2", "0.25", "1-1-1"}},
			{Values: []string{"4", "2", "0.5", "1-2-4"}},
		}
		if diff := cmp.Diff(wantFirst, grid[:3]); diff != "" {
			t.Errorf("first grid points (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(Candidate{Values: []string{"6", "6", "1", "1-1-1"}}, grid[35]); diff != "" {
			t.Errorf("last grid point (-want +got):\n%s", diff)
		}
		if got := len(sp.Grid(5)); got != 5 {
			t.Errorf("Grid(5) has %d candidates", got)
		}
	})
	t.Run("decode", func(t *testing.T) {
		got := sp.Decode([]float64{0, 0.5, 1, 0.99})
		want := Candidate{Values: []string{"4", "4", "1", "1-1-1"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Decode (-want +got):\n%s", diff)
		}
		for i, p := range sp.Params {
			u, ok := p.Encode(got.Values[i])
			if !ok || p.Decode(u) != got.Values[i] {
				t.Errorf("%s: Encode(%s) = %v, %v; decodes to %s", p.Path, got.Values[i], u, ok, p.Decode(u))
			}
		}
	})
	t.Run("random", func(t *testing.T) {
		a, b := sp.Random(20, 1), sp.Random(20, 1)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("same seed, different samples:\n%s", diff)
		}
		if cmp.Equal(a, sp.Random(20, 2)) {
			t.Errorf("seeds 1 and 2 give the same samples")
		}
	})
}

func TestParseSpaceErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"no base", "[[param]]\npath = \"growth\"\nvalues = [4]\n",
			[]string{`space.toml: base: a space needs a base spec: base = "PRESET" or "spec.toml"`}},
		{"no params", "base = \"msdnet-cifar10-small\"\n",
			[]string{"space.toml: param: a space needs at least one [[param]]"}},
		{"bad field and type", `base = "msdnet-cifar10-small"

[[param]]
path = "blocks.cont"
values = [1]

[[param]]
path = "growth"
values = ["six", 8]
`, []string{
			`space.toml:5: param[1].values: blocks.cont=1: unknown field (did you mean "blocks.count"?)`,
			`space.toml:9: param[2].values: growth=six: want an integer, got "six"`,
		}},
		{"bad ranges", `base = "msdnet-cifar10-small"
[[param]]
path = "blocks.count"
int = [8, 2]
[[param]]
path = "reduction"
float = [0, 1]
log = true
[[param]]
path = "growth"
int = [2, 9]
step = 2
[[param]]
path = "channels"
int = [2, 9]
levels = 3
`, []string{
			"space.toml:4: param[1].int: lo 8 is above hi 2",
			"space.toml:7: param[2].float: a log range needs lo > 0, got 0",
			"space.toml:12: param[3].step: step 2 does not divide hi - lo = 7",
			"space.toml:16: param[4].levels: levels belongs to float ranges",
		}},
		{"bad constraints", `base = "msdnet-cifar10-small"
[[param]]
path = "growth"
values = [6]
[[constraint]]
exit = "middle"
max_macs = -3
[[constraint]]
exit = 2
[[constraint]]
max_flops = 3
`, []string{
			`space.toml:6: constraint[1].exit: want "first", "last" or an exit number, got string "middle"`,
			"space.toml:7: constraint[1].max_macs: want a positive number, got -3",
			"space.toml:8: constraint[2]: a constraint needs max_macs, min_macs, max_params or min_params",
			"space.toml:11: constraint[3].max_flops: unknown key (want exit, max_macs, min_macs, max_params, min_params)",
		}},
		{"duplicate path", `base = "msdnet-cifar10-small"
[[param]]
path = "growth"
values = [6]
[[param]]
path = "growth"
values = [8]
`, []string{"space.toml:6: param[2].path: growth is already varied by param[1]"}},
		{"unknown base", "base = \"no-such\"\n[[param]]\npath = \"growth\"\nvalues = [6]\n",
			[]string{"space.toml:1: base: the base spec does not resolve: no-such: no such file or preset (presets: " + strings.Join(spec.PresetNames(), ", ") + ")"}},
		{"syntax", "base = \n", []string{"space.toml:1: base: expected value but found '\\n' instead"}},
		{"bad match", `base = "msdnet-cifar10-small"
[[param]]
path = "channels"
values = [8]
[match]
by = "channels"
macs = -1
measure = "mean"
unit = "flops"
`, []string{
			"space.toml:6: match.by: channels is varied by param[1]; the matched field cannot also be a parameter",
			"space.toml:7: match.macs: want a positive number of MACs, got -1",
			`space.toml:8: match.measure: "mean" is not a cost measure: want last-exit or curve`,
			"space.toml:9: match.unit: unknown key (want by, macs, measure)",
		}},
		{"match needs by and macs", "base = \"msdnet-cifar10-small\"\n[[param]]\npath = \"growth\"\nvalues = [6]\n[match]\nmeasure = \"curve\"\n",
			[]string{"space.toml:5: match: [match] needs by (the field to scale) and macs (the cost to reach)"}},
		{"match by a real field", "base = \"msdnet-cifar10-small\"\n[[param]]\npath = \"growth\"\nvalues = [6]\n[match]\nby = \"reduction\"\nmacs = 1e7\n",
			[]string{"space.toml:6: match.by: reduction is 0.5, not an integer: a cost can only be matched by an integer field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpace("space.toml", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseRelativeToSpace(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.toml"), []byte("extends = \"msdnet-cifar10-small\"\ngrowth = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "space.toml")
	if err := os.WriteFile(path, []byte("base = \"mine.toml\"\n[[param]]\npath = \"channels\"\nvalues = [8, 16]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := LoadSpace(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "mine.toml"); sp.Base != want {
		t.Errorf("Base = %q, want %q", sp.Base, want)
	}
}

func TestEvaluate(t *testing.T) {
	sp, err := ParseSpace("space.toml", []byte(`base = "msdnet-cifar10-small"
[[param]]
path = "scales.gr_factor"
values = ["1-2-4", "1-2", "1-4-8"]
[[constraint]]
exit = "first"
max_macs = 10e6
`))
	if err != nil {
		t.Fatal(err)
	}
	ev := &Evaluator{Space: sp, Workers: 2}
	costs := ev.EvaluateAll([]Candidate{{Values: []string{"1-2-4"}}, {Values: []string{"1-2"}}, {Values: []string{"1-4-8"}}, {Values: []string{"1-2-4"}}})
	if ev.Evaluated() != 3 {
		t.Errorf("%d distinct candidates evaluated, want 3", ev.Evaluated())
	}
	if costs[0] != costs[3] {
		t.Errorf("a repeated candidate was evaluated twice")
	}
	if !costs[0].Feasible() || len(costs[0].Exits) != 4 {
		t.Errorf("1-2-4: feasible %v, %d exits (%s); want feasible with 4", costs[0].Feasible(), len(costs[0].Exits), costs[0].Reason())
	}
	// Two growth factors for three bottleneck factors: the spec is rejected.
	if costs[1].Error == "" || costs[1].Violation != BuildViolation {
		t.Errorf("1-2: error %q violation %g, want a build error", costs[1].Error, costs[1].Violation)
	}
	if costs[2].Feasible() || !strings.HasPrefix(costs[2].Reason(), "exit 1 MACs") || costs[2].Violation <= 0 {
		t.Errorf("1-4-8: reason %q violation %g, want the first-exit constraint broken", costs[2].Reason(), costs[2].Violation)
	}
	t.Logf("1-2-4: %+v; 1-4-8 first exit %d MACs; 1-2: %s", costs[0].Exits, costs[2].Exits[0].MACs, costs[1].Error)
}

// TestEvaluateMatch places candidates on a cost: the author's model at MSDNet's anytime
// arguments (10 blocks, step 2, base 4, growth 6) reaches 64.5 M MACs at its last exit
// with 69 stem channels (64,428,388 MACs, −0.11 %); 8 blocks of growth 6 cannot come
// within 2 % of 5 M MACs with any number of channels, and are infeasible, saying so.
func TestEvaluateMatch(t *testing.T) {
	sp, err := ParseSpace("space.toml", []byte(`base = "addad-cifar10"
[[param]]
path = "blocks.count"
values = [10, 2]
[match]
by = "channels"
macs = 64.5e6
`))
	if err != nil {
		t.Fatal(err)
	}
	c := sp.Evaluate(Candidate{Values: []string{"10"}})
	if !c.Feasible() || c.LastMACs() != 64428388 {
		t.Errorf("10 blocks: feasible %v (%s), last exit %g MACs; want feasible at 64428388", c.Feasible(), c.Reason(), c.LastMACs())
	}
	if diff := cmp.Diff([]string{"blocks.count=10", "channels=69"}, sp.Overrides(Candidate{Values: []string{"10"}})); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
	sp.Match.MACs = 5e6
	sp.placed = nil
	c = sp.Evaluate(Candidate{Values: []string{"10"}})
	if c.Feasible() || !strings.HasPrefix(c.Reason(), "channels=1 is the nearest to last-exit MACs 5e+06") {
		t.Errorf("10 blocks at 5 M MACs: feasible %v, reason %q; want infeasible, channels=1 the nearest", c.Feasible(), c.Reason())
	}
}

// TestExampleSpaces checks the shipped examples: they parse, and have the size and the
// number of feasible candidates their comments state.
func TestExampleSpaces(t *testing.T) {
	tests := []struct {
		file           string
		size, feasible int // feasible: -1 to skip costing
	}{
		{"msdnet-cifar10.toml", 25200, -1},
		{"msdnet-quick.toml", 72, 52},
		{"addad-paper.toml", 720, -1}, // 507 feasible; costing takes 10 s (docs/paper-config.md)
	}
	for _, tt := range tests {
		sp, err := LoadSpace("../examples/search/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if n := sp.GridSize(1 << 20); n != tt.size {
			t.Errorf("%s has %d candidates, want %d", tt.file, n, tt.size)
		}
		if tt.feasible < 0 {
			continue
		}
		n := 0
		for _, c := range (&Evaluator{Space: sp, Workers: 1}).EvaluateAll(sp.Grid(tt.size)) {
			if c.Feasible() {
				n++
			}
		}
		if n != tt.feasible {
			t.Errorf("%s has %d feasible candidates, want %d", tt.file, n, tt.feasible)
		}
	}
}

func TestNSGA2CostOnly(t *testing.T) {
	sp, err := LoadSpace("../examples/search/msdnet-cifar10.toml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ParseObjectives("last_macs,max:exits")
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) []Candidate {
		return sp.NSGA2(&Evaluator{Space: sp}, objs, 16, 4, seed)
	}
	a := run(1)
	if diff := cmp.Diff(a, run(1)); diff != "" {
		t.Errorf("same seed, different searches:\n%s", diff)
	}
	if len(a) < 16 || len(a) > 64 {
		t.Errorf("%d distinct candidates from 4 generations of 16", len(a))
	}
}
