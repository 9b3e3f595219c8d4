package data

import (
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
)

// Fit says what input a network takes, so that [Open] brings the images to it.
type Fit struct {
	// C, H and W are the network's input channels, height and width.
	C, H, W int
	// CropRatio is the fraction of the resized image that evaluation keeps when images must
	// be resized: each is resized (keeping its aspect ratio) to cover
	// floor(H/CropRatio)×floor(W/CropRatio), then centre-cropped to H×W, as the MSDNet and RANet
	// ImageNet scripts resize to 256 and crop 224. 0 means [DefaultCropRatio].
	CropRatio float64
	// PadOrCrop fits images that share one size by zero padding or centre cropping, without
	// resampling, as the binary datasets are fitted: how msdx fitted image folders before it
	// resized them, which runs recorded then still need.
	PadOrCrop bool
}

func (f *Fit) ratio() float64 {
	if f.CropRatio == 0 {
		return DefaultCropRatio
	}
	return f.CropRatio
}

func (f *Fit) check() error {
	if f.C <= 0 || f.H <= 0 || f.W <= 0 {
		return fmt.Errorf("data: fit to %dx%dx%d: non-positive size", f.C, f.H, f.W)
	}
	if r := f.ratio(); !(r > 0 && r <= 1) {
		return fmt.Errorf("data: crop ratio %v: want a number in (0, 1]", f.CropRatio)
	}
	return nil
}

// Ragged holds images of different sizes: image i is C planes of Heights[i]×Widths[i] pixels
// at Pixels[Offsets[i]:].
type Ragged struct {
	C               int
	Pixels          []uint8
	Offsets         []int64
	Heights, Widths []int32
}

// Image returns the pixels and size of image i, aliasing r.Pixels.
func (r *Ragged) Image(i int) (pix []uint8, h, w int) {
	h, w = int(r.Heights[i]), int(r.Widths[i])
	off := r.Offsets[i]
	n := int64(r.C * h * w)
	return r.Pixels[off : off+n : off+n], h, w
}

// BadImage is an image that could not be used and was skipped.
type BadImage struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Preprocessing records how [Open] changed a dataset's images to fit a network's input (see
// [Fit]), for a run to say once and record.
type Preprocessing struct {
	// SourceSizes describes the image sizes as read: "32x32" when they share one, else
	// their range ("412 sizes, from 120x80 to 4032x3024").
	SourceSizes string `json:"source_sizes"`
	// Source is the images' shape (C, H, W) as read, H and W 0 when they differ in size; an
	// image folder's images are read as RGB.
	Source [3]int `json:"source"`
	// SourceChannels is the channel count of a binary dataset's images (0 for image folders,
	// whose images Colour counts by colour model as decoded: "RGB", "grey", "CMYK", "RGBA",
	// "palette", "grey 16-bit"...).
	SourceChannels int            `json:"source_channels,omitempty"`
	Colour         map[string]int `json:"colour,omitempty"`
	// Input is the network input (C, H, W) the images were brought to.
	Input [3]int `json:"input"`
	// Method is how: "none" (the images already have that size), "pad", "crop" or
	// "pad and crop" (binary datasets: zero padding or centre crop, no resampling), or
	// "resize" (image folders: see Fit; evaluation images are the centre crops, training
	// may take random-resized crops of the stored resized images).
	Method string `json:"method"`
	// CropRatio and Filter describe "resize".
	CropRatio float64 `json:"crop_ratio,omitempty"`
	Filter    string  `json:"filter,omitempty"`
	// Skipped lists the images skipped as unreadable (OpenOptions.SkipBadImages).
	Skipped []BadImage `json:"skipped,omitempty"`
	// Ignored lists the files found outside class folders, which are not part of the data.
	Ignored []string `json:"ignored,omitempty"`
}

// Channels says how the images' channels were converted, or "" when they were not.
func (p *Preprocessing) Channels() string {
	c := p.Input[0]
	if p.SourceChannels != 0 {
		switch {
		case p.SourceChannels == c:
			return ""
		case p.SourceChannels == 1:
			return fmt.Sprintf("grey images replicated to %d channels", c)
		}
		return fmt.Sprintf("%d-channel images converted to %d", p.SourceChannels, c)
	}
	var conv []string
	for _, m := range slices.Sorted(maps.Keys(p.Colour)) {
		n := p.Colour[m]
		bits := ""
		if strings.Contains(m, "16-bit") {
			bits = ", 8 bits kept"
		}
		switch {
		case c == 3 && m == "RGB", c == 1 && m == "grey":
			continue
		case c == 3 && strings.HasPrefix(m, "grey"):
			conv = append(conv, fmt.Sprintf("%d %s replicated to RGB%s", n, m, bits))
		case c == 3 && strings.Contains(m, "RGBA"):
			conv = append(conv, fmt.Sprintf("%d %s converted to RGB (alpha dropped, not composited%s)", n, m, bits))
		case c == 3:
			conv = append(conv, fmt.Sprintf("%d %s converted to RGB%s", n, m, strings.Replace(bits, ", ", " (", 1)+map[bool]string{true: ")"}[bits != ""]))
		default:
			conv = append(conv, fmt.Sprintf("%d %s converted to grey (ITU-R 601 luma)", n, m))
		}
	}
	return strings.Join(conv, ", ")
}

// Summary says in one line what was changed: the sizes and the method, then the channel
// conversions, skipped images and ignored files. It is "" when nothing was.
func (p *Preprocessing) Summary() string {
	var parts []string
	in := fmt.Sprintf("%dx%d", p.Input[1], p.Input[2])
	switch p.Method {
	case "none":
	case "resize":
		th, tw := int(math.Floor(float64(p.Input[1])/p.CropRatio)), int(math.Floor(float64(p.Input[2])/p.CropRatio))
		parts = append(parts, fmt.Sprintf("images (%s) resized to cover %dx%d keeping their aspect ratio (%s), then centre-cropped to %s for evaluation (crop ratio %g)",
			p.SourceSizes, th, tw, p.Filter, in, p.CropRatio))
	default:
		parts = append(parts, fmt.Sprintf("images (%s) %s to %s, without resampling", p.SourceSizes, map[string]string{
			"pad": "zero-padded", "crop": "centre-cropped", "pad and crop": "zero-padded and centre-cropped"}[p.Method], in))
	}
	if c := p.Channels(); c != "" {
		parts = append(parts, c)
	}
	if n := len(p.Skipped); n > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable images skipped (first: %s: %s)", n, p.Skipped[0].Path, p.Skipped[0].Reason))
	}
	if n := len(p.Ignored); n > 0 {
		parts = append(parts, fmt.Sprintf("%d files outside class folders ignored (first: %s)", n, p.Ignored[0]))
	}
	return strings.Join(parts, "; ")
}

