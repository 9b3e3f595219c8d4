package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/tensorfile"
	"github.com/msdx/msdx/train"
)

// sharedCheckpoints is where ../shared keeps the reference repositories' checkpoints.
var sharedCheckpoints = filepath.Join("..", "..", "..", "..", "shared", "reference", "checkpoints")

func TestSpecFromArgs(t *testing.T) {
	// architectures.md §4.1 row A: the reference counter's per-exit MACs.
	want := []int64{15128842, 25482772, 37753630, 52015400, 62123570, 74001212, 87648326, 99946064, 110017370, 121563236}
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "a.args.txt")
	line := "--data cifar10 --arch msdnet --batch-size 64 --epochs 300 --nBlocks 10 --stepmode even --step 2 --base 4 --nChannels 16 -j 16\n"
	if err := os.WriteFile(argsFile, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, false, append([]string{"spec", "from-args", "--"}, strings.Fields(line)...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "# Ignored (they do not change the network): --batch-size 64 --epochs 300 -j 16") {
		t.Errorf("the ignored options are not listed:\n%s", out)
	}
	specFile := filepath.Join(dir, "a.toml")
	if _, errOut, code := run(t, false, "spec", "from-args", "--args-file", argsFile, "--out", specFile); code != ExitOK {
		t.Fatalf("--args-file: exit %d: %s", code, errOut)
	}
	written, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != out {
		t.Errorf("--out wrote another file than stdout got:\n%s\nstdout:\n%s", written, out)
	}
	fl, errOut, code := run(t, false, "flops", specFile, "--json")
	if code != ExitOK {
		t.Fatalf("flops: exit %d: %s", code, errOut)
	}
	var doc struct {
		Exits []struct {
			MACs int64 `json:"macs"`
		} `json:"exits"`
	}
	if err := json.Unmarshal([]byte(fl), &doc); err != nil {
		t.Fatalf("%v\n%s", err, fl)
	}
	var got []int64
	for _, e := range doc.Exits {
		got = append(got, e.MACs)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("msdx flops of the from-args spec (-reference +got):\n%s", diff)
	}
	// The resolved spec is the preset that reproduces the row.
	a, _, _ := run(t, false, "spec", "show", specFile)
	p, _, _ := run(t, false, "spec", "show", "msdnet-cifar10-anytime")
	hash := func(s string) string { return s[strings.LastIndex(s, "# hash "):] }
	if hash(a) != hash(p) {
		t.Errorf("from-args %s, preset msdnet-cifar10-anytime %s", hash(a), hash(p))
	}
}

func TestSpecFromArgsErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"spec", "from-args"}, ExitUsage, "give the reference arguments"},
		{[]string{"spec", "from-args", "--", "--arch", "msdnet", "--nBlocks", "x"}, ExitError, `--nBlocks: invalid int value: "x"`},
		{[]string{"spec", "from-args", "--", "--data", "cifar10"}, ExitError, "no --arch"},
	}
	for _, tt := range tests {
		_, errOut, code := run(t, false, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("msdx %s: exit %d, %q; want exit %d and %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	// The torchsave fixture is shaped like a checkpoint (arch msdnet, a state_dict with
	// the module. prefix) but holds other tensors: import names the leftovers and the
	// missing ones, and writes nothing.
	fixture := filepath.Join("..", "..", "..", "torchsave", "testdata", "checkpoint.pth.tar")
	notZip := filepath.Join(dir, "old.pth")
	if err := os.WriteFile(notZip, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--", "--arch", "msdnet", "--stepmode", "even", "--nBlocks", "2", "--nChannels", "8"}
	out := filepath.Join(dir, "run")
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"import", fixture, "--out", out}, ExitUsage, []string{"give the network once"}},
		{append([]string{"import", fixture, "--out", out}, args...), ExitUsage, []string{"give --data"}},
		{append([]string{"import", fixture, "--data", "synthetic", "--out", out, "--spec", "msdnet-cifar10-small"}, args...), ExitUsage, []string{"give the network once"}},
		{[]string{"import", fixture, "--data", "synthetic", "--out", out, "--spec", "addad-cifar10"}, ExitError, []string{`fusion.rule "dense"`}},
		{append([]string{"import", notZip, "--data", "synthetic", "--out", out}, args...), ExitError, []string{"neither a torch.save zip archive (PyTorch 1.6 and later) nor a file in its legacy format"}},
		{append([]string{"import", fixture, "--data", "synthetic", "--out", out}, args...), ExitError, []string{
			"tensors are not part of this network: module.conv.weight",
			"tensors of the network are missing: module.blocks.0.0.layers.0.net.0.weight (msdx stem/conv.weight)",
		}},
		{append([]string{"import", fixture, "--data", "synthetic", "--out", out, "--norm", "mnist"}, args...), ExitUsage, []string{`--norm "mnist"`}},
	}
	for _, tt := range tests {
		_, errOut, code := run(t, false, tt.args...)
		if code != tt.code {
			t.Errorf("msdx %s: exit %d (%s), want %d", strings.Join(tt.args, " "), code, errOut, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("msdx %s: error %q does not say %q", strings.Join(tt.args, " "), errOut, w)
			}
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed import left %s behind", out)
	}
}

// TestImportSharedCheckpoint imports ../shared's MSDNet CIFAR-10 reference checkpoint
// onto synthetic data and checks the run directory end to end: train.OpenRun reads it,
// its final weights give the reference's logits, eval evaluates it and a second import
// into it is refused.
func TestImportSharedCheckpoint(t *testing.T) {
	base := filepath.Join(sharedCheckpoints, "msdnet-c10-anytime-nb4")
	if _, err := os.Stat(base + ".pth.tar"); os.IsNotExist(err) {
		t.Skipf("%s is absent", base+".pth.tar")
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"import", base + ".pth.tar", "--args-file", base + ".args.txt", "--data", "synthetic:train=200,test=50", "--out", out, "--name", "ref-c10"}
	stdout, errOut, code := run(t, false, args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"imported 438 tensors", "epoch 3", "not imported: 86 batch-norm num_batches_tracked counters", "the reference dataloader's for cifar10", "next: msdx eval " + out} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output does not say %q:\n%s", w, stdout)
		}
	}
	r, err := train.OpenRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Imported == nil || r.Info.Imported.Arch != "msdnet" || r.Info.Status != train.StatusFinished || r.Info.Recipe != importRecipe || r.Info.Epochs != 4 || r.Spec.Name != "ref-c10" {
		t.Errorf("run.json: %+v, imported %+v", r.Info, r.Info.Imported)
	}
	if r.DataInfo.Stats == nil || r.DataInfo.Stats.Mean[0] != 0.4914 {
		t.Errorf("data.json normalisation %+v, want the reference's CIFAR-10 statistics", r.DataInfo.Stats)
	}
	net, err := r.Network("final")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorfile.ReadFile(base + ".expected.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	in := want.Lookup("input")
	n := in.Shape[0]
	logits := net.Forward(kernels.FromNCHW(n, in.Shape[1], in.Shape[2], in.Shape[3], in.F32), 0)
	for k, l := range logits {
		ref := want.Lookup(fmt.Sprintf("logits/%d", k+1))
		classes := ref.Shape[1]
		for i := range n {
			for c := range classes {
				if d := math.Abs(float64(l.Data[c*n+i] - ref.F32[i*classes+c])); d > 1e-5 {
					t.Fatalf("exit %d, sample %d, class %d: logit %v, the reference's %v", k+1, i, c, l.Data[c*n+i], ref.F32[i*classes+c])
				}
			}
		}
	}
	if _, errOut, code := run(t, false, "eval", out, "--no-check", "--batch", "64"); code != ExitOK {
		t.Errorf("eval: exit %d: %s", code, errOut)
	}
	byDir, _, code := run(t, false, "export", "pytorch", out)
	bySpec, _, _ := run(t, false, "export", "pytorch", filepath.Join(out, train.SpecFile))
	if code != ExitOK || byDir != bySpec || !strings.Contains(byDir, "class Net(") {
		t.Errorf("export pytorch of the run directory (exit %d) differs from that of its spec.toml", code)
	}
	if _, errOut, code := run(t, false, args...); code != ExitError || !strings.Contains(errOut, "already holds a run") {
		t.Errorf("second import: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, false, "train", "--resume", out); code == ExitOK || !strings.Contains(errOut, "already finished") {
		t.Errorf("resume of an imported run: exit %d, %q", code, errOut)
	}
}
