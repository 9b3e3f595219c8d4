package bench_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/bench"
	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
)

// TestJSONSchema checks the documented field names of schema 1, which programs read.
func TestJSONSchema(t *testing.T) {
	s, err := spec.Preset("msdnet-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	var progress [][2]int
	res, err := bench.Run(g, nn.InitPyTorch, bench.Options{Batch: 2, Seed: 1,
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	// One call per measurement: each exit, then training.
	var want [][2]int
	for k := 1; k <= len(g.Exits)+1; k++ {
		want = append(want, [2]int{k, len(g.Exits) + 1})
	}
	if diff := cmp.Diff(want, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "batch", "threads", "kernels", "exits", "train_images_per_second",
		"train_step_seconds", "train_allocs_per_image", "train_bytes_per_image"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, raw)
		}
	}
	if m["schema"] != float64(bench.Schema) {
		t.Errorf("schema %v, want %d", m["schema"], bench.Schema)
	}
	exits := m["exits"].([]any)
	if len(exits) != len(g.Exits) {
		t.Fatalf("%d exits, want %d", len(exits), len(g.Exits))
	}
	for _, e := range exits {
		for _, k := range []string{"exit", "macs", "batch_seconds", "images_per_second", "gmacs_per_second",
			"allocs_per_image", "bytes_per_image"} {
			if _, ok := e.(map[string]any)[k]; !ok {
				t.Errorf("exit without %q: %v", k, e)
			}
		}
	}
}
