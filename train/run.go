// Package train trains msdx multi-exit networks and manages their run directories.
//
// A run directory is everything one training run produced, written so that a crash at
// any moment leaves it consistent (every file is replaced atomically) and resumable:
//
//	run.json                     RunInfo: versions, spec hash, data fingerprint, seed, status, sessions
//	spec.toml                    the resolved spec, in canonical form
//	recipe.toml                  the resolved recipe, in canonical form
//	data.json                    DataInfo: classes, input shape, normalisation, validation split
//	metrics.jsonl                one EpochMetrics object per finished epoch
//	checkpoints/latest.safetensors  weights, batch-norm buffers, optimizer state and position
//	checkpoints/best.safetensors    weights with the best validation top-1 at the last exit
//	final.safetensors            the weights after the last epoch
//	test.json                    TestResult: per-exit test metrics of the final and best weights
//	.lock                        the dirlock of the process training or evaluating the run
//
// Import writes a finished run for weights trained elsewhere (a reference repository's
// checkpoint, see package refimport): spec, recipe, data and final weights, with run.json
// saying where they came from.
//
// Train starts a run and Resume continues one. A resumed run reproduces the
// uninterrupted run bit for bit, on any number of threads (same seed, same kernel path): the checkpoint holds
// the weights, the batch-norm statistics, the optimizer's momentum buffers and step
// count, the position (epoch and next batch) and the metric sums of the partial epoch,
// and every batch, augmentation included, is a pure function of (seed, epoch, batch).
//
// Train and Resume hold the directory's lock (package dirlock) while they work, and so does
// "msdx eval", so that two processes never write one run at once; a second one fails at
// once with an error naming the holder. OpenRun takes no lock: every file is replaced
// atomically, so reading a run while it trains is safe.
//
// OpenRun reads a run directory for the commands that use a trained network
// (evaluation, prediction): Run.Network loads its weights, Run.Dataset reopens its data
// and Run.EvalLoader gives unaugmented, normalised batches of any split.
//
// OpenRun is the one reader of run directories: every other package (evaluation,
// prediction, studies, the report) reads a run through it. Like every JSON reader of
// msdx it rejects unknown fields, and it refuses run.json of another format.
package train

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/internal/sysinfo"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/tensorfile"
)

// Names of the files of a run directory, relative to it.
const (
	RunFile     = "run.json"
	SpecFile    = "spec.toml"
	RecipeFile  = "recipe.toml"
	DataFile    = "data.json"
	MetricsFile = "metrics.jsonl"
	LatestFile  = "checkpoints/latest.safetensors"
	BestFile    = "checkpoints/best.safetensors"
	FinalFile   = "final.safetensors"
	TestFile    = "test.json"
)

// RunFormat is the version of the run directory layout, recorded in run.json.
const RunFormat = 1

// Run statuses recorded in RunInfo.Status.
const (
	StatusRunning     = "running"     // training, or killed without a chance to say so
	StatusFinished    = "finished"    // all epochs done, final weights and test metrics written
	StatusFailed      = "failed"      // stopped by an error (NaN loss, I/O error); see Reason
	StatusInterrupted = "interrupted" // stopped by a signal after writing a resumable checkpoint
)

// RunInfo is the content of run.json: what a run is and where it stands.
type RunInfo struct {
	// Format is RunFormat when the run was created.
	Format int `json:"format"`
	// Version is the msdx version that created the run; ResumedBy lists those that resumed it.
	Version   string   `json:"msdx_version"`
	ResumedBy []string `json:"resumed_by,omitempty"`
	// SpecName and SpecHash identify the network (spec.Spec.Hash).
	SpecName string `json:"spec_name"`
	SpecHash string `json:"spec_hash"`
	// Recipe is the recipe as named on the command line (preset name or file).
	Recipe string `json:"recipe"`
	// Data is the dataset reference (KIND:PATH) and Fingerprint its content hash.
	Data        string `json:"data"`
	Fingerprint string `json:"fingerprint"`
	// Seed seeds initialisation, shuffling and augmentation.
	Seed int64 `json:"seed"`
	// Threads is the thread count of the first session (results do not depend on it).
	Threads int `json:"threads"`
	// Created and Updated are when the run was created and run.json last written.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Status is one of the Status constants; Reason explains failed and interrupted runs.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// EpochsDone counts the finished epochs; Epochs is the recipe's total.
	EpochsDone int `json:"epochs_done"`
	Epochs     int `json:"epochs"`
	// Imported, for a run written by Import, says where its weights came from: they were
	// trained elsewhere, not by this run.
	Imported *ImportInfo `json:"imported,omitempty"`
	// Sessions are the training sessions that created and resumed the run, in order;
	// runs written before msdx recorded them have none.
	Sessions []Provenance `json:"sessions,omitempty"`
}

