package train

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/tensorfile"
)

// ImportInfo is what run.json records about a run whose weights were imported from
// another framework's checkpoint instead of trained by msdx.
type ImportInfo struct {
	// Source is the checkpoint file as named on the command line, and SHA256 the hex
	// SHA-256 of its content.
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
	// Repository names the code that wrote it, e.g. "kalviny/MSDNet-PyTorch".
	Repository string `json:"repository"`
	// Args is the reference command line the spec was translated from, if it was.
	Args string `json:"args,omitempty"`
	// Arch, Epoch and BestPrec1 are the checkpoint's own "arch", "epoch" (0-based, the
	// last one finished) and "best_prec1" entries.
	Arch      string  `json:"arch,omitempty"`
	Epoch     int64   `json:"epoch"`
	BestPrec1 float64 `json:"best_prec1"`
	// Ignored says what the checkpoint held that was not imported.
	Ignored []string `json:"ignored,omitempty"`
}

// LockImport is the name under which Import locks the run directory it writes.
const LockImport = "msdx import"

// ImportOptions configure Import.
type ImportOptions struct {
	// Spec is the network; Weights holds exactly its parameters and buffers.
	Spec    *spec.Spec
	Weights *tensorfile.File
	// Data is the dataset to evaluate the network on (KIND:PATH, see data.Open); its
	// validation split is drawn as Train draws it, by the recipe's validation settings.
	Data        string
	OpenOptions data.OpenOptions
	// Stats is the normalisation the weights were trained with, recorded in data.json;
	// nil computes it from the training images, as a run trained by msdx does.
	Stats *data.Stats
	// Recipe names the recipe recorded as the one the weights were trained with (a
	// preset name or file), and Epochs, when positive, the epochs they were trained for.
	Recipe string
	Epochs int
	// Out is the run directory. It must not exist or be empty.
	Out string
	// Version is the msdx version recorded in run.json; Info the import's provenance.
	Version string
	Info    ImportInfo
	// Log, when not nil, receives notes one line at a time.
	Log func(string)
}

// Import writes a finished run directory, in the layout Train writes, for weights
// trained elsewhere: spec.toml, recipe.toml, data.json, final.safetensors and run.json
// with the import's provenance (RunInfo.Imported). The run has no metrics, checkpoints
// or test.json: it is evaluated ("msdx eval"), not resumed (its status is finished).
func Import(opts ImportOptions) (*Run, error) {
	s := opts.Spec
	rc, err := recipe.ResolveOverrides(opts.Recipe, recipe.Overrides{
		Epochs: opts.Epochs,
		Note:   func(n string) { logf(opts.Log, "recipe %s: %s", opts.Recipe, n) },
	})
	if err != nil {
		return nil, err
	}
	if err := checkNewRunDir(opts.Out); err != nil {
		return nil, err
	}
	net, err := newNetwork(s, rc.Seed)
	if err != nil {
		return nil, err
	}
	if err := net.SetWeights(opts.Weights, opts.Info.Source); err != nil {
		return nil, err
	}
	ds, ads, di, err := openRunData(opts.Data, opts.OpenOptions, s, rc, opts.Log, opts.Stats == nil, "to fit budgeted thresholds")
	if err != nil {
		return nil, err
	}
	if opts.Stats != nil {
		di.Stats = opts.Stats
	}
	now := time.Now().UTC().Truncate(time.Second)
	info := opts.Info
	r := &Run{Dir: opts.Out, Spec: s, Recipe: rc, DataInfo: di, Info: RunInfo{
		Format: RunFormat, Version: opts.Version,
		SpecName: s.Name, SpecHash: s.Hash(), Recipe: opts.Recipe,
		Data: ds.Ref, Fingerprint: ds.Fingerprint, Seed: rc.Seed, Threads: runtime.GOMAXPROCS(0),
		Created: now, Updated: now, Status: StatusFinished, EpochsDone: rc.Epochs, Epochs: rc.Epochs,
		// The one session is the import's: which msdx wrote the run, and where.
		Imported: &info, Sessions: []Provenance{newProvenance(opts.Version, runtime.GOMAXPROCS(0))},
	}}
	r.dataOnce.Do(func() { r.dataset = ads })
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(opts.Out, LockImport)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := checkNewRunDir(opts.Out); err != nil {
		return nil, err
	}
	if err := r.writeSetup(); err != nil {
		return nil, err
	}
	if err := net.Save(r.Path(FinalFile), map[string]string{"imported_from": filepath.Base(info.Source)}); err != nil {
		return nil, err
	}
	// run.json last: until it exists the directory is not a run.
	if err := r.writeInfo(); err != nil {
		return nil, err
	}
	return r, nil
}

