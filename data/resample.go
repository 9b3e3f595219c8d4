package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultCropRatio is the fraction of the resized image that evaluation's centre crop keeps,
// as the MSDNet and RANet ImageNet scripts do: resize to 256, centre-crop 224 (224/256).
const DefaultCropRatio = 0.875

// ResizeFilter names the resampling filter msdx resizes images with.
const ResizeFilter = "antialiased bilinear, as PIL's resize and torchvision's default"

// evalResizeSize returns the size an ih×iw image is resized to before evaluation's centre
// crop to h×w: the smallest size of the image's aspect ratio that covers
// floor(h/ratio)×floor(w/ratio). For a square input this is torchvision's Resize(floor(h/ratio)):
// the shorter side becomes floor(h/ratio), the longer one is scaled and truncated as
// torchvision truncates it.
func evalResizeSize(ih, iw, h, w int, ratio float64) (rh, rw int) {
	th, tw := int(math.Floor(float64(h)/ratio)), int(math.Floor(float64(w)/ratio))
	th, tw = max(th, h), max(tw, w)
	if tw*ih >= th*iw { // the width needs the larger scale
		return max(th, int(float64(tw)*float64(ih)/float64(iw))), tw
	}
	return th, max(tw, int(float64(th)*float64(iw)/float64(ih)))
}

// centreCrop returns the top-left corner of an h×w window centred in an ih×iw image, rounded
// as torchvision's CenterCrop rounds (half to even).
func centreCrop(ih, iw, h, w int) (y0, x0 int) {
	return int(math.RoundToEven(float64(ih-h) / 2)), int(math.RoundToEven(float64(iw-w) / 2))
}

// ResizedCrop configures the random-resized crop of the ImageNet training pipelines
// (torchvision's RandomResizedCrop): a window covering a random fraction of the image's area
// in [Scale[0], Scale[1]], of a random aspect ratio (width/height) log-uniform in
// [Ratio[0], Ratio[1]], resized to the network's input.
type ResizedCrop struct {
	Scale [2]float64 `json:"scale" toml:"scale"`
	Ratio [2]float64 `json:"ratio" toml:"ratio"`
}

// Validate reports a malformed crop configuration.
func (c ResizedCrop) Validate() error {
	if !(c.Scale[0] > 0 && c.Scale[0] <= c.Scale[1] && c.Scale[1] <= 1) {
		return fmt.Errorf("data: resized-crop scale %v: want 0 < min <= max <= 1", c.Scale)
	}
	if !(c.Ratio[0] > 0 && c.Ratio[0] <= c.Ratio[1] && !math.IsInf(c.Ratio[1], 0)) {
		return fmt.Errorf("data: resized-crop ratio %v: want 0 < min <= max", c.Ratio)
	}
	return nil
}

// window draws the crop window of an ih×iw image as torchvision's
// RandomResizedCrop.get_params does: ten tries at a random area and aspect ratio, then a
// centre crop of the whole image clamped to the ratio range.
func (c ResizedCrop) window(r *rand.Rand, ih, iw int) (y0, x0, h, w int) {
	area := float64(ih * iw)
	lo, hi := math.Log(c.Ratio[0]), math.Log(c.Ratio[1])
	for range 10 {
		target := area * (c.Scale[0] + r.Float64()*(c.Scale[1]-c.Scale[0]))
		aspect := math.Exp(lo + r.Float64()*(hi-lo))
		w = int(math.RoundToEven(math.Sqrt(target * aspect)))
		h = int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= iw && 0 < h && h <= ih {
			return r.IntN(ih - h + 1), r.IntN(iw - w + 1), h, w
		}
	}
	in := float64(iw) / float64(ih)
	switch {
	case in < c.Ratio[0]:
		w, h = iw, int(math.RoundToEven(float64(iw)/c.Ratio[0]))
	case in > c.Ratio[1]:
		h, w = ih, int(math.RoundToEven(float64(ih)*c.Ratio[1]))
	default:
		h, w = ih, iw
	}
	return (ih - h) / 2, (iw - w) / 2, h, w
}

// The resampler below is PIL's (libImaging/Resample.c, which torchvision's Resize and
// RandomResizedCrop call on PIL images) for 8-bit planes with the bilinear filter: separable,
// horizontal pass first, the filter's support widened by the downscaling factor so that
// shrinking averages every source pixel (antialiasing), weights in 22-bit fixed point.
const resamplePrecision = 22

