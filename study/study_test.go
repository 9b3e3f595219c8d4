package study

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
)

func newConfig() *Config {
	return &Config{Kind: KindAblation, Base: "addad-cifar10-small", Recipe: "quick", Data: "synthetic",
		Fingerprint: "fp", Seeds: []int64{0, 1}, Threads: 1,
		Axes: []Axis{{Name: "fusion", Levels: []Level{{Label: "msdnet", Sets: []string{"fusion.rule=msdnet"}}, {Label: "dense", Sets: []string{"fusion.rule=dense"}}}}}}
}

func create(t *testing.T, d Dir, cfg *Config) (*Config, error) {
	t.Helper()
	base, err := spec.Preset("addad-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := recipe.Resolve("quick", nil)
	if err != nil {
		t.Fatal(err)
	}
	return Create(d, cfg, base, rc)
}

func TestCreateResumesOnlyTheSameStudy(t *testing.T) {
	d := Dir(t.TempDir())
	if _, err := create(t, d, newConfig()); err != nil {
		t.Fatal(err)
	}
	cfg := newConfig()
	cfg.Executor = ExecutorConfig{Kind: "slurm", Jobs: 3}
	cfg.Threads = 2 // results do not depend on the thread count
	got, err := create(t, d, cfg)
	if err != nil {
		t.Fatalf("the same study again: %v", err)
	}
	if got.Executor.Kind != "slurm" || got.Threads != 2 {
		t.Errorf("executor settings %+v, %d threads, want the new ones", got.Executor, got.Threads)
	}
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Seeds = []int64{0} }, "its seeds are [0 1], not [0]"},
		{func(c *Config) { c.Fingerprint = "other" }, "its data is synthetic (fingerprint fp)"},
		{func(c *Config) { c.Axes[0].Levels = c.Axes[0].Levels[:1] }, "its axes are"},
		{func(c *Config) { c.Kind = KindSearch }, "it is a ablation, not a search"},
	} {
		cfg := newConfig()
		tc.change(cfg)
		if _, err := create(t, d, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("changed study: %v, want an error containing %q", err, tc.want)
		}
	}
	if _, err := create(t, Dir(t.TempDir()+"/x"), newConfig()); err != nil {
		t.Errorf("a directory that does not exist: %v", err)
	}
	full := Dir(t.TempDir())
	os.WriteFile(full.Path("notes.txt"), nil, 0o644)
	if _, err := create(t, full, newConfig()); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("a non-empty directory: %v", err)
	}
}

func TestPlanKeepsIndicesStable(t *testing.T) {
	d := Dir(t.TempDir())
	cfg, err := create(t, d, newConfig())
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trial{Index: 0, Sets: []string{"fusion.rule=msdnet"}, Key: Key{Seed: 1}}
	costs, err := d.Plan(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 4 || tr.Key.SpecHash == "" || tr.Key.RecipeHash == "" || tr.Key.Fingerprint != "fp" {
		t.Errorf("planned %d exits, key %+v", len(costs), tr.Key)
	}
	// The recipe hash covers the seed.
	other := &Trial{Index: 1, Sets: []string{"fusion.rule=msdnet"}, Key: Key{Seed: 2}}
	if _, err := d.Plan(cfg, other); err != nil {
		t.Fatal(err)
	}
	if other.Key.RecipeHash == tr.Key.RecipeHash || other.Key.SpecHash != tr.Key.SpecHash {
		t.Errorf("keys of two seeds: %+v and %+v", tr.Key, other.Key)
	}
	again := &Trial{Index: 0, Sets: []string{"fusion.rule=msdnet"}, Key: Key{Seed: 1}}
	if _, err := d.Plan(cfg, again); err != nil {
		t.Errorf("planning the same trial again: %v", err)
	}
	changed := &Trial{Index: 0, Sets: []string{"fusion.rule=dense"}, Key: Key{Seed: 1}}
	if _, err := d.Plan(cfg, changed); err == nil || !strings.Contains(err.Error(), "already exists as another trial") {
		t.Errorf("planning another trial at index 0: %v", err)
	}
	bad := &Trial{Index: 2, Sets: []string{"growth=0"}}
	if _, err := d.Plan(cfg, bad); err == nil || !strings.Contains(err.Error(), "growth") {
		t.Errorf("planning a bad spec: %v", err)
	}
	idx, err := d.Trials()
	if err != nil || !cmp.Equal(idx, []int{0, 1}) {
		t.Errorf("Trials() = %v, %v; want [0 1] (the bad trial is not planned)", idx, err)
	}
}

func TestJournalIgnoresATornLine(t *testing.T) {
	d := Dir(t.TempDir())
	one := 1
	if err := d.AppendJournal(Event{Event: "planned", Trial: &one}, Event{Event: "done"}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(d.Path(JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-12-04T00:00:00Z","ev`)
	f.Close()
	events, err := d.ReadJournal()
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Event != "planned" || *events[0].Trial != 1 || events[1].Event != "done" {
		t.Errorf("events %+v", events)
	}
}

// TestJournalRejectsUnknownFields checks the one rule of msdx's readers: a journal line
// that is JSON but not an Event is an error, not skipped as a torn write would be.
func TestJournalRejectsUnknownFields(t *testing.T) {
	d := Dir(t.TempDir())
	if err := d.AppendJournal(Event{Event: "done"}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(d.Path(JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-12-04T00:00:00Z","event":"done","trail":3}` + "\n")
	f.Close()
	if _, err := d.ReadJournal(); err == nil || !strings.Contains(err.Error(), JournalFile+":2:") || !strings.Contains(err.Error(), `unknown field "trail"`) {
		t.Errorf("ReadJournal: %v, want an error naming line 2 and the unknown field", err)
	}
}
