// Package recipe describes how a multi-exit model is trained: optimizer, learning-rate
// schedule, epochs, batch size, loss, data augmentation and validation split.
//
// Recipes are TOML files. Four presets are built in (see PresetNames): "msdnet", the
// MSDNet/RANet CIFAR recipe; "imagenet", their ImageNet recipe; "addad", the recipe of Addad
// et al. (ICCVW 2023); and "quick", a short schedule tuned for speed on a small CPU. A recipe file may start from a preset with
// a top-level key extends = "name" and override some of its keys.
//
// Loading is strict: unknown keys, wrong types, missing required keys and out-of-range values
// are all errors, reported together as an ErrorList whose entries name the file, the line and
// the field (a dotted key path such as "optimizer.lr"). Field paths are the TOML keys joined
// by dots, as in the --set overrides accepted by Resolve.
//
// Keys (required ones marked *; every other key defaults to zero, which means "off"):
//
//	description              free text
//	epochs*                  number of training epochs
//	batch_size*              images per iteration
//	seed                     seed of the training run (initialisation, shuffling, augmentation)
//	[optimizer]
//	kind                     "sgd" (the default and only choice)
//	lr*                      base learning rate
//	momentum                 in [0, 1)
//	nesterov                 Nesterov momentum (needs momentum > 0)
//	weight_decay             L2 penalty, applied to every parameter
//	[schedule]
//	kind*                    "multistep", "cosine" or "constant"
//	milestones               multistep: fractions of epochs, increasing, each in (0, 1)
//	gamma                    multistep: factor applied at each milestone
//	warmup_epochs            cosine: epochs of linear warm-up from 0
//	min_lr                   cosine: rate at the end of the decay
//	[loss]
//	exit_weights             weight of each exit's loss; empty means 1 for every exit
//	label_smoothing          in [0, 1)
//	[augmentation]
//	resized_crop_scale       random-resized crop (ImageNet training): [min, max] fraction of the
//	                         image's area, as torchvision's RandomResizedCrop scale (empty: none)
//	resized_crop_ratio       its [min, max] aspect ratio (empty: torchvision's [3/4, 4/3])
//	crop_padding             random crop after zero padding by this many pixels (0: none)
//	hflip                    random horizontal flip with probability 1/2
//	mixup_alpha              Mixup Beta(α, α) parameter (0: off)
//	cutmix_alpha             CutMix Beta(α, α) parameter (0: off)
//	cutmix_prob              with both on, probability that a batch uses CutMix, not Mixup
//	normalize                subtract the dataset's channel means, divide by its stds
//	[validation]
//	size                     training images held out for model selection (0: none)
//	seed                     seed of the permutation that picks them
package recipe

import (
	"embed"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/msdx/msdx/optim"
)

// Recipe is a complete training recipe. The toml tags are the keys of the file format.
type Recipe struct {
	// Description is free text.
	Description string `toml:"description"`
	// Epochs is the number of training epochs.
	Epochs int `toml:"epochs" recipe:"required"`
	// BatchSize is the number of images per training iteration.
	BatchSize int `toml:"batch_size" recipe:"required"`
	// Seed seeds initialisation, shuffling and augmentation.
	Seed int64 `toml:"seed"`

	Optimizer    Optimizer    `toml:"optimizer"`
	Schedule     Schedule     `toml:"schedule"`
	Loss         Loss         `toml:"loss"`
	Augmentation Augmentation `toml:"augmentation"`
	Validation   Validation   `toml:"validation"`
}

// Optimizer configures the optimizer.
type Optimizer struct {
	// Kind names the optimizer; "sgd" is the only one.
	Kind string `toml:"kind"`
	// LR is the base learning rate, which the schedule scales.
	LR float64 `toml:"lr" recipe:"required"`
	// Momentum is the momentum factor, in [0, 1).
	Momentum float64 `toml:"momentum"`
	// Nesterov selects Nesterov momentum.
	Nesterov bool `toml:"nesterov"`
	// WeightDecay is the L2 penalty coefficient.
	WeightDecay float64 `toml:"weight_decay"`
}

// Schedule kinds.
const (
	MultiStep = "multistep"
	Cosine    = "cosine"
	Constant  = "constant"
)

