package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/internal/golden"
)

// run executes msdx with args and returns stdout, stderr and the exit code.
func run(t *testing.T, terminal bool, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(&IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: terminal}, args)
	return out.String(), errOut.String(), code
}

// checkGolden compares got with testdata/NAME.golden (go test -update rewrites it).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), []byte(got))
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		args     []string
	}{
		{"flops-anytime-terminal", true, []string{"flops", "msdnet-cifar10-anytime"}},
		{"flops-anytime-piped", false, []string{"flops", "msdnet-cifar10-anytime"}},
		{"flops-ranet-cone", false, []string{"flops", "ranet-cifar10", "--semantics", "cone"}},
		{"flops-addad-by-block-csv", false, []string{"flops", "addad-cifar10", "--by", "block", "--csv"}},
		{"flops-small-by-layer", true, []string{"flops", "msdnet-cifar10-small", "--by", "layer"}},
		{"flops-imagenet-by-kind", false, []string{"flops", "msdnet-imagenet", "--by", "kind"}},
		{"flops-budget-json", false, []string{"flops", "msdnet-cifar100-budget", "--json"}},
		{"presets", false, []string{"presets"}},
		{"spec-show-addad", false, []string{"spec", "show", "addad-cifar100"}},
		// The PyTorch module msdx writes: a change to it shows here as a diff of Python.
		{"export-pytorch-addad", false, []string{"export", "pytorch", "addad-cifar10"}},
		{"export-pytorch-msdnet-small", false, []string{"export", "pytorch", "msdnet-cifar10-small"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, tt.terminal, tt.args...)
			if code != ExitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			checkGolden(t, tt.name, out)
		})
	}
}

// TestFlopsJSONSchema checks the documented contract of --json: an "exits" array in exit
// order whose elements have integer macs and params, cumulative in reference semantics.
func TestFlopsJSONSchema(t *testing.T) {
	out, _, code := run(t, false, "flops", "msdnet-cifar10-anytime", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Exits []map[string]json.RawMessage `json:"exits"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"15128842", "25482772", "37753630", "52015400", "62123570", "74001212", "87648326", "99946064", "110017370", "121563236"}
	var got []string
	for i, e := range doc.Exits {
		got = append(got, string(e["macs"]))
		if string(e["exit"]) != strconv.Itoa(i+1) {
			t.Errorf("element %d has exit %s", i, e["exit"])
		}
		if _, ok := e["params"]; !ok {
			t.Errorf("element %d has no params", i)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("macs (-want +got):\n%s", diff)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[blocks]\ncount = \"ten\"\nstep_mode = \"odd\"\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no argument", []string{"flops"}, ExitUsage, "accepts 1 arg"},
		{"unknown flag", []string{"flops", "x", "--bogus"}, ExitUsage, "unknown flag"},
		{"bad --by", []string{"flops", "addad-cifar10", "--by", "scale"}, ExitUsage, "--by"},
		{"bad semantics", []string{"flops", "addad-cifar10", "--semantics", "lazy"}, ExitUsage, "semantics"},
		{"unknown preset", []string{"flops", "resnet"}, ExitError, "no such file or preset"},
		{"bad spec names lines", []string{"flops", bad}, ExitError, "bad.toml:2: blocks.count"},
		{"bad override", []string{"flops", "addad-cifar10", "--set", "blocks.count=many"}, ExitError, "blocks.count"},
		{"head cannot run", []string{"flops", "msdnet-cifar10-anytime", "--input", "3x64x64"}, ExitError, "coarsest map 16x16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := run(t, false, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}
