package nn_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/export"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/tensorfile"
)

// declCases is the number of randomly generated declarations checked against PyTorch.
const declCases = 56

// declDir holds the fixtures of the generated declarations: each case's spec (spec.toml,
// for reading) and PyTorch's outputs (expected.safetensors). Its parameters and batch are
// made again from fixed seeds, so they are not committed.
var declDir = filepath.Join("testdata", "golden-decl")

// randomDeclaration returns the spec document of generated case i: a small MSDNet-family
// network with a random stem and head (layer lists), a random fusion wiring (or a shipped
// one), SE blocks or not. Attempts that do not build are skipped, deterministically.
func randomDeclaration(i int) (string, *spec.Spec, *graph.Graph) {
	for attempt := 0; ; attempt++ {
		rng := rand.New(rand.NewPCG(uint64(i), uint64(attempt)))
		doc := genDeclaration(rng, i)
		s, err := spec.Parse(fmt.Sprintf("decl%02d.toml", i), []byte(doc), nil)
		if err != nil {
			continue
		}
		g, err := builder.Build(s)
		if err != nil || g.Params() > 40000 {
			continue
		}
		return doc, s, g
	}
}

func genDeclaration(rng *rand.Rand, i int) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var b strings.Builder
	size := pick("12", "16")
	fmt.Fprintf(&b, "name = \"decl%02d\"\ninput = [3, %s, %s]\nclasses = %s\nactivation = %q\n", i, size, size, pick("3", "5"), pick("relu", "gelu"))
	fmt.Fprintf(&b, "channels = %s\ngrowth = %s\nreduction = %s\nbottleneck = %s\n", pick("2", "3", "4"), pick("2", "4"), pick("0.5", "1.0", "0.0"), pick("true", "true", "false"))
	scales := pick("[1, 2]", "[1, 2, 4]", "[1, 2, 2]")
	fmt.Fprintf(&b, "\n[scales]\ngr_factor = %s\nbn_factor = %s\n", scales, pick(scales, strings.ReplaceAll(scales, "4", "2")))
	fmt.Fprintf(&b, "\n[blocks]\ncount = 2\nbase = %s\nstep = 1\nstep_mode = %q\n", pick("1", "2"), pick("even", "lin_grow"))

	b.WriteString("\n[fusion]\n")
	if rng.IntN(4) == 0 {
		fmt.Fprintf(&b, "rule = %q\n", pick("msdnet", "dense"))
	} else {
		fmt.Fprintf(&b, "drop_finer = %v\n", rng.IntN(2) == 0)
	}
	fmt.Fprintf(&b, "prune = %q\n", pick("max", "min"))
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, "se = true\nse_hidden = %q\n", pick("new//2", "new", "in//2+1"))
	}
	if !strings.Contains(b.String(), "rule =") {
		dir := pick("finer", "coarser", "none")
		var units []string
		add := func(u string) { units = append(units, u) }
		if dir == "finer" || rng.IntN(3) == 0 {
			add(fmt.Sprintf("{from = \"finer\", state = %q, window = %d, bottleneck = %q, kernel = %s}", pick("input", "output"), rng.IntN(3), pick("source", "target", "none"), pick("1", "3")))
		}
		if rng.IntN(3) == 0 {
			add(fmt.Sprintf("{from = \"finer2\", state = \"input\", kernel = %s}", pick("3", "5")))
		}
		if dir == "coarser" {
			state := "output"
			for _, u := range units {
				if strings.Contains(u, "\"output\"") {
					state = "input"
				}
			}
			add(fmt.Sprintf("{from = \"coarser\", state = %q, window = %d}", state, rng.IntN(2)))
		}
		add(fmt.Sprintf("{from = \"self\", window = %d, kernel = %s}", rng.IntN(3), pick("3", "3", "1")))
		if len(units) > 1 && rng.IntN(2) == 0 {
			rng.Shuffle(len(units), func(a, c int) { units[a], units[c] = units[c], units[a] })
		}
		fmt.Fprintf(&b, "units = [\n  %s,\n]\n", strings.Join(units, ",\n  "))
	}

	b.WriteString("\n[stem]\n")
	if rng.IntN(5) == 0 {
		fmt.Fprintf(&b, "kind = %q\n", pick("msdnet-cifar", "addad-code", "addad-separable"))
		if strings.Contains(b.String(), "addad") {
			b.WriteString("stride = 1\n")
		}
	} else {
		b.WriteString("layers = [\n")
		n := 1 + rng.IntN(4)
		strided := false
		for k := 0; k < n; k++ {
			name := fmt.Sprintf("l%d", k+1)
			switch rng.IntN(7) {
			case 0, 1:
				stride := 1
				if !strided && rng.IntN(3) == 0 {
					stride, strided = 2, true
				}
				fmt.Fprintf(&b, "  {op = \"conv\", name = %q, out = %q, kernel = %s, stride = %d, bias = %v, norm = %q},\n",
					name, pick("width", "2*width", "in"), pick("1", "3", "5"), stride, rng.IntN(3) == 0, pick("bn", "bn", "none"))
			case 2:
				fmt.Fprintf(&b, "  {op = \"conv\", name = %q, depthwise = true, kernel = 3, act = %q},\n", name, pick("relu", "gelu", "none"))
			case 3:
				fmt.Fprintf(&b, "  {op = \"se\", name = %q, hidden = %q},\n", name, pick("in//2+1", "2"))
			case 4:
				fmt.Fprintf(&b, "  {op = %q, name = %q, kernel = 3, stride = 1, padding = 1},\n", pick("maxpool", "avgpool"), name)
			case 5:
				fmt.Fprintf(&b, "  {op = \"bn\", name = %q},\n", name)
			case 6:
				if k > 0 {
					fmt.Fprintf(&b, "  {op = \"add\", name = %q, from = \"l%d\"},\n", name, 1+rng.IntN(k))
				}
			}
		}
		fmt.Fprintf(&b, "  {op = \"conv\", name = \"out\", out = \"width\", kernel = %s},\n]\n", pick("1", "3"))
	}

	b.WriteString("\n[head]\n")
	if rng.IntN(5) == 0 {
		fmt.Fprintf(&b, "kind = %q\n", pick("addad", "addad-imagenet"))
		if strings.HasSuffix(strings.TrimSpace(b.String()), "\"addad\"") {
			b.WriteString("channels = 8\n")
		}
	} else {
		b.WriteString("layers = [\n")
		n := rng.IntN(3)
		for k := 0; k < n; k++ {
			name := fmt.Sprintf("h%d", k+1)
			switch rng.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "  {op = \"conv\", name = %q, out = %q, kernel = %s, stride = %s},\n", name, pick("8", "width", "2*classes"), pick("1", "3"), pick("1", "2"))
			case 1:
				fmt.Fprintf(&b, "  {op = \"se\", name = %q, hidden = \"in//2\"},\n", name)
			case 2:
				fmt.Fprintf(&b, "  {op = \"avgpool\", name = %q, kernel = 2},\n", name)
			}
		}
		if rng.IntN(2) == 0 {
			b.WriteString("  {op = \"adaptive_avgpool\", name = \"pool\"},\n")
		}
		fmt.Fprintf(&b, "  {op = \"linear\", name = \"fc\", bias = %v},\n]\n", rng.IntN(4) != 0)
	}
	return b.String()
}

