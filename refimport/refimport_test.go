package refimport_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/refargs"
	"github.com/msdx/msdx/refimport"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/tensorfile"
)

func network(t *testing.T, s *spec.Spec) *nn.Network {
	t.Helper()
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, nn.InitPyTorch, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestModuleMapCoversNetwork checks, without any checkpoint, that the reference module tree
// maps onto every parameter and buffer of msdx's network exactly once, for the reference
// presets and for variants that change the module tree (prune min, no bottleneck, lg
// steps, 4 flows).
func TestModuleMapCoversNetwork(t *testing.T) {
	cases := []struct {
		preset string
		sets   []string
	}{
		{"msdnet-cifar10-anytime", nil},
		{"msdnet-cifar10-budget", nil},
		{"msdnet-cifar100-anytime", []string{"fusion.prune=min"}},
		{"msdnet-cifar10-anytime", []string{"bottleneck=false", "blocks.count=3"}},
		{"msdnet-imagenet", nil},
		{"ranet-cifar10", nil},
		{"ranet-cifar100", []string{"blocks.step_mode=lg", "blocks.step=1"}},
		{"ranet-cifar10", []string{"scales.gr_factor=4-2-1", "scales.bn_factor=4-2-1", "scales.resolution=1-2-3", "blocks.block_step=1"}},
		{"ranet-cifar10", []string{"input=3x224x224", "classes=1000", "stem.kind=msdnet-imagenet", "head.kind=msdnet-imagenet", "head.channels=",
			"channels=8", "growth=4", "blocks.step=2", "scales.gr_factor=4-2-2-1", "scales.bn_factor=4-2-2-1", "scales.resolution=1-2-3-4"}},
	}
	for _, c := range cases {
		t.Run(c.preset+strings.Join(c.sets, ","), func(t *testing.T) {
			s, err := spec.Resolve(c.preset, c.sets)
			if err != nil {
				t.Fatal(err)
			}
			modules, err := refimport.ModuleMap(s)
			if err != nil {
				t.Fatal(err)
			}
			nodes := map[string]int{}
			for _, n := range modules {
				nodes[n]++
			}
			seen := map[string]bool{}
			for _, tensor := range network(t, s).Weights(nil).Tensors {
				node := tensor.Name[:strings.LastIndexByte(tensor.Name, '.')]
				seen[node] = true
				if nodes[node] != 1 {
					t.Errorf("msdx node %s is the target of %d reference modules, want 1", node, nodes[node])
				}
			}
			for ref, n := range modules {
				if !seen[n] {
					t.Errorf("reference module %s maps to %s, which has no tensors in msdx's network", ref, n)
				}
			}
		})
	}
}

func TestModuleMapRefusesNonReference(t *testing.T) {
	for _, name := range []string{"addad-cifar10", "msdnet-cifar10-small"} {
		s, err := spec.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "msdnet-cifar10-small" {
			s.Activation = spec.ActGELU
		}
		if _, err := refimport.ModuleMap(s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSharedCheckpoints is the acceptance test of issue 21: for each checkpoint of
// ../shared/reference/checkpoints (written by the reference repositories' own model code),
// the spec from its command line, with the checkpoint imported, gives the reference's
// eval-mode logits of every exit on the stored batch within 1e-4 relative.
func TestSharedCheckpoints(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "reference", "checkpoints")
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		t.Skipf("%s is absent", dir)
	}
	for _, name := range []string{"msdnet-c10-anytime-nb4", "msdnet-imagenet-nb3", "ranet-c100-small"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(dir, name)
			line, err := os.ReadFile(base + ".args.txt")
			if err != nil {
				t.Fatal(err)
			}
			cmd, err := refargs.Parse(strings.Fields(string(line)), name)
			if err != nil {
				t.Fatal(err)
			}
			ck, err := refimport.Read(base + ".pth.tar")
			if err != nil {
				t.Fatal(err)
			}
			net := network(t, cmd.Spec)
			w, res, err := refimport.Weights(ck, cmd.Spec, net)
			if err != nil {
				t.Fatal(err)
			}
			if err := net.SetWeights(w, name); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d tensors imported; ignored: %s", name, res.Tensors, strings.Join(res.Ignored, "; "))
			// The same checkpoint read as the other repository's network is refused.
			other, err := refargs.Parse(strings.Fields("--arch msdnet --stepmode even"), "")
			if ck.Arch == "msdnet" {
				other, err = refargs.Parse(strings.Fields("--arch RANet"), "")
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := refimport.Weights(ck, other.Spec, network(t, other.Spec)); err == nil || !strings.Contains(err.Error(), "arch \""+ck.Arch+"\"") {
				t.Errorf("read as %s: error %v, want one naming the checkpoint's arch", other.Spec.Name, err)
			}
			want, err := tensorfile.ReadFile(base + ".expected.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			in := want.Lookup("input")
			x := kernels.FromNCHW(in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3], in.F32)
			net.SetTrain(false)
			logits := net.Forward(x, 0)
			if len(logits) != len(want.Tensors)-1 {
				t.Fatalf("%d exits, the reference file has %d", len(logits), len(want.Tensors)-1)
			}
			for k, l := range logits {
				ref := want.Lookup(fmt.Sprintf("logits/%d", k+1))
				n, classes := ref.Shape[0], ref.Shape[1]
				worst, scale := 0.0, 0.0
				for i := range n {
					for c := range classes {
						scale = math.Max(scale, math.Abs(float64(ref.F32[i*classes+c])))
					}
				}
				for i := range n {
					for c := range classes {
						d := math.Abs(float64(l.Data[c*n+i] - ref.F32[i*classes+c]))
						worst = math.Max(worst, d/scale)
					}
				}
				t.Logf("exit %d: largest difference %.2e of the largest logit %.3g", k+1, worst, scale)
				if worst > 1e-4 {
					t.Errorf("exit %d: logits differ from the reference by %.2e relative, want at most 1e-4", k+1, worst)
				}
			}
		})
	}
}

// TestSharedCheckpointWrongSpec reads ../shared's MSDNet CIFAR-10 checkpoint as networks
// of other sizes: every difference is refused, naming tensors.
func TestSharedCheckpointWrongSpec(t *testing.T) {
	name := filepath.Join("..", "..", "shared", "reference", "checkpoints", "msdnet-c10-anytime-nb4.pth.tar")
	if _, err := os.Stat(name); os.IsNotExist(err) {
		t.Skipf("%s is absent", name)
	}
	ck, err := refimport.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	const args = "--arch msdnet --data cifar10 --stepmode even --step 2 --base 4 --growthRate 6 "
	tests := []struct{ args, want string }{
		{args + "--nBlocks 4 --nChannels 16", "tensors have the wrong shape or type: module.blocks.0.0.layers.0.net.0.weight is float32 [8 3 3 3], msdx's stem/conv.weight is float32 [16 3 3 3]"},
		{strings.Replace(args, "cifar10", "cifar100", 1) + "--nBlocks 4 --nChannels 8", "8 tensors have the wrong shape or type: module.classifier.0.linear.weight"},
		{strings.Replace(args, "cifar10", "cifar100", 1) + "--nBlocks 4 --nChannels 8", "module.classifier.0.linear.weight is float32 [10 128], msdx's exit1/linear.weight is float32 [100 128]"},
		// Fewer blocks change the layer schedule (scale pruning) throughout.
		{args + "--nBlocks 3 --nChannels 8", "200 tensors are not part of this network: module.blocks.0.4.layers.2.conv_down.net.0.weight"},
		{args + "--nBlocks 3 --nChannels 8", "75 tensors of the network are missing: module.blocks.0.4.layers.0.conv_down.net.0.weight (msdx layer4/scale1/down/bottleneck/conv.weight)"},
	}
	for _, tt := range tests {
		c, err := refargs.Parse(strings.Fields(tt.args), "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = refimport.Weights(ck, c.Spec, network(t, c.Spec))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}
