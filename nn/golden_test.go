package nn_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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

var goldenWrite = flag.Bool("golden-write", false, "write the golden cases' inputs (then run scripts/golden/regenerate.sh's Python step)")

// goldenCase is a network small enough for fast tests that covers some of the op kinds the
// presets use; together the cases cover all of them.
type goldenCase struct {
	name   string
	preset string // a preset's name or a spec file
	sets   []string
	init   nn.Init
	batch  int
	seed   uint64 // of the batch; torch_reference.py rejects one with a ReLU input at a tie
}

var goldenCases = []goldenCase{
	{"msdnet", "msdnet-cifar10-anytime", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=1", "head.channels=16"}, nn.InitPyTorch, 4, 2},
	{"addad", "addad-cifar100", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=1", "head.channels=16", "classes=12"}, nn.InitPyTorch, 4, 1},
	{"ranet", "ranet-cifar10", []string{"channels=4", "scales.gr_factor=4-2-1", "scales.bn_factor=4-2-1", "scales.resolution=1-2-3", "blocks.step=2", "blocks.block_step=1", "head.channels=16"}, nn.InitHeNormal, 4, 2},
	// The SE blocks of the code of Addad et al. (architectures.md §2.3) on every unit.
	{"addad-se", "addad-cifar100", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=1", "head.channels=16", "classes=12", "fusion.se=true"}, nn.InitPyTorch, 4, 3},
	// The attention last block of the code of Addad et al., narrowed to 12 channels (2 heads).
	{"addad-attention", "addad-cifar100", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=2", "head.channels=16", "classes=12", "blocks.attention=true", "blocks.attention_width=3"}, nn.InitPyTorch, 4, 1},
	// The parts of examples/declared, which no Go code knows, at a smaller size.
	{"example-skip2", "../examples/declared/fusion-skip2.toml", exampleSets, nn.InitPyTorch, 2, 1},
	{"example-topdown", "../examples/declared/fusion-topdown.toml", exampleSets, nn.InitPyTorch, 2, 1},
	{"example-window", "../examples/declared/fusion-window.toml", exampleSets, nn.InitPyTorch, 2, 1},
	{"example-inverted-stem", "../examples/declared/stem-inverted.toml", exampleSets, nn.InitPyTorch, 2, 1},
	{"imagenet-stem", "msdnet-imagenet", []string{"input=3x64x64", "classes=7", "channels=8", "growth=4", "scales.gr_factor=1-2", "scales.bn_factor=1-2", "blocks.count=2", "blocks.base=1", "blocks.step=1"}, nn.InitPyTorch, 2, 1},
}

// exampleSets shrink the examples of examples/declared for the golden tests.
var exampleSets = []string{"channels=4", "blocks.count=2", "blocks.base=1", "blocks.step=1", "head.channels=8"}

func (c goldenCase) dir() string { return filepath.Join("testdata", "golden", c.name) }

func (c goldenCase) build(t *testing.T) (*spec.Spec, *graph.Graph, *nn.Network) {
	t.Helper()
	s, err := spec.Resolve(c.preset, c.sets)
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, c.init, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s, g, net
}

// TestGoldenInputs writes each case's exported module, parameters and batch (with
// -golden-write); scripts/golden/regenerate.sh then runs PyTorch on them.
func TestGoldenInputs(t *testing.T) {
	if !*goldenWrite {
		t.Skip("run with -golden-write to regenerate the golden inputs")
	}
	for _, c := range goldenCases {
		s, g, net := c.build(t)
		if err := os.MkdirAll(c.dir(), 0o755); err != nil {
			t.Fatal(err)
		}
		var py bytes.Buffer
		if err := export.PyTorch(&py, g, export.Info{SpecName: s.Name, SpecHash: s.Hash(), Version: "golden"}); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteFile(filepath.Join(c.dir(), "model.py"), py.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// Layer scales start at 1e-5, which would put the attention branch and its
		// gradients below the comparisons' noise floor; the golden weights give them values
		// of order 1 so that the self-attention is checked forward and backward.
		scales := map[string]bool{}
		for _, n := range g.Nodes {
			if n.Op.Kind == graph.LayerScale {
				scales[n.Name+".weight"] = true
			}
		}
		scaleRNG := rand.New(rand.NewPCG(11, c.seed))
		for _, p := range net.Params() {
			if scales[p.Name] {
				for i := range p.Data {
					p.Data[i] = float32(0.5 + scaleRNG.Float64())
				}
			}
		}
		if err := net.Save(filepath.Join(c.dir(), "params.safetensors"), nil); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, c.seed))
		in := g.Input
		x := make([]float32, c.batch*int(in.Numel()))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		labels := make([]int64, c.batch)
		for i := range labels {
			labels[i] = int64(rng.IntN(s.Classes))
		}
		f := &tensorfile.File{Tensors: []tensorfile.Tensor{
			tensorfile.NewFloat32("input", []int{c.batch, in.C, in.H, in.W}, x),
			tensorfile.NewInt64("labels", []int{c.batch}, labels),
		}}
		if err := tensorfile.WriteFile(filepath.Join(c.dir(), "batch.safetensors"), f); err != nil {
			t.Fatal(err)
		}
	}
}

// Tolerances of the golden comparisons. A tensor matches when every element is within
// atol + rtol·|want| of PyTorch's and its relative error ‖got−want‖₂/‖want‖₂ is within
// rtol, where atol = atolShare·rms(want) + noise: float32 sums taken in another order
// differ in proportion to the tensor's own magnitude (not to 1), and a tensor whose true
// value is zero (a bias that batch norm follows; a batch norm's scale that a later batch
// norm cancels) holds only rounding noise of the whole computation, noiseShare times the
// rms of all the network's gradients (or logits), which both sides must stay within.
const (
	logitRTol  = 1e-4
	gradRTol   = 1e-3
	atolShare  = 1e-3
	noiseShare = 1e-4
)

// closeTo compares got with want as the tolerances above say, with noise the absolute
// rounding level of the computation, and returns the per-tensor relative error, the worst
// element's excess over its bound (<= 0 when within), and whether the tensor matches.
func closeTo(got, want []float32, rtol, noise float64) (relErr, worst float64, ok bool) {
	if len(got) != len(want) {
		return math.Inf(1), math.Inf(1), false
	}
	if len(want) == 0 {
		return 0, 0, true
	}
	var sq, dsq float64
	for i := range want {
		w, d := float64(want[i]), float64(got[i])-float64(want[i])
		sq += w * w
		dsq += d * d
	}
	atol := atolShare*math.Sqrt(sq/float64(len(want))) + noise
	worst = math.Inf(-1)
	for i := range want {
		w := float64(want[i])
		worst = math.Max(worst, math.Abs(float64(got[i])-w)-(atol+rtol*math.Abs(w)))
	}
	relErr = math.Sqrt(dsq)
	if sq > 0 {
		relErr /= math.Sqrt(sq)
	}
	atNoise := math.Sqrt(dsq/float64(len(want))) <= noise
	return relErr, worst, worst <= 0 && (relErr <= rtol || atNoise) && !math.IsNaN(relErr)
}

// TestCloseTo checks the comparison itself: small tensors are held to their own scale (an
// absolute 1e-3 error on values of 1e-2 fails), and noise-level tensors pass only at noise.
func TestCloseTo(t *testing.T) {
	tests := []struct {
		name        string
		got, want   []float32
		rtol, noise float64
		ok          bool
	}{
		{"equal", []float32{1, -2, 3}, []float32{1, -2, 3}, 1e-4, 0, true},
		{"within rtol", []float32{1.00005, -2, 3}, []float32{1, -2, 3}, 1e-4, 0, true},
		{"small values, absolute 1e-3 off", []float32{0.011, 0.02, -0.03}, []float32{0.01, 0.02, -0.03}, 1e-3, 0, false},
		{"one element far off", []float32{1, -2, 3.01}, []float32{1, -2, 3}, 1e-3, 0, false},
		{"noise against noise", []float32{3e-8, -1e-8}, []float32{-2e-8, 4e-8}, 1e-3, 1e-7, true},
		{"signal against noise", []float32{3e-3, -1e-8}, []float32{-2e-8, 4e-8}, 1e-3, 1e-7, false},
		{"length", []float32{1}, []float32{1, 2}, 1e-3, 0, false},
	}
	for _, tt := range tests {
		if _, _, ok := closeTo(tt.got, tt.want, tt.rtol, tt.noise); ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

func rms(x []float32) float64 {
	var sq float64
	for _, v := range x {
		sq += float64(v) * float64(v)
	}
	return math.Sqrt(sq / float64(max(len(x), 1)))
}

// compareGolden runs net on the batch in training mode, then backward from the summed
// cross-entropy, then in evaluation mode, and compares logits, losses, gradients, running
// statistics and evaluation logits with PyTorch's (want).
func compareGolden(t *testing.T, net *nn.Network, x *kernels.Tensor, labels []int, want *tensorfile.File) {
	t.Helper()
	lookup := func(name string) []float32 {
		tt := want.Lookup(name)
		if tt == nil {
			t.Fatalf("expected.safetensors has no %s", name)
		}
		return tt.F32
	}
	// logits are [classes][batch] in msdx and (batch, classes) in PyTorch.
	transpose := func(l *kernels.Tensor) []float32 {
		out := make([]float32, l.Len())
		for c := 0; c < l.C; c++ {
			for n := 0; n < l.N; n++ {
				out[n*l.C+c] = l.Data[c*l.N+n]
			}
		}
		return out
	}
	net.SetTrain(true)
	net.ZeroGrad()
	logits := net.Forward(x, 0)
	dlogits := make([]*kernels.Tensor, len(logits))
	for k, l := range logits {
		if rel, worst, ok := closeTo(transpose(l), lookup(fmt.Sprintf("logits/%d", k+1)), logitRTol, 0); !ok {
			t.Errorf("exit %d training logits: relative error %.2g, worst element %.2g over its bound", k+1, rel, worst)
		}
		dlogits[k] = kernels.NewTensor(l.C, l.N, 1, 1)
		loss := kernels.SoftmaxCrossEntropy(dlogits[k].Data, l.Data, l.C, l.N, labels, nil, 0)
		if ref := lookup(fmt.Sprintf("loss/%d", k+1))[0]; math.Abs(loss-float64(ref)) > 1e-6+logitRTol*math.Abs(float64(ref)) {
			t.Errorf("exit %d loss %.6f, PyTorch %.6f", k+1, loss, ref)
		}
	}
	net.Backward(dlogits)
	var all []float32
	for _, p := range net.Params() {
		all = append(all, lookup("grad/"+p.Name)...)
	}
	gradNoise := noiseShare * rms(all)
	for _, p := range net.Params() {
		if rel, worst, ok := closeTo(p.Grad, lookup("grad/"+p.Name), gradRTol, gradNoise); !ok {
			t.Errorf("gradient of %s: relative error %.2g, worst element %.2g over its bound", p.Name, rel, worst)
		}
	}
	var stats []float32
	for _, b := range net.Buffers() {
		stats = append(stats, lookup("after/"+b.Name)...)
	}
	statNoise := noiseShare * rms(stats)
	for _, b := range net.Buffers() {
		if rel, worst, ok := closeTo(b.Data, lookup("after/"+b.Name), logitRTol, statNoise); !ok {
			t.Errorf("running statistic %s: relative error %.2g, worst element %.2g over its bound", b.Name, rel, worst)
		}
	}
	net.SetTrain(false)
	for k, l := range net.Forward(x, 0) {
		if rel, worst, ok := closeTo(transpose(l), lookup(fmt.Sprintf("eval_logits/%d", k+1)), logitRTol, 0); !ok {
			t.Errorf("exit %d evaluation logits: relative error %.2g, worst element %.2g over its bound", k+1, rel, worst)
		}
	}
}

// TestGoldenPyTorch runs each case in msdx and compares with PyTorch 1.13's outputs on the
// same weights and batch (see closeTo for the tolerances). Each case runs as one chunk and
// as one chunk per image, so that the batch norms' combination of chunk statistics and
// sums, and the weight gradients summed over chunks, are checked against PyTorch too.
func TestGoldenPyTorch(t *testing.T) {
	kinds := map[graph.Kind]bool{}
	for _, c := range goldenCases {
		for _, chunkImages := range []int{nn.ChunkImages, 1} {
			t.Run(fmt.Sprintf("%s/chunk%d", c.name, chunkImages), func(t *testing.T) {
				_, g, net := c.build(t)
				nn.SetChunkImages(net, chunkImages)
				for _, n := range g.Nodes {
					kinds[n.Op.Kind] = true
				}
				if err := net.Load(filepath.Join(c.dir(), "params.safetensors")); err != nil {
					t.Fatal(err)
				}
				batch, err := tensorfile.ReadFile(filepath.Join(c.dir(), "batch.safetensors"))
				if err != nil {
					t.Fatal(err)
				}
				want, err := tensorfile.ReadFile(filepath.Join(c.dir(), "expected.safetensors"))
				if err != nil {
					t.Fatal(err)
				}
				if got := strconv.FormatInt(g.Params(), 10); want.Metadata["param_count"] != got {
					t.Errorf("PyTorch module has %s parameters, msdx counts %s", want.Metadata["param_count"], got)
				}
				in := batch.Lookup("input")
				x := kernels.FromNCHW(in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3], in.F32)
				labels := make([]int, len(batch.Lookup("labels").I64))
				for i, l := range batch.Lookup("labels").I64 {
					labels[i] = int(l)
				}
				checkMACs(t, g, want)
				compareGolden(t, net, x, labels, want)
			})
		}
	}
	if t.Failed() || *goldenWrite {
		return
	}
	// Every op kind any preset uses must be exercised by some case.
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
			if !kinds[n.Op.Kind] {
				t.Errorf("preset %s uses op kind %s, which no golden case covers", p.Name, n.Op.Kind)
				kinds[n.Op.Kind] = true
			}
		}
	}
}

// TestExportedParamCounts checks that every preset's exported PyTorch module has exactly
// the parameters the cost model counts (fixture written by scripts/golden/regenerate.sh).
func TestExportedParamCounts(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "preset_params.json"))
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]int64
	if err := json.Unmarshal(raw, &counts); err != nil {
		t.Fatal(err)
	}
	for _, p := range spec.Presets() {
		s, err := spec.Preset(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := counts[p.Name]
		if !ok {
			t.Errorf("%s: no exported count (rerun scripts/golden/regenerate.sh)", p.Name)
			continue
		}
		if got != g.Params() {
			t.Errorf("%s: PyTorch module has %d parameters, msdx flops counts %d", p.Name, got, g.Params())
		}
	}
}
