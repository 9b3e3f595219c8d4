package bench_test

import (
	"encoding/json"
	"testing"

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
	res, err := bench.Run(g, nn.InitPyTorch, bench.Options{Batch: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
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