// openRunData opens the dataset ref fitted to spec s's input (with the crop ratio of
// oo.Fit, if any), says once how the data were changed, draws the validation split rc asks
// for (at most a tenth of the training images; the note to log then says what the split is
// for, valPurpose), or takes the dataset's own, and returns the dataset (twice: the
// dataset as opened and as the run sees it, now the same) and the run's DataInfo, with the
// training images' normalisation statistics when stats is true and rc normalises.
func openRunData(ref string, oo data.OpenOptions, s *spec.Spec, rc *recipe.Recipe, log func(string), stats bool, valPurpose string) (*data.Dataset, *data.Dataset, DataInfo, error) {
	in := s.Input
	fit := data.Fit{C: in[0], H: in[1], W: in[2]}
	if oo.Fit != nil {
		fit.CropRatio = oo.Fit.CropRatio
	}
	oo.Fit = &fit
	ds, err := data.Open(ref, oo)
	if err != nil {
		return nil, nil, DataInfo{}, err
	}
	if ds.NumClasses() != s.Classes {
		return nil, nil, DataInfo{}, fmt.Errorf("spec %s has %d classes but dataset %s has %d: add --set classes=%d",
			s.Name, s.Classes, ref, ds.NumClasses(), ds.NumClasses())
	}
	if note := dataNote(ds.Preprocessing, rc); note != "" {
		logf(log, "data %s: %s", ref, note)
	}
	n := ds.Train.Len()
	var trainIdx, valIdx []int
	valSource := ""
	if ds.Val.Len() > 0 {
		// The data's own validation split replaces one held out from the training images.
		valIdx, valSource = []int{}, ValSplitData
		logf(log, "validation: the dataset's own validation split (%d images) replaces the recipe's %d held-out training images", ds.Val.Len(), rc.Validation.Size)
	} else {
		valSize := rc.Validation.Size
		if limit := n / 10; valSize > limit {
			// The recipe's size is for CIFAR and ImageNet; on a smaller dataset a tenth is held
			// out so that most images still train. Say so once, with what to do for another size.
			logf(log, "validation: holding out %d of the %d training images (a tenth: the recipe's %d is for larger datasets) %s",
				limit, n, valSize, valPurpose)
			valSize = limit
		}
		trainIdx, valIdx = data.SplitValidation(n, valSize, uint64(rc.Validation.Seed))
	}
	if n == 0 || len(trainIdx) == 0 && valSource == "" {
		return nil, nil, DataInfo{}, fmt.Errorf("dataset %s has no training images", ref)
	}
	di := DataInfo{
		Ref: ds.Ref, Fingerprint: ds.Fingerprint, Classes: ds.Classes,
		SourceShape:    ds.Preprocessing.Source,
		Input:          in,
		Preprocessing:  ds.Preprocessing,
		ValidationSeed: rc.Validation.Seed, ValidationIndices: valIdx, ValidationSource: valSource,
		TrainSize: n - len(valIdx), ValSize: len(valIdx), TestSize: ds.Test.Len(),
	}
	if valSource != "" {
		di.ValSize = ds.Val.Len()
	}
	if di.ValidationIndices == nil {
		di.ValidationIndices = []int{}
	}
	if stats && rc.Augmentation.Normalize {
		// With the dataset's own validation split, trainIdx is nil: every training image.
		st := data.ComputeStats(&ds.Train, trainIdx)
		di.Stats = &st
	}
	return ds, ds, di, nil
}