// Schedule configures the learning-rate schedule.
type Schedule struct {
	// Kind is MultiStep, Cosine or Constant.
	Kind string `toml:"kind" recipe:"required"`
	// Milestones are the fractions of Epochs at which a multistep schedule multiplies the
	// rate by Gamma.
	Milestones []float64 `toml:"milestones"`
	// Gamma is the multistep factor.
	Gamma float64 `toml:"gamma"`
	// WarmupEpochs is the length of the cosine schedule's linear warm-up.
	WarmupEpochs int `toml:"warmup_epochs"`
	// MinLR is the rate the cosine decay ends at.
	MinLR float64 `toml:"min_lr"`
}

// Loss configures the training loss: the weighted sum over exits of each exit's
// cross-entropy.
type Loss struct {
	// ExitWeights are the per-exit weights; empty means 1 for every exit.
	ExitWeights []float64 `toml:"exit_weights"`
	// LabelSmoothing is the label-smoothing factor, in [0, 1).
	LabelSmoothing float64 `toml:"label_smoothing"`
}

// Weights returns the weight of each of exits exits: ExitWeights, or all ones when it is
// empty. It returns an error if ExitWeights has a different length.
func (l Loss) Weights(exits int) ([]float64, error) {
	if len(l.ExitWeights) == 0 {
		w := make([]float64, exits)
		for i := range w {
			w[i] = 1
		}
		return w, nil
	}
	if len(l.ExitWeights) != exits {
		return nil, fmt.Errorf("recipe: loss.exit_weights has %d entries, the model has %d exits", len(l.ExitWeights), exits)
	}
	return slices.Clone(l.ExitWeights), nil
}

// Augmentation configures training-time data augmentation.
type Augmentation struct {
	// ResizedCropScale, when not empty, turns on the random-resized crop of the ImageNet
	// training pipelines: a window of a random fraction of the image's area in
	// [ResizedCropScale[0], ResizedCropScale[1]] and a random aspect ratio in ResizedCropRatio
	// (empty: [3/4, 4/3]), resized to the network's input.
	ResizedCropScale []float64 `toml:"resized_crop_scale"`
	ResizedCropRatio []float64 `toml:"resized_crop_ratio"`
	// CropPadding is the zero padding, in pixels per side, before a random crop back to the
	// input size; 0 disables cropping.
	CropPadding int `toml:"crop_padding"`
	// HFlip flips images horizontally with probability 1/2.
	HFlip bool `toml:"hflip"`
	// MixupAlpha is Mixup's Beta(α, α) parameter; 0 disables Mixup.
	MixupAlpha float64 `toml:"mixup_alpha"`
	// CutMixAlpha is CutMix's Beta(α, α) parameter; 0 disables CutMix.
	CutMixAlpha float64 `toml:"cutmix_alpha"`
	// CutMixProb is, when both Mixup and CutMix are on, the probability that a batch uses
	// CutMix rather than Mixup (timm's switch_prob). With only one on, every batch uses it.
	CutMixProb float64 `toml:"cutmix_prob"`
	// Normalize standardises each channel with the dataset's mean and standard deviation.
	Normalize bool `toml:"normalize"`
}

// DefaultResizedCropRatio is the aspect-ratio range of a random-resized crop whose recipe
// gives none, torchvision's.
var DefaultResizedCropRatio = [2]float64{3.0 / 4, 4.0 / 3}

// ResizedCrop returns the random-resized crop's scale and ratio ranges, and whether the
// recipe asks for one.
func (a Augmentation) ResizedCrop() (scale, ratio [2]float64, ok bool) {
	if len(a.ResizedCropScale) != 2 {
		return scale, ratio, false
	}
	scale = [2]float64{a.ResizedCropScale[0], a.ResizedCropScale[1]}
	ratio = DefaultResizedCropRatio
	if len(a.ResizedCropRatio) == 2 {
		ratio = [2]float64{a.ResizedCropRatio[0], a.ResizedCropRatio[1]}
	}
	return scale, ratio, true
}

// Validation configures the held-out split used for model selection.
type Validation struct {
	// Size is the number of training images held out; 0 holds out none.
	Size int `toml:"size"`
	// Seed seeds the permutation that chooses them.
	Seed int64 `toml:"seed"`
}