// sizeRange describes the sizes of images.
func sizeRange(sizes map[[2]int]int) string {
	if len(sizes) == 1 {
		for s := range sizes {
			return fmt.Sprintf("%dx%d", s[1], s[0])
		}
	}
	keys := slices.SortedFunc(maps.Keys(sizes), func(a, b [2]int) int { return a[0]*a[1] - b[0]*b[1] })
	lo, hi := keys[0], keys[len(keys)-1]
	return fmt.Sprintf("%d sizes, from %dx%d to %dx%d", len(sizes), lo[1], lo[0], hi[1], hi[0])
}

// ReadImage reads one image file (any format of [ImageExtensions]) and prepares it as the
// evaluation images of a dataset fitted with fit were prepared, p recording how (nil: as an
// image folder): an image of the network's input size is kept as it is; one of the size of a
// binary dataset's images is padded or cropped as they were; any other is resized and
// centre-cropped with the crop ratio of p (or fit's), by the code that fits image folders.
// Colour is converted to grey for a one-channel input, or when the data were grey
// (p.Source[0] == 1), then replicated to fit.C channels. It returns a split of one image with
// label 0.
func ReadImage(name string, fit Fit, p *Preprocessing) (*Split, error) {
	if err := fit.check(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	img, err := decodeBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (want an image: %s)", name, err, strings.Join(ImageExtensions, ", "))
	}
	c := fit.C
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("%s: images are read as RGB or grey, not as %d channels", name, c)
	}
	if p != nil && p.Source[0] == 1 {
		c = 1
	}
	ratio := fit.ratio()
	if p != nil && p.CropRatio != 0 {
		ratio = p.CropRatio
	}
	bounds := img.Bounds()
	ih, iw := bounds.Dy(), bounds.Dx()
	binary := p != nil && (p.Method == "pad" || p.Method == "crop" || p.Method == "pad and crop") && ih == p.Source[1] && iw == p.Source[2]
	resize := !binary && (ih != fit.H || iw != fit.W)
	var rs resizer
	_, pix, _, _, _ := prepare(img, c, fit.H, fit.W, resize, ratio, &rs)
	s := &Split{C: c, H: fit.H, W: fit.W, Pixels: pix, Labels: []int32{0}}
	if !resize {
		s.H, s.W = ih, iw
	}
	out := adaptSplit(s, fit.C, fit.H, fit.W)
	return &out, nil
}
