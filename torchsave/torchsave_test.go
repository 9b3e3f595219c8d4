package torchsave_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/torchsave"
)

// TestReadFile reads the fixtures scripts/golden/torchsave_fixture.py wrote with PyTorch
// 1.13, in the zip format and in the legacy one.
func TestReadFile(t *testing.T) {
	for _, name := range []string{"checkpoint.pth.tar", "checkpoint-legacy.pth.tar"} {
		t.Run(name, func(t *testing.T) { testReadFile(t, filepath.Join("testdata", name)) })
	}
}

func testReadFile(t *testing.T, name string) {
	v, err := torchsave.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	top, ok := v.(*torchsave.Dict)
	if !ok {
		t.Fatalf("top level is %s, want a dict", torchsave.Describe(v))
	}
	var keys []any
	for _, it := range top.Items {
		keys = append(keys, it.Key)
	}
	if diff := cmp.Diff([]any{"epoch", "arch", "state_dict", "best_prec1", "optimizer", "big", "negative"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	get := func(d *torchsave.Dict, k string) any {
		t.Helper()
		v, ok := d.Get(k)
		if !ok {
			t.Fatalf("no key %q", k)
		}
		return v
	}
	scalars := map[string]any{"epoch": int64(3), "arch": "msdnet", "best_prec1": 12.5, "big": int64(1) << 40, "negative": int64(-5)}
	for k, want := range scalars {
		if got := get(top, k); got != want {
			t.Errorf("%s = %v (%T), want %v", k, got, got, want)
		}
	}
	sd := get(top, "state_dict").(*torchsave.Dict)
	arange := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(i)
		}
		return s
	}
	want := map[string]*torchsave.Tensor{
		"module.conv.weight":            {DType: "float32", Shape: []int{2, 3, 2, 2}, F32: arange(24)},
		"module.bn.running_mean":        {DType: "float32", Shape: []int{4}, F32: []float32{0, 1, 2, 3}},
		"module.bn.running_var":         {DType: "float32", Shape: []int{4}, F32: []float32{4, 5, 6, 7}},
		"module.bn.num_batches_tracked": {DType: "int64", Shape: []int{}, I64: []int64{3}},
		"module.linear.weight":          {DType: "float32", Shape: []int{3, 2}, F32: []float32{0, 3, 1, 4, 2, 5}},
		"module.double":                 {DType: "float64", Shape: []int{3}, F64: []float64{0, 0.25, 0.5}},
		"module.int":                    {DType: "int64", Shape: []int{2}, I64: []int64{-2, 7}},
		"module.mask":                   {DType: "int64", Shape: []int{3}, I64: []int64{1, 0, 1}},
		"module.empty":                  {DType: "float32", Shape: []int{0, 5}, F32: []float32{}},
	}
	if len(sd.Items) != len(want) {
		t.Errorf("state_dict has %d items, want %d", len(sd.Items), len(want))
	}
	for k, w := range want {
		got, ok := get(sd, k).(*torchsave.Tensor)
		if !ok {
			t.Errorf("%s is %s, want a tensor", k, torchsave.Describe(get(sd, k)))
			continue
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	opt := get(top, "optimizer").(*torchsave.Dict)
	st := get(opt, "state").(*torchsave.Dict)
	if len(st.Items) != 1 || st.Items[0].Key != int64(0) {
		t.Fatalf("optimizer state %v, want one entry for parameter 0", st.Items)
	}
	mom := get(st.Items[0].Value.(*torchsave.Dict), "momentum_buffer").(*torchsave.Tensor)
	if diff := cmp.Diff([]float32{0, 1, 2, 3}, mom.F32); diff != "" {
		t.Errorf("momentum buffer (-want +got):\n%s", diff)
	}
	groups := get(opt, "param_groups").(*torchsave.List)
	g := groups.Items[0].(*torchsave.Dict)
	if get(g, "nesterov") != false || get(g, "maximize") != nil || get(g, "lr") != 0.1 {
		t.Errorf("param group %v", g.Items)
	}
	if diff := cmp.Diff([]any{int64(0), int64(1)}, get(g, "params").(*torchsave.List).Items); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	legacy, err := os.ReadFile(filepath.Join("testdata", "checkpoint-legacy.pth.tar"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"text", []byte("not a checkpoint"), "neither a torch.save zip archive (PyTorch 1.6 and later) nor a file in its legacy format"},
		{"magic only", legacy[:15], "legacy format, protocol version"},
		{"truncated storages", legacy[:len(legacy)-3], "truncated"},
		{"trailing bytes", append(append([]byte(nil), legacy...), 0), "1 bytes after the last storage"},
	}
	for _, tt := range tests {
		name := filepath.Join(dir, tt.name)
		if err := os.WriteFile(name, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := torchsave.ReadFile(name)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := torchsave.ReadFile(filepath.Join(dir, "missing.pth")); err == nil {
		t.Error("missing file: no error")
	}
}