func declCaseDir(i int) string { return filepath.Join(declDir, fmt.Sprintf("decl%02d", i)) }

// declBatch makes case i's batch.
func declBatch(i int, g *graph.Graph, classes int) (*kernels.Tensor, []float32, []int) {
	const n = 2
	rng := rand.New(rand.NewPCG(11, uint64(i)))
	in := g.Input
	x := make([]float32, n*int(in.Numel()))
	for k := range x {
		x[k] = float32(rng.NormFloat64())
	}
	labels := make([]int, n)
	for k := range labels {
		labels[k] = rng.IntN(classes)
	}
	return kernels.FromNCHW(n, in.C, in.H, in.W, x), x, labels
}

// TestGoldenDeclInputs writes each generated case's spec, exported module, parameters and
// batch (with -golden-write); scripts/golden/regenerate.sh then runs PyTorch on them.
func TestGoldenDeclInputs(t *testing.T) {
	if !*goldenWrite {
		t.Skip("run with -golden-write to regenerate the golden inputs")
	}
	for i := 0; i < declCases; i++ {
		doc, s, g := randomDeclaration(i)
		dir := declCaseDir(i)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, "spec.toml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		writeGoldenInputs(t, dir, s, g, i)
	}
}

func writeGoldenInputs(t *testing.T, dir string, s *spec.Spec, g *graph.Graph, i int) {
	t.Helper()
	var py bytes.Buffer
	if err := export.PyTorch(&py, g, export.Info{SpecName: s.Name, SpecHash: s.Hash(), Version: "golden"}); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "model.py"), py.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, nn.InitPyTorch, uint64(i))
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Save(filepath.Join(dir, "params.safetensors"), nil); err != nil {
		t.Fatal(err)
	}
	_, x, labels := declBatch(i, g, s.Classes)
	in := g.Input
	l64 := make([]int64, len(labels))
	for k, l := range labels {
		l64[k] = int64(l)
	}
	f := &tensorfile.File{Tensors: []tensorfile.Tensor{
		tensorfile.NewFloat32("input", []int{len(labels), in.C, in.H, in.W}, x),
		tensorfile.NewInt64("labels", []int{len(labels)}, l64),
	}}
	if err := tensorfile.WriteFile(filepath.Join(dir, "batch.safetensors"), f); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenDeclarations checks msdx against PyTorch 1.13 on randomly generated
