package bench_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/bench"
	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/kernels"
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

// TestScaling checks the scaling curve: one point per thread count in the order asked,
// positive rates, the documented JSON names, progress counting its measurements, and the
// thread count restored afterwards.
func TestScaling(t *testing.T) {
	s, err := spec.Preset("msdnet-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	before := kernels.Threads()
	var last [2]int
	res, err := bench.Run(g, nn.InitPyTorch, bench.Options{Batch: 10, Seed: 1, Scaling: []int{2, 1, 3}, Rounds: 2,
		Progress: func(done, total int) { last = [2]int{done, total} }})
	if err != nil {
		t.Fatal(err)
	}
	if got := kernels.Threads(); got != before {
		t.Errorf("threads after the curve: %d, want %d", got, before)
	}
	// Each exit, training, then inference and training per count and round.
	n := len(g.Exits) + 1 + 2*3*2
	if diff := cmp.Diff([2]int{n, n}, last); diff != "" {
		t.Errorf("last progress (-want +got):\n%s", diff)
	}
	var threads []int
	for _, p := range res.Scaling {
		threads = append(threads, p.Threads)
		if !(p.TrainImagesPerSecond > 0 && p.InferenceImagesPerSecond > 0) {
			t.Errorf("%d threads: rates %v, %v, want positive", p.Threads, p.TrainImagesPerSecond, p.InferenceImagesPerSecond)
		}
	}
	if diff := cmp.Diff([]int{2, 1, 3}, threads); diff != "" {
		t.Errorf("thread counts (-want +got):\n%s", diff)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Scaling []map[string]any `json:"scaling"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"threads", "train_images_per_second", "inference_images_per_second",
		"train_cpu_seconds_per_image", "inference_cpu_seconds_per_image"} {
		if _, ok := m.Scaling[0][k]; !ok {
			t.Errorf("scaling point without %q: %v", k, m.Scaling[0])
		}
	}
}