// coeffs are the fixed-point weights of one resampling direction: output pixel i reads
// n[i] source pixels from first[i] with weights k[i*ksize:].
type coeffs struct {
	first, n []int
	k        []int32
	ksize    int
}

func bilinear(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// precompute returns the weights that resample inSize pixels to outSize.
func precompute(inSize, outSize int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := filterscale // the bilinear filter's support is 1
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{first: make([]int, outSize), n: make([]int, outSize), k: make([]int32, outSize*ksize), ksize: ksize}
	w := make([]float64, ksize)
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := range xmax {
			w[x] = bilinear((float64(x+xmin) - center + 0.5) / filterscale)
			ww += w[x]
		}
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + v*(1<<resamplePrecision))
			} else {
				c.k[xx*ksize+x] = int32(0.5 + v*(1<<resamplePrecision))
			}
		}
		c.first[xx], c.n[xx] = xmin, xmax
	}
	return c
}

func clip8(v int32) uint8 {
	v >>= resamplePrecision
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resizer resamples planes; it keeps its weights and scratch between calls of the same
// geometry, so a loader worker allocates nothing in steady state.
type resizer struct {
	inW, inH, outW, outH int
	hc, vc               coeffs
	tmp                  []uint8
}

// resize resamples the window [y0, y0+h) × [x0, x0+w) of each of the c planes of src (each
// sh×sw) to oh×ow, into dst (c×oh×ow), as PIL resizes the cropped window.
func (rs *resizer) resize(dst []uint8, oh, ow int, src []uint8, c, sh, sw, y0, x0, h, w int) {
	if rs.inW != w || rs.inH != h || rs.outW != ow || rs.outH != oh || rs.hc.k == nil {
		rs.inW, rs.inH, rs.outW, rs.outH = w, h, ow, oh
		rs.hc, rs.vc = precompute(w, ow), precompute(h, oh)
	}
	needH, needV := w != ow, h != oh
	// The horizontal pass only computes the rows the vertical pass reads.
	yFirst, yLast := 0, h
	if needV {
		yFirst = rs.vc.first[0]
		yLast = rs.vc.first[oh-1] + rs.vc.n[oh-1]
	}
	rows := yLast - yFirst
	for ch := range c {
		plane := src[ch*sh*sw : (ch+1)*sh*sw]
		out := dst[ch*oh*ow : (ch+1)*oh*ow]
		if !needH && !needV {
			for y := range oh {
				copy(out[y*ow:(y+1)*ow], plane[(y0+y)*sw+x0:])
			}
			continue
		}
		// mid holds the horizontally resampled rows [yFirst, yLast) of the window, ow wide.
		var mid []uint8
		midStride := ow
		if needH {
			if cap(rs.tmp) < rows*ow {
				rs.tmp = make([]uint8, rows*ow)
			}
			mid = rs.tmp[:rows*ow]
			for y := range rows {
				row := plane[(y0+yFirst+y)*sw+x0:]
				mrow := mid[y*ow : (y+1)*ow]
				for xx := range ow {
					k := rs.hc.k[xx*rs.hc.ksize:]
					first := rs.hc.first[xx]
					ss := int32(1 << (resamplePrecision - 1))
					for x := range rs.hc.n[xx] {
						ss += int32(row[first+x]) * k[x]
					}
					mrow[xx] = clip8(ss)
				}
			}
		}
		if !needV {
			copy(out, mid)
			continue
		}
		for yy := range oh {
			k := rs.vc.k[yy*rs.vc.ksize:]
			first, n := rs.vc.first[yy]-yFirst, rs.vc.n[yy]
			orow := out[yy*ow : (yy+1)*ow]
			for xx := range ow {
				ss := int32(1 << (resamplePrecision - 1))
				if needH {
					for y := range n {
						ss += int32(mid[(first+y)*midStride+xx]) * k[y]
					}
				} else {
					for y := range n {
						ss += int32(plane[(y0+yFirst+first+y)*sw+x0+xx]) * k[y]
					}
				}
				orow[xx] = clip8(ss)
			}
		}
	}
}