// declarations (stems and heads as layer lists, fusion wirings, SE blocks): training
// logits, losses, every gradient, running statistics and evaluation logits, through
// "msdx export pytorch"; and the MACs of every layer against PyTorch's count from the
// module's own shapes.
func TestGoldenDeclarations(t *testing.T) {
	kinds := map[graph.Kind]bool{}
	for i := 0; i < declCases; i++ {
		t.Run(fmt.Sprintf("decl%02d", i), func(t *testing.T) {
			doc, s, g := randomDeclaration(i)
			if committed, err := os.ReadFile(filepath.Join(declCaseDir(i), "spec.toml")); err != nil || string(committed) != doc {
				t.Fatalf("the generator no longer makes the committed spec.toml (%v); rerun scripts/golden/regenerate.sh", err)
			}
			for _, n := range g.Nodes {
				kinds[n.Op.Kind] = true
			}
			want, err := tensorfile.ReadFile(filepath.Join(declCaseDir(i), "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			checkMACs(t, g, want)
			net, err := nn.New(g, nn.InitPyTorch, uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			x, _, labels := declBatch(i, g, s.Classes)
			compareGolden(t, net, x, labels, want)
		})
	}
	ops := map[string]bool{}
	for i := 0; i < declCases; i++ {
		_, s, _ := randomDeclaration(i)
		for _, l := range append(s.StemLayers(), s.HeadLayers()...) {
			ops[l.Op] = true
		}
	}
	for _, op := range spec.LayerOps() {
		if !ops[op.Name] {
			t.Errorf("no generated declaration uses layer op %s", op.Name)
		}
	}
	for _, k := range []graph.Kind{graph.Sigmoid, graph.ChannelScale, graph.Resize, graph.Add, graph.MaxPool} {
		if !kinds[k] {
			t.Errorf("no generated declaration uses op kind %s", k)
		}
	}
}

// checkMACs compares the MACs of every node that runs with the count PyTorch's side made
// per module (metadata "macs"): equal for nodes with a module, zero for the others
// (functions, which the reference counters do not see).
func checkMACs(t *testing.T, g *graph.Graph, want *tensorfile.File) {
	t.Helper()
	var counts map[string]int64
	if err := json.Unmarshal([]byte(want.Metadata["macs"]), &counts); err != nil {
		t.Fatalf("expected.safetensors has no MAC counts: %v", err)
	}
	var total, pyTotal int64
	for _, c := range counts {
		pyTotal += c
	}
	for _, n := range g.Nodes {
		if n.Needed == 0 {
			continue
		}
		total += n.Cost.MACs
		got, ok := counts[n.Name]
		switch {
		case ok && got != n.Cost.MACs:
			t.Errorf("%s (%s): msdx counts %d MACs, PyTorch's module %d", n.Name, n.Op.Kind, n.Cost.MACs, got)
		case !ok && n.Cost.MACs != 0:
			t.Errorf("%s (%s): msdx counts %d MACs for an op that is no module in PyTorch", n.Name, n.Op.Kind, n.Cost.MACs)
		}
	}
	if total != pyTotal {
		t.Errorf("msdx counts %d MACs in all, PyTorch's modules %d", total, pyTotal)
	}
}
