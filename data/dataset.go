// Package data loads image-classification datasets for msdx and turns them into training and
// evaluation batches.
//
// A [Dataset] holds its images as uint8 pixels in N×C×H×W order with int32 labels, the class
// names, and a content [Dataset.Fingerprint] that a run records to say which data it used. [Open]
// reads a dataset named as KIND:PATH (cifar10, cifar100, imagefolder, mnist, fashion-mnist,
// synthetic): CIFAR in torchvision's pickle folders or the binary version, image folders in
// torchvision's ImageFolder layouts with images of any size and format. Given the network's
// input ([OpenOptions].Fit), Open brings the images to it as the MSDNet and RANet ImageNet
// pipelines do (see [Fit]) and records what it changed in [Dataset.Preprocessing]; [ReadImage]
// prepares one image file the same way for prediction. Datasets are only ever read: nothing is
// written inside a dataset's directory; decoded image folders are cached under a separate
// cache directory and memory-mapped, so that a folder larger than memory costs its working set.
//
// [SplitValidation] holds a seeded validation set out of the training split, [ComputeStats] gives
// the per-channel normalisation statistics of the training images, and a [Loader] produces float32
// batches in the CNHW layout of msdx's kernels, with optional random-resized crop, random crop,
// horizontal flip, mixup and cutmix ([Augment]). Every random choice of batch b of epoch e is a
// pure function of (seed, e, b), so a run resumed at any batch reproduces the interrupted one bit
// for bit; a [Stream] prepares the next batches in background goroutines while the caller
// computes.
package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Split is one set of images (for example a dataset's training or test images) held as uint8
// pixels. Image i occupies Pixels[i*C*H*W : (i+1)*C*H*W] in channel, row, column order.
type Split struct {
	C, H, W int
	Pixels  []uint8
	Labels  []int32
	// Full, when not nil, holds the images before evaluation's centre crop, resized but not
	// cropped, for random-resized crops (an image folder resized to a network's input, see
	// [Fit]); Pixels are then their centre crops. Both may be memory-mapped: never write to
	// them.
	Full *Ragged
}

// Len returns the number of images in s.
func (s *Split) Len() int { return len(s.Labels) }

// ImageSize returns the number of bytes of one image, C*H*W.
func (s *Split) ImageSize() int { return s.C * s.H * s.W }

// Image returns the pixels of image i, aliasing s.Pixels.
func (s *Split) Image(i int) []uint8 {
	sz := s.ImageSize()
	return s.Pixels[i*sz : (i+1)*sz : (i+1)*sz]
}

// Subset returns a new split holding copies of the images at the given indices, in that order
// (without Full).
func (s *Split) Subset(indices []int) Split {
	sz := s.ImageSize()
	out := Split{C: s.C, H: s.H, W: s.W, Pixels: make([]uint8, len(indices)*sz), Labels: make([]int32, len(indices))}
	for j, i := range indices {
		copy(out.Pixels[j*sz:], s.Image(i))
		out.Labels[j] = s.Labels[i]
	}
	return out
}

// Dataset is a labelled image dataset with a training and a test split, and sometimes a
// validation split. The splits have the same image shape; the test split may be empty (an image
// folder without a test folder), and the validation split is empty unless the data has one (an
// image folder with val/ beside test/).
type Dataset struct {
	// Ref is the KIND:PATH reference the dataset was opened from.
	Ref string
	// Classes names the classes; label k is Classes[k].
	Classes []string
	Train   Split
	Test    Split
	Val     Split
	// Fingerprint identifies the content, see [Fingerprint].
	Fingerprint string
	// Preprocessing says how the images were changed to fit a network's input
	// (OpenOptions.Fit), which images were skipped and which files ignored; nil for a
	// dataset opened without a Fit that is not an image folder.
	Preprocessing *Preprocessing
}

// NumClasses returns len(d.Classes).
func (d *Dataset) NumClasses() int { return len(d.Classes) }

// Fingerprint returns "sha256:" followed by the hex SHA-256 of the decoded content of a dataset
// whose images share one size: a version line, the class names as a JSON array, then for the
// training, the test and (when the data has one) the validation split a line "split C H W N",
// the pixels, and the labels as little-endian int32. It depends only on the decoded images,
// labels and class names, not on the file format they were read from, so a CIFAR-10 binary
// batch and an identical PNG folder have the same fingerprint. An image folder is fingerprinted
// so at full resolution as RGB, whatever the network's input: fitting the images to it
// ([Fit]) is not part of the fingerprint, a run records it separately. An image folder whose
// images differ in size, or from which images were skipped, has a "v2" fingerprint that
// hashes each image's pixels separately (see the package's build.go).
func Fingerprint(classes []string, splits ...*Split) string {
	h := sha256.New()
	io.WriteString(h, fingerprintV1Head(classes))
	var buf [4096]byte
	for _, s := range splits {
		fmt.Fprintf(h, "split %d %d %d %d\n", s.C, s.H, s.W, s.Len())
		h.Write(s.Pixels)
		for i := 0; i < len(s.Labels); {
			n := 0
			for ; i < len(s.Labels) && n+4 <= len(buf); i++ {
				binary.LittleEndian.PutUint32(buf[n:], uint32(s.Labels[i]))
				n += 4
			}
			h.Write(buf[:n])
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func fingerprintV1Head(classes []string) string {
	names, err := json.Marshal(classes)
	if err != nil {
		panic(err) // unreachable: []string always marshals
	}
	return "msdx-data-fingerprint-v1\n" + string(names) + "\n"
}

// check panics if the split's slices disagree with its shape; datasets are built by this package
// so a mismatch is a bug.
func (s *Split) check() {
	if len(s.Pixels) != s.Len()*s.ImageSize() {
		panic(fmt.Sprintf("data: split has %d pixels for %d images of %dx%dx%d", len(s.Pixels), s.Len(), s.C, s.H, s.W))
	}
}

// adapt returns a copy of d whose images have c channels and size h×w, as a network's input
// asks, without resampling: this is how the binary datasets (CIFAR, MNIST), whose images share
// one size, are fitted. A one-channel (grey) image is expanded to c channels by replicating
// it; other channel changes are an error. Each spatial dimension that is smaller than asked is
// zero-padded equally on both sides (the extra pixel, if the difference is odd, goes after), and
// each that is larger is centre-cropped the same way: 28×28 MNIST becomes 32×32 with 2 zero
// pixels on every side. The fingerprint is kept: it names the source data. Splits that need no
// change share their pixels with d.
func (d *Dataset) adapt(c, h, w int) (*Dataset, error) {
	if c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("data: adapt %s to %dx%dx%d: non-positive size", d.Ref, c, h, w)
	}
	if d.Train.C != c && d.Train.C != 1 {
		return nil, fmt.Errorf("data: %s has %d-channel images; the network asks for %d channels", d.Ref, d.Train.C, c)
	}
	out := *d
	out.Train = adaptSplit(&d.Train, c, h, w)
	out.Test = adaptSplit(&d.Test, c, h, w)
	out.Val = adaptSplit(&d.Val, c, h, w)
	sh, sw := d.Train.H, d.Train.W
	method := "none"
	switch {
	case sh == h && sw == w:
	case sh <= h && sw <= w:
		method = "pad"
	case sh >= h && sw >= w:
		method = "crop"
	default:
		method = "pad and crop"
	}
	out.Preprocessing = &Preprocessing{Source: [3]int{d.Train.C, sh, sw}, SourceSizes: fmt.Sprintf("%dx%d", sw, sh), SourceChannels: d.Train.C, Input: [3]int{c, h, w}, Method: method}
	return &out, nil
}

func adaptSplit(s *Split, c, h, w int) Split {
	if s.C == c && s.H == h && s.W == w {
		return *s
	}
	out := Split{C: c, H: h, W: w, Pixels: make([]uint8, s.Len()*c*h*w), Labels: append([]int32(nil), s.Labels...)}
	// Offsets of the source inside the destination; negative means the source is cropped.
	offY, offX := (h-s.H)/2, (w-s.W)/2
	if h < s.H {
		offY = -((s.H - h) / 2)
	}
	if w < s.W {
		offX = -((s.W - w) / 2)
	}
	y0, y1 := max(0, offY), min(h, offY+s.H)
	x0, x1 := max(0, offX), min(w, offX+s.W)
	for i := range s.Len() {
		src := s.Image(i)
		dst := out.Pixels[i*c*h*w : (i+1)*c*h*w]
		for ch := range c {
			sc := ch
			if s.C == 1 {
				sc = 0
			}
			for y := y0; y < y1; y++ {
				srow := src[(sc*s.H+y-offY)*s.W:]
				copy(dst[(ch*h+y)*w+x0:(ch*h+y)*w+x1], srow[x0-offX:x1-offX])
			}
		}
	}
	return out
}

// Stats holds per-channel normalisation statistics in units of pixel/255, so that a pixel value
// v of channel c is normalised to (v/255 - Mean[c]) / Std[c].
type Stats struct {
	Mean []float64 `json:"mean" toml:"mean"`
	Std  []float64 `json:"std" toml:"std"`
}

// ComputeStats returns the per-channel mean and (population) standard deviation of the images of
// s at the given indices, or of all of s when indices is nil. A run computes them on the images it
// trains on (the training split less the validation images) and records them.
func ComputeStats(s *Split, indices []int) Stats {
	n := s.Len()
	if indices != nil {
		n = len(indices)
	}
	if n == 0 {
		panic("data: ComputeStats of no images")
	}
	hw := s.H * s.W
	// Integer sums are exact, so the result does not depend on summation order.
	sum := make([]uint64, s.C)
	sumSq := make([]uint64, s.C)
	for j := range n {
		i := j
		if indices != nil {
			i = indices[j]
		}
		img := s.Image(i)
		for c := range s.C {
			var a, b uint64
			for _, v := range img[c*hw : (c+1)*hw] {
				a += uint64(v)
				b += uint64(v) * uint64(v)
			}
			sum[c] += a
			sumSq[c] += b
		}
	}
	st := Stats{Mean: make([]float64, s.C), Std: make([]float64, s.C)}
	count := float64(n) * float64(hw)
	for c := range s.C {
		mean := float64(sum[c]) / count
		variance := float64(sumSq[c])/count - mean*mean
		st.Mean[c] = mean / 255
		st.Std[c] = math.Sqrt(max(variance, 0)) / 255
		if st.Std[c] == 0 {
			st.Std[c] = 1 // a constant channel: avoid dividing by zero
		}
	}
	return st
}
