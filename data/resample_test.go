package data

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestResizeMatchesPIL compares the resampler with PIL's Image.resize(BILINEAR) after a crop,
// on the cases scripts/golden/resize_pil.py wrote: they must agree exactly.
func TestResizeMatchesPIL(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "resize_pil.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name         string
		W, H, OW, OH int
		Crop         [4]int
		Src, Want    string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			src, _ := hex.DecodeString(tc.Src)
			want, _ := hex.DecodeString(tc.Want)
			got := make([]uint8, tc.OW*tc.OH)
			var rs resizer
			rs.resize(got, tc.OH, tc.OW, src, 1, tc.H, tc.W, tc.Crop[1], tc.Crop[0], tc.Crop[3], tc.Crop[2])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-PIL +msdx):\n%s", diff)
			}
		})
	}
}

func TestEvalResizeSize(t *testing.T) {
	for _, tc := range []struct {
		ih, iw, h, w int
		ratio        float64
		rh, rw       int
	}{
		{375, 500, 224, 224, 0.875, 256, 341}, // torchvision Resize(256): int(256*500/375)
		{500, 375, 224, 224, 0.875, 341, 256},
		{32, 32, 32, 32, 1, 32, 32},
		{3024, 4032, 64, 64, 0.875, 73, 97},
		{100, 100, 64, 128, 0.875, 146, 146}, // covers both 73 and 146
		{10, 1000, 64, 64, 0.875, 73, 7300},
	} {
		rh, rw := evalResizeSize(tc.ih, tc.iw, tc.h, tc.w, tc.ratio)
		if rh != tc.rh || rw != tc.rw {
			t.Errorf("evalResizeSize(%d, %d, %d, %d, %v) = %d, %d; want %d, %d", tc.ih, tc.iw, tc.h, tc.w, tc.ratio, rh, rw, tc.rh, tc.rw)
		}
	}
	// torchvision's CenterCrop rounds half to even: (341-224)/2 = 58.5 → 58.
	if y0, x0 := centreCrop(256, 341, 224, 224); y0 != 16 || x0 != 58 {
		t.Errorf("centreCrop = %d, %d; want 16, 58", y0, x0)
	}
}

// TestResizedCropWindow checks the windows RandomResizedCrop's rule draws: inside the image,
// of an area and aspect ratio in range (up to rounding) or the fallback centre crop.
func TestResizedCropWindow(t *testing.T) {
	c := ResizedCrop{Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{256, 341}, {73, 97}, {32, 32}, {10, 1000}} {
		for range 500 {
			y0, x0, h, w := c.window(r, sz[0], sz[1])
			if y0 < 0 || x0 < 0 || h <= 0 || w <= 0 || y0+h > sz[0] || x0+w > sz[1] {
				t.Fatalf("window %d,%d %dx%d outside a %dx%d image", y0, x0, h, w, sz[0], sz[1])
			}
		}
	}
	// A very wide image falls back to a centre crop of ratio 4/3.
	c = ResizedCrop{Scale: [2]float64{0.9, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
	if y0, x0, h, w := c.window(r, 10, 1000); h != 10 || w != 13 || y0 != 0 || x0 != 493 {
		t.Errorf("fallback window %d,%d %dx%d; want 0,493 10x13", y0, x0, h, w)
	}
}

// TestImageSize checks the header reader against image.DecodeConfig on every test image.
func TestImageSize(t *testing.T) {
	files := map[string][]byte{"png": encodePNG(t, testImage(1, 37, 21)), "jpeg": encodeJPEG(t, testImage(2, 19, 45))}
	for _, name := range []string{"cmyk.jpg", "progressive.jpg", "grey16.png", "palette.png"} {
		b, err := os.ReadFile(filepath.Join("testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if w, h, err := imageSize(b); err != nil || w != cfg.Width || h != cfg.Height {
			t.Errorf("%s: imageSize = %d, %d, %v; want %d, %d", name, w, h, err, cfg.Width, cfg.Height)
		}
		if _, _, ok := jpegSize(b); strings.HasSuffix(name, "jpg") && !ok {
			t.Errorf("%s: the JPEG header was not read", name)
		}
	}
	if _, _, err := imageSize([]byte("\xff\xd8\xff\xd9")); err == nil {
		t.Errorf("a JPEG without a frame has a size")
	}
}
