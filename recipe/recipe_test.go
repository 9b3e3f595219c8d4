package recipe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/internal/golden"
	"github.com/msdx/msdx/optim"
	"github.com/msdx/msdx/spec"
)

// valid is a complete recipe; malformed cases edit it.
const valid = `description = "test"
epochs = 10
batch_size = 32
seed = 7

[optimizer]
lr = 0.1
momentum = 0.9
weight_decay = 1e-4

[schedule]
kind = "multistep"
milestones = [0.5, 0.75]
gamma = 0.1

[augmentation]
crop_padding = 4
hflip = true
`

func TestLoadValid(t *testing.T) {
	got, err := Load("ok.toml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	want := &Recipe{
		Description: "test", Epochs: 10, BatchSize: 32, Seed: 7,
		Optimizer:    Optimizer{Kind: "sgd", LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4},
		Schedule:     Schedule{Kind: MultiStep, Milestones: []float64{0.5, 0.75}, Gamma: 0.1},
		Augmentation: Augmentation{CropPadding: 4, HFlip: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

// TestLoadMalformed checks that each problem is reported with its file, line and field.
func TestLoadMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string // substrings of the error, each "file:line: field: ..." prefix
	}{
		{"syntax", strings.Replace(valid, "seed = 7", "seed = = 7", 1),
			[]string{"bad.toml:4: seed: "}},
		{"unknown top-level key", "epoch = 3\n" + valid,
			[]string{`bad.toml:1: epoch: unknown key (did you mean "epochs"?)`}},
		{"unknown nested key", strings.Replace(valid, "momentum = 0.9", "momentun = 0.9", 1),
			[]string{`bad.toml:8: optimizer.momentun: unknown key (did you mean "optimizer.momentum"?)`}},
		{"unknown table", valid + "[optimiser]\nlr = 1\n",
			[]string{`bad.toml:19: optimiser: unknown key (did you mean "optimizer"?)`}},
		{"float for integer", strings.Replace(valid, "epochs = 10", "epochs = 10.0", 1),
			[]string{"bad.toml:2: epochs: want an integer, got float 10 (write 10)"}},
		{"string for number", strings.Replace(valid, "lr = 0.1", `lr = "0.1"`, 1),
			[]string{"bad.toml:7: optimizer.lr: want a number, got string \"0.1\""}},
		{"string for bool", strings.Replace(valid, "hflip = true", `hflip = "yes"`, 1),
			[]string{"bad.toml:18: augmentation.hflip: want true or false, got string \"yes\""}},
		{"table expected", "augmentation = 3\n" + strings.Replace(valid, "[augmentation]\ncrop_padding = 4\nhflip = true\n", "", 1),
			[]string{"bad.toml:1: augmentation: want a table, got integer 3"}},
		{"bad array element", strings.Replace(valid, "[0.5, 0.75]", `[0.5, "x"]`, 1),
			[]string{`bad.toml:13: schedule.milestones: element 2: want a number, got string "x"`}},
		{"infinite", strings.Replace(valid, "weight_decay = 1e-4", "weight_decay = inf", 1),
			[]string{"bad.toml:9: optimizer.weight_decay: want a finite number, got +Inf"}},
		{"negative lr", strings.Replace(valid, "lr = 0.1", "lr = -0.1", 1),
			[]string{"bad.toml:7: optimizer.lr: must be positive, not -0.1"}},
		{"momentum range", strings.Replace(valid, "momentum = 0.9", "momentum = 1", 1),
			[]string{"bad.toml:8: optimizer.momentum: must be in [0, 1), not 1"}},
		{"zero epochs", strings.Replace(valid, "epochs = 10", "epochs = 0", 1),
			[]string{"bad.toml:2: epochs: must be at least 1, not 0"}},
		{"unknown schedule kind", strings.Replace(valid, `kind = "multistep"`, `kind = "step"`, 1),
			[]string{`bad.toml:12: schedule.kind: must be "multistep", "cosine" or "constant", not "step"`}},
		{"milestones order", strings.Replace(valid, "[0.5, 0.75]", "[0.75, 0.5]", 1),
			[]string{"bad.toml:13: schedule.milestones: must be increasing fractions"}},
		{"milestone as epoch", strings.Replace(valid, "[0.5, 0.75]", "[150, 225]", 1),
			[]string{"bad.toml:13: schedule.milestones: must be increasing fractions"}},
		{"field of another kind", strings.Replace(valid, "gamma = 0.1", "gamma = 0.1\nwarmup_epochs = 5", 1),
			[]string{`bad.toml:15: schedule.warmup_epochs: is only used with kind = "cosine" (kind is "multistep")`}},
		{"nesterov without momentum", strings.Replace(valid, "momentum = 0.9", "nesterov = true", 1),
			[]string{"bad.toml:8: optimizer.nesterov: needs optimizer.momentum > 0"}},
		{"optimizer kind", strings.Replace(valid, "[optimizer]\n", "[optimizer]\nkind = \"adamw\"\n", 1),
			[]string{`bad.toml:7: optimizer.kind: must be "sgd", not "adamw"`}},
		{"dotted key", strings.Replace(valid, "seed = 7", "seed = 7\nloss.label_smoothing = 1.5", 1),
			[]string{"bad.toml:5: loss.label_smoothing: must be in [0, 1), not 1.5"}},
		{"inline table", "loss = { label_smoothing = 0.1, weights = [1] }\n" + valid,
			[]string{`bad.toml:1: loss.weights: unknown key`}},
		{"quoted key", strings.Replace(valid, "hflip = true", `"cutmix_prob" = 2.0`, 1),
			[]string{"bad.toml:18: augmentation.cutmix_prob: must be in [0, 1], not 2"}},
		{"missing required", strings.Replace(valid, "batch_size = 32\n", "", 1),
			[]string{"bad.toml: batch_size: missing (required)"}},
		{"missing gamma", strings.Replace(valid, "gamma = 0.1\n", "", 1),
			[]string{`bad.toml:11: schedule.gamma: required with kind = "multistep"`}},
		{"extends unknown", "extends = \"msdnett\"\n" + valid, []string{`bad.toml:1: extends: unknown preset "msdnett"`}},
		{"several at once", strings.Replace(strings.Replace(valid, "epochs = 10", "epochs = -1", 1), "lr = 0.1", "lr = true\nlrr = 3", 1),
			[]string{
				"bad.toml:2: epochs: must be at least 1, not -1",
				"bad.toml:7: optimizer.lr: want a number, got boolean true",
				`bad.toml:8: optimizer.lrr: unknown key (did you mean "optimizer.lr"?)`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("bad.toml", []byte(tc.src))
			if err == nil {
				t.Fatal("Load accepted a malformed recipe")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList", err)
			}
			if len(list) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(list), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestPresets(t *testing.T) {
	names := PresetNames()
	if diff := cmp.Diff([]string{"addad", "imagenet", "msdnet", "quick"}, names); diff != "" {
		t.Errorf("PresetNames (-want +got):\n%s", diff)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			canon := r.Canonical()
			golden.Check(t, filepath.Join("testdata", name+".canonical.toml"), canon)
			back, err := Load("canonical", canon)
			if err != nil {
				t.Fatalf("canonical form does not load: %v", err)
			}
			if diff := cmp.Diff(r, back); diff != "" {
				t.Errorf("round trip (-preset +reloaded):\n%s", diff)
			}
			if err := r.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestPresetValues pins the values the presets must carry, from the sources they cite.
func TestPresetValues(t *testing.T) {
	msdnet, err := Preset("msdnet")
	if err != nil {
		t.Fatal(err)
	}
	if msdnet.Epochs != 300 || msdnet.BatchSize != 64 || msdnet.Optimizer != (Optimizer{Kind: "sgd", LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4}) {
		t.Errorf("msdnet epochs/batch/optimizer = %d/%d/%+v", msdnet.Epochs, msdnet.BatchSize, msdnet.Optimizer)
	}
	s := msdnet.LRSchedule()
	for _, c := range []struct {
		epoch int
		want  float64
	}{{149, 0.1}, {150, 0.010000000000000002}, {225, 0.0010000000000000002}} {
		if got := s.LR(c.epoch, 0, 782); got != c.want {
			t.Errorf("msdnet LR(epoch %d) = %v, want %v", c.epoch, got, c.want)
		}
	}
	if w, _ := msdnet.Loss.Weights(3); !cmp.Equal(w, []float64{1, 1, 1}) {
		t.Errorf("msdnet exit weights = %v, want all 1", w)
	}

	addad, err := Preset("addad")
	if err != nil {
		t.Fatal(err)
	}
	wantSched := optim.WarmupCosine{Base: 0.1, Min: 1e-6, Epochs: 300, WarmupEpochs: 20}
	if diff := cmp.Diff(optim.Schedule(wantSched), addad.LRSchedule()); diff != "" {
		t.Errorf("addad schedule (-want +got):\n%s", diff)
	}
	if addad.BatchSize != 512 || addad.Augmentation.MixupAlpha == 0 || addad.Augmentation.CutMixAlpha == 0 || addad.Loss.LabelSmoothing == 0 {
		t.Errorf("addad = %+v", addad)
	}
	quick, err := Preset("quick")
	if err != nil {
		t.Fatal(err)
	}
	if quick.Epochs > 15 || quick.Augmentation.MixupAlpha != 0 {
		t.Errorf("quick = %+v", quick)
	}
	if diff := cmp.Diff(optim.SGDConfig{Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}, quick.SGDConfig()); diff != "" {
		t.Errorf("quick SGDConfig (-want +got):\n%s", diff)
	}
}

func TestOverrides(t *testing.T) {
	base, err := Preset("msdnet")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Resolve("msdnet", []string{
		"optimizer.lr=0.05", "epochs=3", "optimizer.nesterov=true", "description=hello world",
		"schedule.milestones=[0.25, 0.5, 0.75]", "schedule.gamma=0.5", "seed = 12",
		"augmentation.hflip=false", `optimizer.kind="sgd"`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := *base
	want.Optimizer.LR, want.Epochs, want.Optimizer.Nesterov, want.Description = 0.05, 3, true, "hello world"
	want.Schedule.Milestones, want.Schedule.Gamma, want.Seed = []float64{0.25, 0.5, 0.75}, 0.5, 12
	want.Augmentation.HFlip = false
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("Resolve with overrides (-want +got):\n%s", diff)
	}

	// Switching the schedule kind needs the other kind's fields cleared.
	cos, err := Resolve("msdnet", []string{"schedule.kind=cosine", "schedule.milestones=", "schedule.gamma=0", "schedule.warmup_epochs=5"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(optim.Schedule(optim.WarmupCosine{Base: 0.1, Epochs: 300, WarmupEpochs: 5}), cos.LRSchedule()); diff != "" {
		t.Errorf("cosine override schedule (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		set  string
		want string
	}{
		{"optimizer.lr=abc", `--set:1: optimizer.lr: want a finite number, got "abc" (--set optimizer.lr=abc)`},
		{"epochs=2.5", `--set:1: epochs: want an integer, got "2.5" (--set epochs=2.5)`},
		{"optimizer.lrr=1", `--set:1: optimizer.lrr: unknown field (did you mean "optimizer.lr"?) (--set optimizer.lrr=1)`},
		{"optimizer=1", "--set:1: optimizer: is a table"},
		{"epochs", "--set:1: epochs: want path=value (--set epochs)"},
		{"augmentation.hflip=maybe", `want true or false, got "maybe"`},
		{"schedule.milestones=0.5,x", `schedule.milestones: element 2: want a finite number, got "x"`},
		{"optimizer.lr=-1", "optimizer.lr: must be positive, not -1"},
		{"schedule.kind=cosine", `presets/msdnet.toml:25: schedule.milestones: is only used with kind = "multistep"`},
	} {
		t.Run(tc.set, func(t *testing.T) {
			_, err := Resolve("msdnet", []string{tc.set})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Resolve error = %v, want one containing %s", err, tc.want)
			}
		})
	}
}

func TestExtends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.toml")
	src := "extends = \"quick\"\nepochs = 4\n[optimizer]\nlr = 0.02\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(path, []string{"batch_size=16"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Preset("quick")
	want.Epochs, want.Optimizer.LR, want.BatchSize = 4, 0.02, 16
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extends (-want +got):\n%s", diff)
	}
	// A problem in the extending file names that file; one caused by a preset value names
	// the preset's line.
	bad := "extends = \"quick\"\nepochs = 1\n"
	_, err = Load("mine.toml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "presets/quick.toml:") || !strings.Contains(err.Error(), "schedule.warmup_epochs: must be in [0, epochs) = [0, 1), not 1") {
		t.Errorf("Load error = %v, want the preset's warmup_epochs line", err)
	}
}

func TestResolveMissing(t *testing.T) {
	_, err := Resolve("nosuch", nil)
	if err == nil || !strings.Contains(err.Error(), "neither a preset") || !strings.Contains(err.Error(), "msdnet") {
		t.Errorf("Resolve(nosuch) error = %v", err)
	}
	path := filepath.Join(t.TempDir(), "absent.toml")
	if _, err := Resolve(path, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Resolve(%s) error = %v, want one naming the file", path, err)
	}
}

func TestValidate(t *testing.T) {
	r := &Recipe{Epochs: 5, BatchSize: 8,
		Optimizer: Optimizer{Kind: "sgd", LR: 0.1},
		Schedule:  Schedule{Kind: Constant, MinLR: 0.01},
		Loss:      Loss{ExitWeights: []float64{0, 0}},
	}
	err := r.Validate()
	for _, want := range []string{
		`recipe: schedule.min_lr: is only used with kind = "cosine"`,
		"recipe: loss.exit_weights: must be non-negative and not all zero",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error = %v, want one containing %s", err, want)
		}
	}
}

func TestCanonicalEscapes(t *testing.T) {
	r, err := Preset("quick")
	if err != nil {
		t.Fatal(err)
	}
	r.Description = "quote \" backslash \\ tab \t newline \n bell \a ünïcode"
	r.Loss.ExitWeights = []float64{0.5, 1, 2e-7}
	back, err := Load("canonical", r.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestLossWeights(t *testing.T) {
	l := Loss{ExitWeights: []float64{1, 2}}
	if w, err := l.Weights(2); err != nil || !cmp.Equal(w, []float64{1, 2}) {
		t.Errorf("Weights(2) = %v, %v", w, err)
	}
	if _, err := l.Weights(3); err == nil {
		t.Error("Weights(3) with 2 weights gave no error")
	}
}

// TestFitWarmup checks that a command-line epochs override shorter than a preset's warm-up
// shortens the warm-up, saying so once, while a warm-up or epochs written by the user that
// do not fit stay errors naming where each came from (issue 12).
func TestFitWarmup(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ownWarmup := write("warmup.toml", "extends = \"quick\"\n[schedule]\nwarmup_epochs = 5\n")
	ownEpochs := write("epochs.toml", "extends = \"quick\"\nepochs = 1\n")
	type result struct {
		Warmup int
		Notes  []string
		Err    string
	}
	for _, tc := range []struct {
		name   string
		recipe string
		o      Overrides
		want   result
	}{
		{"--epochs shortens the preset's warm-up", "quick", Overrides{Epochs: 1}, result{Warmup: 0, Notes: []string{
			"schedule.warmup_epochs: presets/quick.toml:20 writes 1, too long for --epochs 1: warming up for 0 epochs instead (choose with --recipe-set schedule.warmup_epochs=N)",
		}}},
		{"an epochs override does too", "quick", Overrides{Sets: []string{"epochs=1"}}, result{Warmup: 0, Notes: []string{
			"schedule.warmup_epochs: presets/quick.toml:20 writes 1, too long for epochs = 1 from --set epochs=1: warming up for 0 epochs instead (choose with --recipe-set schedule.warmup_epochs=N)",
		}}},
		{"a warm-up that fits is kept", "quick", Overrides{Epochs: 2}, result{Warmup: 1}},
		{"--epochs wins over an epochs override", "quick", Overrides{Sets: []string{"epochs=1"}, Epochs: 3}, result{Warmup: 1}},
		{"an overridden warm-up is an error", "quick", Overrides{Sets: []string{"schedule.warmup_epochs=3"}, Epochs: 2}, result{
			Err: "--set:1: schedule.warmup_epochs: must be in [0, epochs) = [0, 2), not 3 (--epochs 2) (--set schedule.warmup_epochs=3)",
		}},
		{"a warm-up in the file is an error", ownWarmup, Overrides{Epochs: 3}, result{
			Err: ownWarmup + ":3: schedule.warmup_epochs: must be in [0, epochs) = [0, 3), not 5 (--epochs 3)",
		}},
		{"epochs in the file are an error", ownEpochs, Overrides{}, result{
			Err: "presets/quick.toml:20: schedule.warmup_epochs: must be in [0, epochs) = [0, 1), not 1 (epochs = 1 from " + ownEpochs + ":2)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got result
			tc.o.Note = func(s string) { got.Notes = append(got.Notes, s) }
			r, err := ResolveOverrides(tc.recipe, tc.o)
			if err != nil {
				got.Err = err.Error()
			} else {
				got.Warmup = r.Schedule.WarmupEpochs
				if verr := r.Validate(); verr != nil {
					t.Errorf("resolved recipe does not validate: %v", verr)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ResolveOverrides(%q) (-want +got):\n%s", tc.recipe, diff)
			}
		})
	}
}

// TestErrorListIsItsOwnType checks that errors.As tells a recipe's problems from a spec's:
// both are lists of the one located error, but of distinct types.
func TestErrorListIsItsOwnType(t *testing.T) {
	_, recipeErr := Resolve("msdnet", []string{"epochs=x"})
	_, specErr := spec.Resolve("msdnet-cifar10-small", []string{"channels=x"})
	var rl ErrorList
	var sl spec.ErrorList
	if !errors.As(recipeErr, &rl) || errors.As(recipeErr, &sl) {
		t.Errorf("recipe error %v: as recipe.ErrorList %v, as spec.ErrorList %v", recipeErr, errors.As(recipeErr, &rl), errors.As(recipeErr, &sl))
	}
	if !errors.As(specErr, &sl) || errors.As(specErr, &rl) {
		t.Errorf("spec error %v: as spec.ErrorList %v, as recipe.ErrorList %v", specErr, errors.As(specErr, &sl), errors.As(specErr, &rl))
	}
}
