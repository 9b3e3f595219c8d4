package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Augment selects the training augmentations. The zero value does none; evaluation batches use the
// zero value. It serialises to JSON and TOML so that a run records it.
type Augment struct {
	// ResizedCrop, when not nil, replaces each image by a random-resized crop of it (the
	// ImageNet training crop), taken from the split's stored resized images (Split.Full) when
	// it has them, else from its images, and resized to the split's image size. Padding and
	// flipping apply after it.
	ResizedCrop *ResizedCrop `json:"resized_crop,omitempty" toml:"resized_crop,omitempty"`
	// CropPadding, when positive, pads each image with that many zero pixels on every side
	// (zero before normalisation, as torchvision's RandomCrop with fill 0) and crops a random
	// window of the original size: MSDNet's "random crop 32, padding 4" is 4.
	CropPadding int `json:"crop_padding" toml:"crop_padding"`
	// Flip mirrors each image horizontally with probability 1/2.
	Flip bool `json:"flip" toml:"flip"`
	// MixupAlpha, when positive, mixes each batch with a permutation of itself with a weight
	// λ ~ Beta(α, α) (Zhang et al. 2018).
	MixupAlpha float64 `json:"mixup_alpha" toml:"mixup_alpha"`
	// CutmixAlpha, when positive, pastes into each image a box of its partner covering a
	// fraction 1-λ, λ ~ Beta(α, α), of the image; λ is then corrected to the clipped box
	// (Yun et al. 2019).
	CutmixAlpha float64 `json:"cutmix_alpha" toml:"cutmix_alpha"`
	// CutmixProb is the probability that a batch is cut-mixed. When mixup is also on, a batch is
	// cut-mixed with this probability and mixed up otherwise (timm's switch_prob); when only cutmix
	// is on, the other batches are left unmixed. It is read only when CutmixAlpha > 0, and 0
	// there means 1.
	CutmixProb float64 `json:"cutmix_prob" toml:"cutmix_prob"`
}

// Validate reports a malformed augmentation.
func (a Augment) Validate() error {
	if a.ResizedCrop != nil {
		if err := a.ResizedCrop.Validate(); err != nil {
			return err
		}
	}
	switch {
	case a.CropPadding < 0:
		return fmt.Errorf("data: crop padding %d is negative", a.CropPadding)
	case a.MixupAlpha < 0 || math.IsNaN(a.MixupAlpha) || math.IsInf(a.MixupAlpha, 0):
		return fmt.Errorf("data: mixup alpha %v must be a finite non-negative number", a.MixupAlpha)
	case a.CutmixAlpha < 0 || math.IsNaN(a.CutmixAlpha) || math.IsInf(a.CutmixAlpha, 0):
		return fmt.Errorf("data: cutmix alpha %v must be a finite non-negative number", a.CutmixAlpha)
	case !(a.CutmixProb >= 0 && a.CutmixProb <= 1):
		return fmt.Errorf("data: cutmix probability %v out of range [0, 1]", a.CutmixProb)
	}
	return nil
}

// mixes reports whether a batch may mix images, so its soft targets are not one-hot.
func (a Augment) mixes() bool { return a.MixupAlpha > 0 || a.CutmixAlpha > 0 }

// mixPlan is the mixing decision of one batch.
type mixPlan struct {
	kind    int // mixNone, mixMixup or mixCutmix
	lambda  float64
	partner []int
	// Cutmix box [y0, y1) × [x0, x1).
	y0, y1, x0, x1 int
}

const (
	mixNone = iota
	mixMixup
	mixCutmix
)

// planMix draws the batch's mixing decision. It is drawn after the per-image choices, from the
// same per-batch stream.
func (a Augment) planMix(r *rand.Rand, n, h, w int) mixPlan {
	var p mixPlan
	switch {
	case a.CutmixAlpha > 0 && a.MixupAlpha > 0:
		if r.Float64() < a.cutmixProb() {
			p.kind = mixCutmix
		} else {
			p.kind = mixMixup
		}
	case a.CutmixAlpha > 0:
		if r.Float64() < a.cutmixProb() {
			p.kind = mixCutmix
		}
	case a.MixupAlpha > 0:
		p.kind = mixMixup
	}
	if p.kind == mixNone {
		return p
	}
	p.partner = r.Perm(n)
	switch p.kind {
	case mixMixup:
		p.lambda = sampleBeta(r, a.MixupAlpha)
	case mixCutmix:
		lam := sampleBeta(r, a.CutmixAlpha)
		ratio := math.Sqrt(1 - lam)
		ch, cw := int(float64(h)*ratio), int(float64(w)*ratio)
		cy, cx := r.IntN(h), r.IntN(w)
		p.y0, p.y1 = max(0, cy-ch/2), min(h, cy+ch/2)
		p.x0, p.x1 = max(0, cx-cw/2), min(w, cx+cw/2)
		p.lambda = 1 - float64((p.y1-p.y0)*(p.x1-p.x0))/float64(h*w)
	}
	return p
}

func (a Augment) cutmixProb() float64 {
	if a.CutmixProb == 0 {
		return 1
	}
	return a.CutmixProb
}

// sampleBeta draws from Beta(alpha, alpha) as X/(X+Y) with X, Y ~ Gamma(alpha).
func sampleBeta(r *rand.Rand, alpha float64) float64 {
	x, y := sampleGamma(r, alpha), sampleGamma(r, alpha)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

// sampleGamma draws from Gamma(alpha, 1) by Marsaglia and Tsang (2000), boosting alpha < 1.
func sampleGamma(r *rand.Rand, alpha float64) float64 {
	if alpha < 1 {
		u := r.Float64()
		return sampleGamma(r, alpha+1) * math.Pow(u, 1/alpha)
	}
	d := alpha - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// SmoothTargets applies label smoothing eps to soft targets in place: each row t of length
// classes becomes (1-eps)·t + eps/classes. Applied to mixed one-hot targets it equals mixing the
// smoothed one-hot targets, as timm does.
func SmoothTargets(soft []float32, classes int, eps float64) {
	if classes <= 0 || len(soft)%classes != 0 {
		panic(fmt.Sprintf("data: %d soft targets for %d classes", len(soft), classes))
	}
	keep, add := float32(1-eps), float32(eps/float64(classes))
	for i, t := range soft {
		soft[i] = keep*t + add
	}
}