// LRSchedule returns the learning-rate schedule the recipe describes. The recipe must be
// valid.
func (r *Recipe) LRSchedule() optim.Schedule {
	s := r.Schedule
	switch s.Kind {
	case MultiStep:
		return optim.MultiStep{Base: r.Optimizer.LR, Epochs: r.Epochs, Milestones: slices.Clone(s.Milestones), Gamma: s.Gamma}
	case Cosine:
		return optim.WarmupCosine{Base: r.Optimizer.LR, Min: s.MinLR, Epochs: r.Epochs, WarmupEpochs: s.WarmupEpochs}
	case Constant:
		return optim.Constant{Base: r.Optimizer.LR}
	}
	panic(fmt.Sprintf("recipe: unknown schedule kind %q", s.Kind))
}

// SGDConfig returns the optimizer settings other than the learning rate.
func (r *Recipe) SGDConfig() optim.SGDConfig {
	return optim.SGDConfig{Momentum: r.Optimizer.Momentum, Nesterov: r.Optimizer.Nesterov, WeightDecay: r.Optimizer.WeightDecay}
}

//go:embed presets/*.toml
var presetFS embed.FS

// PresetNames returns the names of the built-in recipes, sorted.
func PresetNames() []string {
	entries, err := presetFS.ReadDir("presets")
	if err != nil {
		panic(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	slices.Sort(names)
	return names
}

// presetDir starts the file name of every preset in errors and notes.
const presetDir = "presets/"

// presetSource returns the file name used in errors and the text of a preset.
func presetSource(name string) (string, []byte, bool) {
	if !slices.Contains(PresetNames(), name) {
		return "", nil, false
	}
	file := presetDir + name + ".toml"
	src, err := presetFS.ReadFile(file)
	if err != nil {
		panic(err)
	}
	return file, src, true
}

// Preset returns the built-in recipe called name.
func Preset(name string) (*Recipe, error) {
	return Resolve(name, nil)
}

// Load parses and validates a recipe held in src; file names it in errors.
func Load(file string, src []byte) (*Recipe, error) {
	return load(file, src, Overrides{})
}

// LoadFile reads, parses and validates the recipe file path.
func LoadFile(path string) (*Recipe, error) {
	return Resolve(path, nil)
}

// Resolve loads the preset called nameOrPath, or else the recipe file at that path, applies
// the overrides sets in order and validates the result. Each override has the form
// "path=value", e.g. "optimizer.lr=0.05" or "schedule.milestones=0.5,0.75"; the value is
// parsed according to the type of the field at path (numbers, true/false, text, or a
// comma-separated list in optional brackets). A name that is a preset is taken as the preset;
// write "./name" for a file of that name.
//
// A cosine warm-up that comes from a built-in preset and does not fit the run's epochs,
// as changed by the file or an override, is shortened to epochs-1 rather than rejected
// (see Overrides.Note); a warm-up written in the recipe file or an override stays an error.
func Resolve(nameOrPath string, sets []string) (*Recipe, error) {
	return ResolveOverrides(nameOrPath, Overrides{Sets: sets})
}

// Overrides are the command-line changes to a recipe, applied after its file.
type Overrides struct {
	// Sets are "path=value" settings, applied in order (see Resolve).
	Sets []string
	// Flag is the command-line flag that gave Sets ("--recipe-set"), named in errors;
	// "--set" when empty.
	Flag string
	// Epochs, when positive, sets epochs after Sets, as "msdx train --epochs N" does;
	// messages name it "--epochs N".
	Epochs int
	// Note, when not nil, receives one line for each value taken from a built-in preset
	// that Resolve changed so that the overrides fit: a cosine warm-up of the preset that
	// is at least as long as the run is shortened to epochs-1 epochs.
	Note func(string)
}

// ResolveOverrides is Resolve with the overrides o.
func ResolveOverrides(nameOrPath string, o Overrides) (*Recipe, error) {
	if file, src, ok := presetSource(nameOrPath); ok {
		return load(file, src, o)
	}
	src, err := os.ReadFile(nameOrPath)
	if err != nil {
		if os.IsNotExist(err) && !strings.ContainsAny(nameOrPath, `/\.`) {
			return nil, fmt.Errorf("recipe: %q is neither a preset (%s) nor a file", nameOrPath, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return load(nameOrPath, src, o)
}
