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
	preset string
	sets   []string
	init   nn.Init
	batch  int
	seed   uint64 // of the batch; torch_reference.py rejects one with a ReLU input at a tie
}

var goldenCases = []goldenCase{
	{"msdnet", "msdnet-cifar10-anytime", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=1", "head.channels=16"}, nn.InitPyTorch, 4, 2},
	{"addad", "addad-cifar100", []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=2", "blocks.step=1", "head.channels=16", "classes=12"}, nn.InitPyTorch, 4, 1},
	{"ranet", "ranet-cifar10", []string{"channels=4", "scales.gr_factor=4-2-1", "scales.bn_factor=4-2-1", "scales.resolution=1-2-3", "blocks.step=2", "blocks.block_step=1", "head.channels=16"}, nn.InitHeNormal, 4, 2},
	{"imagenet-stem", "msdnet-imagenet", []string{"input=3x64x64", "classes=7", "channels=8", "growth=4", "scales.gr_factor=1-2", "scales.bn_factor=1-2", "blocks.count=2", "blocks.base=1", "blocks.step=1"}, nn.InitPyTorch, 2, 1},
}

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

// closeTo reports the largest difference between got and want relative to want's largest
// magnitude (at least 1), and whether it is within tol.
func closeTo(got, want []float32, tol float64) (float64, bool) {
	if len(got) != len(want) {
		return math.Inf(1), false
	}
	scale, diff := 1.0, 0.0
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		diff = math.Max(diff, math.Abs(float64(got[i]-want[i])))
	}
	return diff / scale, diff/scale <= tol
}

// TestGoldenPyTorch runs each case in msdx and compares with PyTorch 1.13's outputs on the
// same weights and batch: logits within 1e-4 and gradients within 1e-3 of the reference's
// magnitude. Each case runs as one chunk and as one chunk per image, so that the batch
// norms' combination of chunk statistics and sums is checked against PyTorch too.
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
					if d, ok := closeTo(transpose(l), lookup(fmt.Sprintf("logits/%d", k+1)), 1e-4); !ok {
						t.Errorf("exit %d training logits differ by %.2g", k+1, d)
					}
					dlogits[k] = kernels.NewTensor(l.C, l.N, 1, 1)
					loss := kernels.SoftmaxCrossEntropy(dlogits[k].Data, l.Data, l.C, l.N, labels, nil, 0)
					if ref := lookup(fmt.Sprintf("loss/%d", k+1))[0]; math.Abs(loss-float64(ref)) > 1e-4*math.Max(1, math.Abs(float64(ref))) {
						t.Errorf("exit %d loss %.6f, PyTorch %.6f", k+1, loss, ref)
					}
				}
				net.Backward(dlogits)
				for _, p := range net.Params() {
					if d, ok := closeTo(p.Grad, lookup("grad/"+p.Name), 1e-3); !ok {
						t.Errorf("gradient of %s differs by %.2g", p.Name, d)
					}
				}
				for _, b := range net.Buffers() {
					if d, ok := closeTo(b.Data, lookup("after/"+b.Name), 1e-4); !ok {
						t.Errorf("running statistic %s differs by %.2g", b.Name, d)
					}
				}
				net.SetTrain(false)
				for k, l := range net.Forward(x, 0) {
					if d, ok := closeTo(transpose(l), lookup(fmt.Sprintf("eval_logits/%d", k+1)), 1e-4); !ok {
						t.Errorf("exit %d evaluation logits differ by %.2g", k+1, d)
					}
				}
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
