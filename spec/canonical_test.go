package spec

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalRoundTrip(t *testing.T) {
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			s, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			canon := s.Canonical()
			back, err := Parse("canonical.toml", canon, nil)
			if err != nil {
				t.Fatalf("canonical form does not parse: %v\n%s", err, canon)
			}
			if diff := cmp.Diff(s, back, ignoreOrigin); diff != "" {
				t.Errorf("round trip (-preset +reparsed):\n%s", diff)
			}
			if diff := cmp.Diff(string(canon), string(back.Canonical())); diff != "" {
				t.Errorf("canonical form is not a fixed point (-first +second):\n%s", diff)
			}
		})
	}
}

func TestCanonicalForm(t *testing.T) {
	s, err := Preset("msdnet-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	s.Description = "tab\tquote\" back\\ bell\a é"
	want := `name = "msdnet-cifar10-small"
description = "tab\tquote\" back\\ bell\u0007 é"
input = [3, 32, 32]
classes = 10
activation = "relu"
channels = 16
growth = 6
reduction = 0.5
bottleneck = true

[scales]
gr_factor = [1, 2, 4]
bn_factor = [1, 2, 4]

[blocks]
count = 4
base = 2
step = 1
step_mode = "even"

[fusion]
rule = "msdnet"
prune = "max"

[stem]
kind = "msdnet-cifar"

[head]
kind = "msdnet-cifar"
channels = 128
`
	if diff := cmp.Diff(want, string(s.Canonical())); diff != "" {
		t.Errorf("canonical form (-want +got):\n%s", diff)
	}
	back, err := Parse("c.toml", s.Canonical(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if back.Description != s.Description {
		t.Errorf("description %q did not survive the canonical form: got %q", s.Description, back.Description)
	}
}

func TestHashIgnoresFormatting(t *testing.T) {
	preset, err := Preset("msdnet-cifar10-anytime")
	if err != nil {
		t.Fatal(err)
	}
	// The same architecture written in other ways: keys reordered, inline tables, dotted
	// keys, comments, defaults left out or written out, list strings, extends, other names.
	docs := map[string]string{
		"tables in another order": "name = \"x\"\nchannels = 16\n[head]\nkind = \"msdnet-cifar\"\n[blocks]\ncount = 10\nstep = 2\n",
		"reordered with defaults omitted": `
# anytime MSDNet, written by hand
name = "by hand"
channels = 16
[blocks]
step_mode = "even"
step = 2
count = 10

[scales]
bn_factor = [1,2,4]

[fusion]
rule = "msdnet"
`,
		"inline and dotted": `
channels = 16
blocks = { count = 10, step = 2, base = 4, step_mode = "even" }
scales.gr_factor = "1-2-4"
fusion.prune = "max"
name = "another name"
description = "and a description"
`,
		"extends":                  `extends = "msdnet-cifar10-anytime"`,
		"extends restating values": "extends = \"msdnet-cifar10-anytime\"\nclasses = 10\n[head]\nchannels = 128\n",
		"explicit everything":      string(preset.Canonical()),
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			s, err := Parse("f.toml", []byte(doc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Hash() != preset.Hash() {
				t.Errorf("hash differs from the preset's; canonical forms:\n%s\n---\n%s", s.Canonical(), preset.Canonical())
			}
		})
	}
}

// TestHashChanges changes every architectural field in turn; each must change the hash.
func TestHashChanges(t *testing.T) {
	changes := map[string]struct {
		preset string
		set    string
		base   []string // overrides of the preset before the change
	}{
		"input":                  {"msdnet-cifar10-anytime", "input=3x64x64", nil},
		"classes":                {"msdnet-cifar10-anytime", "classes=11", nil},
		"activation":             {"msdnet-cifar10-anytime", "activation=gelu", nil},
		"channels":               {"msdnet-cifar10-anytime", "channels=17", nil},
		"growth":                 {"msdnet-cifar10-anytime", "growth=8", nil},
		"reduction":              {"msdnet-cifar10-anytime", "reduction=0.25", nil},
		"bottleneck":             {"msdnet-cifar10-anytime", "bottleneck=false", nil},
		"scales.gr_factor":       {"msdnet-cifar10-anytime", "scales.gr_factor=1-2-2", nil},
		"scales.bn_factor":       {"msdnet-cifar10-anytime", "scales.bn_factor=1-2-2", nil},
		"scales.resolution":      {"ranet-cifar10", "scales.resolution=1-2-2-3", nil},
		"blocks.count":           {"msdnet-cifar10-anytime", "blocks.count=9", nil},
		"blocks.base":            {"msdnet-cifar10-anytime", "blocks.base=3", nil},
		"blocks.step":            {"msdnet-cifar10-anytime", "blocks.step=3", nil},
		"blocks.step_mode":       {"msdnet-cifar10-anytime", "blocks.step_mode=lin_grow", nil},
		"blocks.block_step":      {"ranet-cifar10", "blocks.block_step=1", nil},
		"fusion.rule":            {"msdnet-cifar10-anytime", "fusion.rule=dense", nil},
		"fusion.prune":           {"msdnet-cifar10-anytime", "fusion.prune=min", nil},
		"fusion.compress_factor": {"ranet-cifar10", "fusion.compress_factor=0.5", nil},
		"stem.kind":              {"msdnet-cifar10-anytime", "stem.kind=msdnet-imagenet", nil},
		"stem.stride":            {"addad-cifar10", "stem.stride=2", nil},
		"head.kind":              {"msdnet-cifar10-anytime", "head.kind=addad", nil},
		"head.channels":          {"msdnet-cifar10-anytime", "head.channels=64", nil},
		"stem.layers":            {"msdnet-cifar10-anytime", "stem.kind=testdata/parts/stem.toml", nil},
		"head.layers":            {"msdnet-imagenet", "head.kind=testdata/parts/head.toml", nil},
		"fusion.units":           {"msdnet-cifar10-anytime", "fusion.rule=testdata/parts/msdnet-nodrop.toml", nil},
		"fusion.drop_finer":      {"msdnet-cifar10-anytime", "fusion.rule=testdata/parts/msdnet-nodrop.toml", nil},
		"fusion.se":              {"addad-cifar10", "fusion.se=true", nil},
		"blocks.attention":       {"addad-cifar10", "blocks.attention=true", nil},
		"blocks.attention_width": {"addad-cifar10", "blocks.attention_width=48", []string{"blocks.attention=true"}},
		"fusion.se_hidden":       {"addad-cifar10", "fusion.se_hidden=new", []string{"fusion.se=true"}},
	}
	var missing []string
	for _, f := range fields {
		if _, ok := changes[f.path]; !ok && f.path != "name" && f.path != "description" && f.path != "extends" {
			missing = append(missing, f.path)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("no hash-change case for fields %v", missing)
	}
	for path, c := range changes {
		t.Run(path, func(t *testing.T) {
			base, err := Resolve(c.preset, c.base)
			if err != nil {
				t.Fatal(err)
			}
			changed, err := Resolve(c.preset, append(c.base, c.set))
			if err != nil {
				t.Fatal(err)
			}
			if base.Hash() == changed.Hash() {
				t.Errorf("--set %s left the hash unchanged", c.set)
			}
		})
	}
	// Name and description are not architecture.
	base, _ := Preset("addad-cifar10")
	renamed, err := Resolve("addad-cifar10", []string{"name=other", "description=else"})
	if err != nil {
		t.Fatal(err)
	}
	if base.Hash() != renamed.Hash() {
		t.Error("renaming changed the hash")
	}
	if string(base.Canonical()) == string(renamed.Canonical()) {
		t.Error("renaming left the canonical form unchanged")
	}
}

func TestHashesDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, name := range PresetNames() {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		h := s.Hash()
		if len(h) != 64 {
			t.Errorf("%s: hash %q is not 64 hex digits", name, h)
		}
		if other, dup := seen[h]; dup {
			t.Errorf("presets %s and %s have the same hash", other, name)
		}
		seen[h] = name
	}
}

// TestExamplesMatchPresets keeps examples/ and the embedded presets identical.
func TestExamplesMatchPresets(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range examples {
		name := strings.TrimSuffix(filepath.Base(path), ".toml")
		names = append(names, name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := PresetSource(name)
		if !ok {
			t.Errorf("examples/%s.toml has no embedded preset", name)
			continue
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("examples/%s.toml differs from spec/presets/%[1]s.toml (-preset +example):\n%s", name, diff)
		}
	}
	sort.Strings(names)
	if diff := cmp.Diff(PresetNames(), names); diff != "" {
		t.Errorf("preset names vs examples/*.toml (-presets +examples):\n%s", diff)
	}
}