// Provenance is where a training session ran: the msdx build and the machine. The
// kernel path decides the rounding of every sum, so a run continued on another path
// is not bit-identical to an uninterrupted one (see Session.ForceKernels).
type Provenance struct {
	// Started is when the session began.
	Started time.Time `json:"started"`
	// Version is the msdx version. Commit is the VCS revision msdx was built from, and
	// Modified says that its work tree had uncommitted changes; Commit is empty when the
	// build recorded none (go run, go test).
	Version  string `json:"msdx_version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// Go is the Go version msdx was built with.
	Go string `json:"go"`
	// Kernels is the kernel path the session computed with: avx512, avx2 or generic
	// (kernels.Path).
	Kernels string `json:"kernels"`
	// CPU is the processor's model name ("" where unknown) and Threads the session's
	// kernel thread count.
	CPU     string `json:"cpu,omitempty"`
	Threads int    `json:"threads"`
}

// newProvenance describes the calling process's session of version with threads threads.
func newProvenance(version string, threads int) Provenance {
	b := sysinfo.ReadBuild()
	return Provenance{
		Started: time.Now().UTC().Truncate(time.Second), Version: version,
		Commit: b.Commit, Modified: b.Modified, Go: runtime.Version(),
		Kernels: kernels.Path(), CPU: sysinfo.CPUModel(), Threads: threads,
	}
}

// DataInfo is the content of data.json: the data a run trained on, as it saw it.
type DataInfo struct {
	// Ref and Fingerprint name the dataset (data.Dataset.Ref and Fingerprint).
	Ref         string `json:"ref"`
	Fingerprint string `json:"fingerprint"`
	// Classes are the class names; label k is Classes[k].
	Classes []string `json:"classes"`
	// SourceShape is the dataset's image shape (C, H, W) as read, with H and W 0 when the
	// images differ in size; Input is the spec's input, which the images were brought to as
	// Preprocessing says (data.Fit).
	SourceShape   [3]int              `json:"source_shape"`
	Input         [3]int              `json:"input"`
	Preprocessing *data.Preprocessing `json:"preprocessing,omitempty"`
	// Stats are the normalisation statistics of the training images (without the
	// validation images); nil when the recipe does not normalise.
	Stats *data.Stats `json:"stats,omitempty"`
	// ValidationSeed seeded the choice of ValidationIndices, the sorted indices of the
	// training split's images held out for validation.
	ValidationSeed    int64 `json:"validation_seed"`
	ValidationIndices []int `json:"validation_indices"`
	// ValidationSource is ValSplitData when the validation images are the dataset's own
	// validation split (an image folder's val/ beside test/), and "" when they are held out
	// of the training split.
	ValidationSource string `json:"validation_source,omitempty"`
	// TrainSize, ValSize and TestSize count the images of each split.
	TrainSize int `json:"train_size"`
	ValSize   int `json:"val_size"`
	TestSize  int `json:"test_size"`
}

// ValSplitData is DataInfo.ValidationSource for a dataset's own validation split.
const ValSplitData = "data"

// fit returns how the run's data are fitted to its input.
func (d *DataInfo) fit() *data.Fit {
	f := &data.Fit{C: d.Input[0], H: d.Input[1], W: d.Input[2]}
	if d.Preprocessing != nil {
		f.CropRatio = d.Preprocessing.CropRatio
	} else {
		// A run recorded before msdx resized images: its data were padded or cropped.
		f.PadOrCrop = true
	}
	return f
}

// trainIndices returns the training split's indices that are not held out, in order.
func (d *DataInfo) trainIndices(n int) []int {
	held := make(map[int]bool, len(d.ValidationIndices))
	for _, i := range d.ValidationIndices {
		held[i] = true
	}
	idx := make([]int, 0, n-len(held))
	for i := 0; i < n; i++ {
		if !held[i] {
			idx = append(idx, i)
		}
	}
	return idx
}

// Run is a run directory opened for reading.
type Run struct {
	// Dir is the run directory.
	Dir string
	// Spec and Recipe are the run's resolved spec and recipe (spec.toml, recipe.toml).
	Spec   *spec.Spec
	Recipe *recipe.Recipe
	// Info is run.json and DataInfo data.json.
	Info     RunInfo
	DataInfo DataInfo

	dataOnce sync.Once
	dataset  *data.Dataset
	dataErr  error
}

// OpenRun reads the run directory dir and checks that its files agree with each
// other: the spec's hash and the data's fingerprint must be those run.json recorded.
// Errors name the offending file.
func OpenRun(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	if err := jsonfile.Read(r.Path(RunFile), &r.Info); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not an msdx run directory: no %s", dir, RunFile)
		}
		return nil, err
	}
	if r.Info.Format != RunFormat {
		return nil, fmt.Errorf("%s: run format %d, this msdx reads format %d", r.Path(RunFile), r.Info.Format, RunFormat)
	}
	s, err := spec.Load(r.Path(SpecFile), nil)
	if err != nil {
		return nil, err
	}
	if s.Hash() != r.Info.SpecHash {
		return nil, fmt.Errorf("%s: spec hash %s differs from %s's %s", r.Path(SpecFile), s.Hash(), RunFile, r.Info.SpecHash)
	}
	r.Spec = s
	if r.Recipe, err = recipe.LoadFile(r.Path(RecipeFile)); err != nil {
		return nil, err
	}
	if err := jsonfile.Read(r.Path(DataFile), &r.DataInfo); err != nil {
		return nil, err
	}
	if r.DataInfo.Fingerprint != r.Info.Fingerprint || r.DataInfo.Ref != r.Info.Data {
		return nil, fmt.Errorf("%s: data %s (%s) differs from %s's %s (%s)", r.Path(DataFile),
			r.DataInfo.Ref, r.DataInfo.Fingerprint, RunFile, r.Info.Data, r.Info.Fingerprint)
	}
	if len(r.DataInfo.Classes) != s.Classes {
		return nil, fmt.Errorf("%s: %d classes, the spec has %d", r.Path(DataFile), len(r.DataInfo.Classes), s.Classes)
	}
	if r.DataInfo.Input != s.Input {
		return nil, fmt.Errorf("%s: input %v, the spec has %v", r.Path(DataFile), r.DataInfo.Input, s.Input)
	}
	if !sort.IntsAreSorted(r.DataInfo.ValidationIndices) {
		return nil, fmt.Errorf("%s: validation indices are not sorted", r.Path(DataFile))
	}
	return r, nil
}

// Path returns the path of name inside the run directory. It panics if name is
// absolute or leaves the directory ("../x"): names come from code, not from users.
func (r *Run) Path(name string) string {
	if !filepath.IsLocal(name) {
		panic(fmt.Sprintf("train: run path %q is not inside the run directory", name))
	}
	return filepath.Join(r.Dir, name)
}

// WeightsFile returns the path of the named weights: "final" (final.safetensors),
// "best" (checkpoints/best.safetensors) or "latest" (checkpoints/latest.safetensors).
func (r *Run) WeightsFile(weights string) (string, error) {
	switch weights {
	case "final":
		return r.Path(FinalFile), nil
	case "best":
		return r.Path(BestFile), nil
	case "latest":
		return r.Path(LatestFile), nil
	}
	return "", fmt.Errorf("weights %q: want final, best or latest", weights)
}

// Network builds the run's network and loads the named weights ("final", "best" or
// "latest", see WeightsFile) into it. The network is in evaluation mode.
func (r *Run) Network(weights string) (*nn.Network, error) {
	net, _, err := r.NetworkDigest(weights)
	return net, err
}

// NetworkDigest is Network that also returns the SHA-256, in hex, of the weights file's
// content as it was read: it identifies the weights that results were computed with.
func (r *Run) NetworkDigest(weights string) (*nn.Network, string, error) {
	name, err := r.WeightsFile(weights)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("run %s has no %s weights yet (%s; status %s)", r.Dir, weights, name, r.Info.Status)
		}
		return nil, "", fmt.Errorf("tensorfile: %w", err)
	}
	sum := sha256.Sum256(b)
	f, err := tensorfile.Decode(name, b)
	if err != nil {
		return nil, "", err
	}
	net, err := newNetwork(r.Spec, r.Info.Seed)
	if err != nil {
		return nil, "", err
	}
	if err := net.SetWeights(weightsOnly(f), name); err != nil {
		return nil, "", err
	}
	net.SetTrain(false)
	return net, hex.EncodeToString(sum[:]), nil
}

// newNetwork builds s with the initialisation its fusion rule's reference uses.
func newNetwork(s *spec.Spec, seed int64) (*nn.Network, error) {
	g, err := builder.Build(s)
	if err != nil {
		return nil, err
	}
	init := nn.InitPyTorch
	if s.Fusion.Rule == spec.RuleRANet {
		init = nn.InitHeNormal
	}
	return nn.New(g, init, uint64(seed))
}

// Dataset reopens the run's dataset from its recorded reference, fitted to the spec's
// input as data.json records, and checks its content against the recorded fingerprint. The
// dataset is opened once and shared by later calls.
func (r *Run) Dataset() (*data.Dataset, error) {
	r.dataOnce.Do(func() {
		opts := data.OpenOptions{Fit: r.DataInfo.fit()}
		if p := r.DataInfo.Preprocessing; p != nil {
			opts.SkipBadImages = len(p.Skipped) > 0
		}
		ds, err := data.Open(r.Info.Data, opts)
		if err != nil {
			r.dataErr = err
			return
		}
		if ds.Fingerprint != r.Info.Fingerprint {
			r.dataErr = fmt.Errorf("dataset %s has changed since run %s: fingerprint %s, the run recorded %s",
				r.Info.Data, r.Dir, ds.Fingerprint, r.Info.Fingerprint)
			return
		}
		train, val := ds.Train.Len(), 0
		if r.DataInfo.ValidationSource == ValSplitData {
			val = ds.Val.Len()
		} else {
			train -= len(r.DataInfo.ValidationIndices)
		}
		if train != r.DataInfo.TrainSize || val+len(r.DataInfo.ValidationIndices) != r.DataInfo.ValSize || ds.Test.Len() != r.DataInfo.TestSize {
			r.dataErr = fmt.Errorf("dataset %s: split sizes differ from %s", r.Info.Data, r.Path(DataFile))
			return
		}
		r.dataset = ds
	})
	return r.dataset, r.dataErr
}

// EvalLoader returns a loader over split "train" (the training images without the
// validation ones), "val" or "test", in dataset order, with batches of batch images
// (the last one possibly smaller), no augmentation and the run's normalisation.
func (r *Run) EvalLoader(split string, batch int) (*data.Loader, error) {
	if batch < 1 {
		return nil, fmt.Errorf("batch size %d: want at least 1", batch)
	}
	ds, err := r.Dataset()
	if err != nil {
		return nil, err
	}
	s, idx, err := r.split(ds, split)
	if err != nil {
		return nil, err
	}
	return data.NewLoader(s, idx, ds.NumClasses(), data.LoaderConfig{BatchSize: batch, Stats: r.DataInfo.Stats})
}

// split returns the images and indices of the named split.
func (r *Run) split(ds *data.Dataset, split string) (*data.Split, []int, error) {
	switch split {
	case "train":
		return &ds.Train, r.DataInfo.trainIndices(ds.Train.Len()), nil
	case "val":
		if r.DataInfo.ValidationSource == ValSplitData {
			return &ds.Val, nil, nil
		}
		if len(r.DataInfo.ValidationIndices) == 0 {
			return nil, nil, fmt.Errorf("run %s has no validation split", r.Dir)
		}
		return &ds.Train, r.DataInfo.ValidationIndices, nil
	case "test":
		if ds.Test.Len() == 0 {
			return nil, nil, fmt.Errorf("dataset %s has no test split", r.Info.Data)
		}
		return &ds.Test, nil, nil
	}
	return nil, nil, fmt.Errorf("split %q: want train, val or test", split)
}

// Metrics reads metrics.jsonl: one entry per finished epoch.
func (r *Run) Metrics() ([]EpochMetrics, error) {
	return readMetrics(r.Path(MetricsFile))
}

// Test reads test.json, written when the run finished.
func (r *Run) Test() (*TestResult, error) {
	var t TestResult
	if err := jsonfile.Read(r.Path(TestFile), &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// weightsOnly returns f without the optimizer state a checkpoint adds.
func weightsOnly(f *tensorfile.File) *tensorfile.File {
	out := &tensorfile.File{Metadata: f.Metadata}
	for _, t := range f.Tensors {
		if !strings.HasPrefix(t.Name, optimPrefix) {
			out.Tensors = append(out.Tensors, t)
		}
	}
	return out
}
