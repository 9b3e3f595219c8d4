package spec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPresets pins every preset to the reference arguments of its architectures.md §4 row.
func TestPresets(t *testing.T) {
	msdnet := func(name string, classes, count, step int, mode string, base int) *Spec {
		return &Spec{
			Name: name, Input: [3]int{3, 32, 32}, Classes: classes, Activation: "relu",
			Channels: 16, Growth: 6, Reduction: 0.5, Bottleneck: true,
			Scales: Scales{GrFactor: []int{1, 2, 4}, BnFactor: []int{1, 2, 4}},
			Blocks: Blocks{Count: count, Base: base, Step: step, StepMode: mode},
			Fusion: Fusion{Rule: "msdnet", Prune: "max"},
			Stem:   Stem{Kind: "msdnet-cifar"},
			Head:   Head{Kind: "msdnet-cifar", Channels: 128},
		}
	}
	ranet := func(name string, classes int) *Spec {
		return &Spec{
			Name: name, Input: [3]int{3, 32, 32}, Classes: classes, Activation: "relu",
			Channels: 16, Growth: 6, Reduction: 0.5, Bottleneck: true,
			Scales: Scales{GrFactor: []int{4, 2, 1, 1}, BnFactor: []int{4, 2, 1, 1}, Resolution: []int{1, 2, 3, 3}},
			Blocks: Blocks{Count: 2, Step: 4, StepMode: "even", BlockStep: 2},
			Fusion: Fusion{Rule: "ranet", CompressFactor: 0.25},
			Stem:   Stem{Kind: "msdnet-cifar"},
			Head:   Head{Kind: "msdnet-cifar", Channels: 128},
		}
	}
	addad := func(name string, classes, count int, stem string) *Spec {
		s := msdnet(name, classes, count, 2, "even", 4)
		s.Activation = "gelu"
		s.Fusion.Rule = "dense"
		s.Stem = Stem{Kind: stem, Stride: 1}
		s.Head = Head{Kind: "addad", Channels: 128}
		return s
	}
	want := map[string]*Spec{
		"msdnet-cifar10-anytime":  msdnet("msdnet-cifar10-anytime", 10, 10, 2, "even", 4),
		"msdnet-cifar10-budget":   msdnet("msdnet-cifar10-budget", 10, 8, 1, "lin_grow", 1),
		"msdnet-cifar100-anytime": msdnet("msdnet-cifar100-anytime", 100, 7, 2, "even", 4),
		"msdnet-cifar100-budget":  msdnet("msdnet-cifar100-budget", 100, 5, 1, "lin_grow", 1),
		"msdnet-cifar10-small":    msdnet("msdnet-cifar10-small", 10, 4, 1, "even", 2),
		"msdnet-imagenet": {
			Name: "msdnet-imagenet", Input: [3]int{3, 224, 224}, Classes: 1000, Activation: "relu",
			Channels: 32, Growth: 16, Reduction: 0.5, Bottleneck: true,
			Scales: Scales{GrFactor: []int{1, 2, 4, 4}, BnFactor: []int{1, 2, 4, 4}},
			Blocks: Blocks{Count: 5, Base: 4, Step: 4, StepMode: "even"},
			Fusion: Fusion{Rule: "msdnet", Prune: "max"},
			Stem:   Stem{Kind: "msdnet-imagenet"},
			Head:   Head{Kind: "msdnet-imagenet"},
		},
		"ranet-cifar10":       ranet("ranet-cifar10", 10),
		"ranet-cifar100":      ranet("ranet-cifar100", 100),
		"addad-cifar10":       addad("addad-cifar10", 10, 10, "addad-code"),
		"addad-cifar100":      addad("addad-cifar100", 100, 7, "addad-code"),
		"addad-cifar10-paper": addad("addad-cifar10-paper", 10, 10, "addad-separable"),
		"addad-cifar10-small": func() *Spec {
			s := addad("addad-cifar10-small", 10, 4, "addad-code")
			s.Activation = "relu"
			s.Blocks = Blocks{Count: 4, Base: 2, Step: 1, StepMode: "even"}
			return s
		}(),
	}
	if diff := cmp.Diff(sortedKeys(want), PresetNames()); diff != "" {
		t.Errorf("preset names (-want +got):\n%s", diff)
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			got, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Description = got.Description
			if diff := cmp.Diff(w, got, ignoreOrigin); diff != "" {
				t.Errorf("preset (-want +got):\n%s", diff)
			}
			// Every key is written in the preset file, so no default can shift a preset.
			for _, f := range fields {
				if f.path == "extends" || f.optional && isZero(f.ptr(got)) {
					continue
				}
				if p, ok := got.Origin.Fields[f.path]; !ok || p.Line == 0 {
					t.Errorf("%s is not written in the preset file", f.path)
				}
			}
		})
	}
}

func TestPresetInfo(t *testing.T) {
	infos := Presets()
	if len(infos) != len(PresetNames()) {
		t.Fatalf("Presets has %d entries, PresetNames %d", len(infos), len(PresetNames()))
	}
	for i, info := range infos {
		if i > 0 && infos[i-1].Name >= info.Name {
			t.Errorf("Presets not sorted: %s before %s", infos[i-1].Name, info.Name)
		}
		// Each description names the reference row it reproduces, or says it is none.
		if !strings.Contains(info.Description, "§4 row") && !strings.Contains(info.Description, "not a reference row") &&
			!strings.Contains(info.Description, "no reference counts") {
			t.Errorf("%s: description %q names no reference row", info.Name, info.Description)
		}
		if !strings.Contains(info.Description, "code") && !strings.Contains(info.Description, "prose") {
			t.Errorf("%s: description %q does not say whether it follows the code or the prose", info.Name, info.Description)
		}
	}
}

func TestPresetErrors(t *testing.T) {
	for _, name := range []string{"", "nope", "../spec/presets/ranet-cifar10", "ranet-cifar10.toml"} {
		if _, err := Preset(name); err == nil {
			t.Errorf("Preset(%q) succeeded", name)
		}
	}
}

func ExamplePreset() {
	s, err := Preset("msdnet-cifar10-anytime")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Blocks.Count, s.Blocks.StepMode, s.Blocks.Step, s.Blocks.Base, s.Channels, s.Scales.GrFactor)
	// Output: 10 even 2 4 16 [1 2 4]
}

func ExampleParse() {
	doc := `extends = "msdnet-cifar10-anytime"
name = "anytime-gelu"

[blocks]
count = 6
step_mode = "lin_grow"
`
	s, err := Parse("anytime-gelu.toml", []byte(doc), []string{"activation=gelu", "classes=0"})
	fmt.Println(s, err)

	s, err = Parse("anytime-gelu.toml", []byte(doc), []string{"activation=gelu"})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name, s.Activation, s.Blocks.Count, s.Blocks.StepMode, s.Channels)
	fmt.Println(s.Errorf("blocks.count", "needs at least %d blocks", 7))
	// Output:
	// <nil> --set:2: classes: 0 is out of range [1, 100000] (--set classes=0)
	// anytime-gelu gelu 6 lin_grow 16
	// anytime-gelu.toml:5: blocks.count: needs at least 7 blocks
}
