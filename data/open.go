package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FormatError reports malformed or unreadable dataset files. Path names the file (or folder) and
// Record, when not negative, the zero-based record or image number inside it.
type FormatError struct {
	Path   string
	Record int
	Msg    string
	Err    error // underlying error, if any
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("data: ")
	b.WriteString(e.Path)
	if e.Record >= 0 {
		fmt.Fprintf(&b, ": record %d", e.Record)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(path string, record int, err error, format string, args ...any) *FormatError {
	return &FormatError{Path: path, Record: record, Msg: fmt.Sprintf(format, args...), Err: err}
}

// OpenOptions configures [Open].
type OpenOptions struct {
	// CacheDir is where decoded image folders are cached. Empty means
	// os.UserCacheDir()/msdx/data; if that cannot be determined, decoding is not cached.
	CacheDir string
	// NoCache disables reading and writing the image-folder cache.
	NoCache bool
	// Workers bounds the goroutines that decode images; 0 means GOMAXPROCS.
	Workers int
	// Fit, when not nil, brings the images to a network's input: image folders are resized
	// as [Fit] says (unless every image already has the input's size), the binary formats
	// are zero-padded or centre-cropped, and grey images are expanded to RGB. Without it,
	// an image folder's images must share one size and are read as RGB.
	Fit *Fit
	// SkipBadImages skips the images of an image folder that do not decode, listing them
	// in Dataset.Preprocessing.Skipped, instead of failing.
	SkipBadImages bool
}

// Kinds lists the dataset kinds [Open] accepts.
var Kinds = []string{"cifar10", "cifar100", "imagefolder", "mnist", "fashion-mnist", "synthetic"}

// Open reads the dataset named by ref, which has the form KIND:PATH:
//
//	cifar10:DIR        CIFAR-10 as torchvision downloads it (Python pickles data_batch_1..5 and
//	                   test_batch, in DIR or DIR/cifar-10-batches-py) or in the binary version
//	                   (data_batch_1.bin..data_batch_5.bin and test_batch.bin, records of 1 label
//	                   byte and 3072 pixel bytes, in DIR or DIR/cifar-10-batches-bin)
//	cifar100:DIR       CIFAR-100 as torchvision downloads it (pickles train and test, in DIR or
//	                   DIR/cifar-100-python) or binary (train.bin and test.bin, records of a
//	                   coarse and a fine label byte and 3072 pixel bytes, in DIR or
//	                   DIR/cifar-100-binary); the 100 fine labels are used
//	imagefolder:DIR    torchvision ImageFolder: DIR/train/CLASS/*.jpg and DIR/val/CLASS/... or
//	                   DIR/test/CLASS/... (the test split), or all three (val/ is then the
//	                   validation split), or DIR/CLASS/... alone (a training set); classes sorted
//	                   by name; images of any size (see [Fit]), in the formats of [ImageExtensions]
//	imagefolder:FILE   the same layout inside a .tar.gz, .tgz or .tar archive, read as a stream
//	mnist:DIR          IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//	fashion-mnist:DIR  t10k-labels-idx1-ubyte, each optionally gzipped (.gz)
//	synthetic[:ARGS]   generated in memory, see [SyntheticConfig] for ARGS
//
// Malformed files give a *[FormatError] naming the file.
func Open(ref string, opts OpenOptions) (*Dataset, error) {
	kind, path, _ := strings.Cut(ref, ":")
	var (
		d   *Dataset
		err error
	)
	switch kind {
	case "synthetic":
		var cfg SyntheticConfig
		if cfg, err = ParseSyntheticConfig(path); err != nil {
			return nil, err
		}
		d = Synthetic(cfg)
		d.Ref = ref
		if opts.Fit != nil {
			return d.adapt(opts.Fit.C, opts.Fit.H, opts.Fit.W)
		}
		return d, nil
	case "cifar10", "cifar100", "imagefolder", "mnist", "fashion-mnist":
		if path == "" {
			return nil, fmt.Errorf("data: %q: missing path after %s:", ref, kind)
		}
	default:
		return nil, fmt.Errorf("data: %q: unknown dataset kind %q (want one of %s)", ref, kind, strings.Join(Kinds, ", "))
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &FormatError{Path: path, Record: -1, Msg: "cannot open dataset", Err: errors.Unwrap(err)}
	}
	switch kind {
	case "cifar10":
		d, err = openCIFAR10(path)
	case "cifar100":
		d, err = openCIFAR100(path)
	case "imagefolder":
		if opts.Fit != nil && opts.Fit.PadOrCrop {
			plain := opts
			plain.Fit = nil
			d, err = openImageFolder(path, plain)
			break
		}
		d, err = openImageFolder(path, opts)
	case "mnist":
		d, err = openIDX(path, MNISTClasses)
	case "fashion-mnist":
		d, err = openIDX(path, FashionMNISTClasses)
	}
	if err != nil {
		return nil, err
	}
	d.Ref = ref
	if d.Fingerprint == "" {
		d.Fingerprint = Fingerprint(d.Classes, &d.Train, &d.Test)
	}
	if opts.Fit != nil && (kind != "imagefolder" || opts.Fit.PadOrCrop) {
		pre := d.Preprocessing
		if d, err = d.adapt(opts.Fit.C, opts.Fit.H, opts.Fit.W); err != nil {
			return nil, err
		}
		if pre != nil { // an image folder's colour models, skipped and ignored files
			d.Preprocessing.Colour, d.Preprocessing.Skipped, d.Preprocessing.Ignored = pre.Colour, pre.Skipped, pre.Ignored
			d.Preprocessing.SourceChannels = 0
		}
	}
	return d, nil
}

// findFile returns the first of the names that exists in dir (or "" and an error naming the
// first).
func findFile(dir string, names ...string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", &FormatError{Path: filepath.Join(dir, names[0]), Record: -1, Msg: "missing file"}
}

// DefaultValidationSize returns the number of training images held out for validation when a run
// does not say: 5,000 as MSDNet's --use-valid, but at most a tenth of the training set so that small
// datasets keep most images for training.
func DefaultValidationSize(trainLen int) int {
	return min(5000, trainLen/10)
}

// SplitValidation draws size of the n training images for validation, uniformly at random from a
// stream seeded by seed. It returns the remaining training indices and the validation indices,
// each in increasing order; a run saves both. Validation images are evaluated as they are, never
// with the training augmentation.
func SplitValidation(n, size int, seed uint64) (train, valid []int) {
	if size < 0 || size > n {
		panic(fmt.Sprintf("data: validation size %d out of range [0, %d]", size, n))
	}
	perm := newRand(seed, tagValidation).Perm(n)
	valid = perm[:size:size]
	train = perm[size:]
	slices.Sort(valid)
	slices.Sort(train)
	return train, valid
}
