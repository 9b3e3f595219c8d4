package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
)

// Create writes a new study into d (which must not exist or be empty), or, when d already
// holds a study, checks that it is the same study (same kind, base spec, recipe, data,
// seeds, axes and cost matching) so that rerunning a command resumes it. It returns the
// study's configuration: cfg for a new study, the recorded one for an existing study,
// with cfg's executor settings and thread count (results do not depend on it).
func Create(d Dir, cfg *Config, base *spec.Spec, rc *recipe.Recipe) (*Config, error) {
	cfg.Format = Format
	cfg.BaseHash = base.Hash()
	cfg.RecipeHash = RecipeHash(rc.Canonical())
	if old, err := d.ReadConfig(); err == nil {
		if err := sameStudy(old, cfg); err != nil {
			return nil, fmt.Errorf("%s already holds another study: %v; give another directory to start a new one", d, err)
		}
		// How the trials run, not what they compute: results do not depend on the
		// thread count either.
		old.Executor, old.Threads = cfg.Executor, cfg.Threads
		return old, d.WriteConfig(old)
	}
	entries, err := os.ReadDir(string(d))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty and holds no %s: give a new directory for the study", d, ConfigFile)
	}
	if err := os.MkdirAll(d.Path(TrialsDir), 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(d.Path(BaseFile), base.Canonical(), 0o644); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(d.Path(RecipeFile), rc.Canonical(), 0o644); err != nil {
		return nil, err
	}
	if err := d.WriteConfig(cfg); err != nil {
		return nil, err
	}
	return cfg, d.AppendJournal(Event{Event: "created", Detail: cfg.Kind + " of " + cfg.Base})
}

// sameStudy says how new differs from old in what the study computes.
func sameStudy(old, new *Config) error {
	switch {
	case old.Kind != new.Kind:
		return fmt.Errorf("it is a %s, not a %s", old.Kind, new.Kind)
	case old.BaseHash != new.BaseHash:
		return fmt.Errorf("its base spec is %s (hash %.12s), not %s (hash %.12s)", old.Base, old.BaseHash, new.Base, new.BaseHash)
	case old.RecipeHash != new.RecipeHash:
		return fmt.Errorf("its recipe is %s (hash %.12s), not %s (hash %.12s)", old.Recipe, old.RecipeHash, new.Recipe, new.RecipeHash)
	case old.Fingerprint != new.Fingerprint:
		return fmt.Errorf("its data is %s (fingerprint %.12s), not %s (fingerprint %.12s)", old.Data, old.Fingerprint, new.Data, new.Fingerprint)
	case !slices.Equal(old.Seeds, new.Seeds):
		return fmt.Errorf("its seeds are %v, not %v", old.Seeds, new.Seeds)
	}
	a, _ := json.Marshal(old.Axes)
	b, _ := json.Marshal(new.Axes)
	if string(a) != string(b) {
		return fmt.Errorf("its axes are %s, not %s", a, b)
	}
	if a, b := matchSummary(old.Match), matchSummary(new.Match); a != b {
		return fmt.Errorf("its cells are %s, not %s", a, b)
	}
	return nil
}

// BaseSpec resolves the study's base spec with the overrides sets.
func (d Dir) BaseSpec(sets []string) (*spec.Spec, error) {
	return spec.Load(d.Path(BaseFile), sets)
}

// TrialRecipe resolves the recipe of trial t: recipe.toml with t.RecipeSets, then the
// seed t.Key.Seed, then t.Epochs.
func (d Dir) TrialRecipe(t *Trial) (*recipe.Recipe, error) {
	sets := append(slices.Clip(t.RecipeSets), "seed="+strconv.FormatInt(t.Key.Seed, 10))
	return recipe.ResolveOverrides(d.Path(RecipeFile), recipe.Overrides{Sets: sets, Epochs: t.Epochs})
}

// Plan resolves trial t (its Index, Labels, Sets, RecipeSets, Epochs and Key.Seed set
// by the caller) against the study: it builds the trial's network to reject specs that
// cannot run, fills in t.Key and writes trial.json, spec.toml and cost.json. A trial
// directory that already holds the same trial keeps its results; one that holds another
// trial is an error, since indices must not change meaning.
func (d Dir) Plan(cfg *Config, t *Trial) ([]flops.ExitCost, error) {
	s, err := d.BaseSpec(t.Sets)
	if err != nil {
		return nil, err
	}
	g, err := builder.Build(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	rc, err := d.TrialRecipe(t)
	if err != nil {
		return nil, err
	}
	t.Key.SpecHash = s.Hash()
	t.Key.RecipeHash = RecipeHash(rc.Canonical())
	t.Key.Fingerprint = cfg.Fingerprint
	costs := flops.Exits(g)
	if old, err := d.ReadTrial(t.Index); err == nil {
		a, _ := json.Marshal(old)
		b, _ := json.Marshal(t)
		if string(a) != string(b) {
			return nil, fmt.Errorf("trial %s already exists as another trial (%s); the study's plan changed", TrialID(t.Index), a)
		}
	}
	if err := os.MkdirAll(d.TrialPath(t.Index), 0o755); err != nil {
		return nil, err
	}
	// spec.toml and cost.json follow from the plan; rewriting them repairs a damaged trial.
	if err := atomicfile.WriteFile(d.TrialPath(t.Index, SpecFile), s.Canonical(), 0o644); err != nil {
		return nil, err
	}
	if err := jsonfile.Write(d.TrialPath(t.Index, CostFile), costs); err != nil {
		return nil, err
	}
	// trial.json last: a trial directory without it is an unfinished plan, redone.
	return costs, d.WriteTrial(t)
}

// ReadCost reads trial index's cost.json.
func (d Dir) ReadCost(index int) ([]flops.ExitCost, error) {
	var c []flops.ExitCost
	return c, jsonfile.Read(d.TrialPath(index, CostFile), &c)
}

// matchSummary says in words how a study's cells were scaled.
func matchSummary(m *Match) string {
	if m == nil {
		return "not scaled to equal cost"
	}
	values := make([]string, len(m.Cells))
	for i, c := range m.Cells {
		values[i] = strconv.Itoa(c.Value)
	}
	return fmt.Sprintf("scaled to equal %s cost by %s (%s)", m.Measure, m.Knob, strings.Join(values, ", "))
}
