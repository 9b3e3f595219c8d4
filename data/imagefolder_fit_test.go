package data

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mixedFiles is an image folder in the ImageNet layout with train/, val/ and test/, images of
// several sizes and colour models.
func mixedFiles(t *testing.T) map[string][]byte {
	grey := image.NewGray(image.Rect(0, 0, 30, 50))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(7 * i)
	}
	// Go encodes no CMYK JPEG: this one is PIL's (scripts/golden/odd_images.py).
	odd := map[string][]byte{}
	for _, name := range []string{"cmyk.jpg", "progressive.jpg", "grey16.png", "palette.png"} {
		b, err := os.ReadFile(filepath.Join("testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		odd[name] = b
	}
	alpha := testImage(5, 33, 21)
	alpha.Pix[3] = 10
	return map[string][]byte{
		"train/cat/a.jpg":     encodeJPEG(t, testImage(1, 64, 48)),
		"train/cat/b.png":     encodePNG(t, alpha),
		"train/ant/c.png":     encodePNG(t, grey),
		"train/ant/sub/d.jpg": odd["cmyk.jpg"],
		"train/ant/g16.png":   odd["grey16.png"],
		"train/cat/p.jpg":     odd["progressive.jpg"],
		"train/cat/pal.png":   odd["palette.png"],
		"val/cat/e.png":       encodePNG(t, testImage(2, 20, 20)),
		"val/ant/f.png":       encodePNG(t, testImage(3, 16, 16)),
		"test/cat/g.png":      encodePNG(t, testImage(4, 100, 30)),
		"test/ant/h.png":      encodePNG(t, testImage(6, 16, 16)),
		"LICENSE":             []byte("not part of the data"),
	}
}

// TestOpenImageFolderFit opens a folder of mixed sizes fitted to a 16×16 network input: every
// image is resized and centre-cropped as ReadImage does it for one file, the resized images
// are kept for random-resized crops, val/ is the validation split, and the fingerprint does
// not depend on the input.
func TestOpenImageFolderFit(t *testing.T) {
	files := mixedFiles(t)
	dir := t.TempDir()
	writeTree(t, dir, files)
	before := listTree(t, dir)
	cache := t.TempDir()
	fit := &Fit{C: 3, H: 16, W: 16}
	d, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache, Fit: fit})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 7 || d.Val.Len() != 2 || d.Test.Len() != 2 || d.Train.H != 16 || d.Train.W != 16 {
		t.Fatalf("%d/%d/%d images of %dx%d", d.Train.Len(), d.Val.Len(), d.Test.Len(), d.Train.H, d.Train.W)
	}
	order := []string{"train/ant/c.png", "train/ant/g16.png", "train/ant/sub/d.jpg", "train/cat/a.jpg", "train/cat/b.png", "train/cat/p.jpg", "train/cat/pal.png"}
	for i, name := range order {
		one, err := ReadImage(filepath.Join(dir, name), *fit, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one.Pixels, d.Train.Image(i)); diff != "" {
			t.Errorf("%s differs from ReadImage's (-ReadImage +Open):\n%s", name, diff)
		}
		_, h, w := d.Train.Full.Image(i)
		if min(h, w) != 18 { // floor(16/0.875)
			t.Errorf("%s stored at %dx%d, want a shorter side of 18", name, w, h)
		}
	}
	if diff := cmp.Diff([]int32{0, 0, 0, 1, 1, 1, 1}, d.Train.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	p := d.Preprocessing
	if p.Method != "resize" || p.CropRatio != DefaultCropRatio || p.SourceSizes != "10 sizes, from 16x16 to 64x48" {
		t.Errorf("preprocessing %+v", p)
	}
	if diff := cmp.Diff(map[string]int{"CMYK": 1, "RGB": 6, "RGBA": 1, "grey": 1, "grey 16-bit": 1, "palette": 1}, p.Colour); diff != "" {
		t.Errorf("colour models (-want +got):\n%s", diff)
	}
	for _, want := range []string{"resized to cover 18x18", "1 grey replicated to RGB", "1 CMYK converted to RGB", "1 grey 16-bit replicated to RGB", "1 palette converted to RGB", "1 RGBA converted to RGB (alpha dropped",
		"1 files outside class folders ignored (first: LICENSE)"} {
		if !strings.Contains(p.Summary(), want) {
			t.Errorf("summary %q does not say %q", p.Summary(), want)
		}
	}
	if diff := cmp.Diff(before, listTree(t, dir)); diff != "" {
		t.Errorf("dataset folder changed (-before +after):\n%s", diff)
	}

	t.Run("cache", func(t *testing.T) {
		again, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache, Fit: fit})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(d, again); diff != "" {
			t.Errorf("reopened from the cache (-first +again):\n%s", diff)
		}
		other, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache, Fit: &Fit{C: 1, H: 8, W: 8, CropRatio: 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		if other.Fingerprint != d.Fingerprint {
			t.Errorf("the fingerprint depends on the fit")
		}
		if other.Train.C != 1 || other.Train.H != 8 {
			t.Errorf("grey 8x8 fit gave %dx%dx%d", other.Train.C, other.Train.H, other.Train.W)
		}
		if entries, _ := filepath.Glob(filepath.Join(cache, "imagefolder-*.bin")); len(entries) != 2 {
			t.Errorf("cache holds %v, want one file per fit", entries)
		}
		noCache, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true, Fit: fit})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(d.Train, noCache.Train); diff != "" {
			t.Errorf("without the cache (-cached +uncached):\n%s", diff)
		}
	})

	t.Run("no fit", func(t *testing.T) {
		_, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true})
		wantFormatError(t, err, "", -1, "images of different sizes need a network input")
	})

	t.Run("loader crops", func(t *testing.T) {
		cfg := LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 3, Augment: Augment{ResizedCrop: &ResizedCrop{Scale: [2]float64{0.08, 1}, Ratio: [2]float64{0.75, 4.0 / 3}}, Flip: true}}
		l, err := NewLoader(&d.Train, nil, 2, cfg)
		if err != nil {
			t.Fatal(err)
		}
		a, b := l.Batch(0, 0), l.Batch(0, 0)
		if diff := cmp.Diff(a.Data, b.Data); diff != "" {
			t.Errorf("a batch is not a function of (seed, epoch, batch)")
		}
		plain, _ := NewLoader(&d.Train, nil, 2, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 3})
		if cmp.Equal(a.Data, plain.Batch(0, 0).Data) {
			t.Errorf("random-resized crops changed nothing")
		}
		if c := l.Batch(1, 0); cmp.Equal(a.Data, c.Data) {
			t.Errorf("epochs 0 and 1 crop alike")
		}
	})
}

// TestImageFolderFitKeepsInputSize checks that a folder whose images all have the network's
// input size is not resampled: the pixels are the decoded ones, the fingerprint that of an
// identical binary dataset (v1).
func TestImageFolderFitKeepsInputSize(t *testing.T) {
	files := folderFiles(t, "")
	dir := t.TempDir()
	writeTree(t, dir, files)
	plain, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	fitted, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true, Fit: &Fit{C: 3, H: 3, W: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plain.Train, fitted.Train); diff != "" {
		t.Errorf("(-unfitted +fitted):\n%s", diff)
	}
	if fitted.Preprocessing.Method != "none" || fitted.Preprocessing.Summary() != "1 grey replicated to RGB; 1 files outside class folders ignored (first: train/notes.txt)" {
		t.Errorf("summary %q", fitted.Preprocessing.Summary())
	}
	if want := Fingerprint(plain.Classes, &plain.Train, &plain.Test); fitted.Fingerprint != want {
		t.Errorf("fingerprint %s, want the v1 %s", fitted.Fingerprint, want)
	}
}

func TestImageFolderLayouts(t *testing.T) {
	img := encodePNG(t, testImage(1, 5, 4))
	for _, tc := range []struct {
		name             string
		files            []string
		train, test, val int
	}{
		{"train and val", []string{"train/a/1.png", "train/b/2.png", "val/a/3.png"}, 2, 1, 0},
		{"train and test", []string{"train/a/1.png", "train/b/2.png", "test/b/3.png"}, 2, 1, 0},
		{"all three", []string{"train/a/1.png", "train/b/2.png", "test/b/3.png", "val/a/4.png", "val/b/5.png"}, 2, 1, 2},
		{"classes alone", []string{"a/1.png", "b/2.png", "b/3.png"}, 3, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				writeFile(t, dir, f, img)
			}
			d, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			if d.Train.Len() != tc.train || d.Test.Len() != tc.test || d.Val.Len() != tc.val || !slices.Equal(d.Classes, []string{"a", "b"}) {
				t.Errorf("%d/%d/%d images, classes %v; want %d/%d/%d", d.Train.Len(), d.Test.Len(), d.Val.Len(), d.Classes, tc.train, tc.test, tc.val)
			}
		})
	}
}

func TestImageFolderFitErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		path   string
		msg    string
	}{
		{"val class missing from train", func(t *testing.T, dir string) {
			writeFile(t, dir, "val/dog/1.png", encodePNG(t, testImage(6, 4, 3)))
		}, "val/dog", `val class "dog" has no training folder`},
		{"non-image file", func(t *testing.T, dir string) {
			writeFile(t, dir, "train/ant/notes.txt", []byte("a note"))
		}, "train/ant/notes.txt", "not an image file"},
		{"symlink loop", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, "train"), filepath.Join(dir, "train/cat/again")); err != nil {
				t.Skip(err)
			}
		}, "train/cat/again", "symbolic link loop: leads back to"},
		{"self link", func(t *testing.T, dir string) {
			if err := os.Symlink("self.png", filepath.Join(dir, "train/cat/self.png")); err != nil {
				t.Skip(err)
			}
		}, "train/cat/self.png", "symbolic link loop"},
		{"truncated jpeg", func(t *testing.T, dir string) {
			b := encodeJPEG(t, testImage(9, 40, 30))
			writeFile(t, dir, "train/cat/trunc.jpg", b[:len(b)-200])
		}, "train/cat/trunc.jpg", "undecodable image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, mixedFiles(t))
			tc.change(t, dir)
			before := listTree(t, dir)
			_, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: t.TempDir(), Fit: &Fit{C: 3, H: 16, W: 16}})
			wantFormatError(t, err, tc.path, -1, tc.msg)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			if diff := cmp.Diff(before, listTree(t, dir)); diff != "" {
				t.Errorf("dataset folder changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestSkipBadImages checks that unreadable images are skipped and listed with
// SkipBadImages, that the rest is what a folder without them gives, and that a later Open
// without SkipBadImages still fails on them, cache or not.
func TestSkipBadImages(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mixedFiles(t))
	clean, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true, Fit: &Fit{C: 3, H: 16, W: 16}})
	if err != nil {
		t.Fatal(err)
	}
	b := encodeJPEG(t, testImage(9, 40, 30))
	writeFile(t, dir, "train/cat/trunc.jpg", b[:len(b)-200]) // decodes its header, not its pixels
	writeFile(t, dir, "train/ant/junk.png", []byte("\x89PNG not really"))
	cache := t.TempDir()
	opts := OpenOptions{CacheDir: cache, Fit: &Fit{C: 3, H: 16, W: 16}, SkipBadImages: true}
	d, err := Open("imagefolder:"+dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, s := range d.Preprocessing.Skipped {
		skipped = append(skipped, filepath.Base(s.Path))
	}
	if diff := cmp.Diff([]string{"junk.png", "trunc.jpg"}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(clean.Train, d.Train); diff != "" {
		t.Errorf("the images left differ from the clean folder's (-clean +skipped):\n%s", diff)
	}
	if d.Fingerprint != clean.Fingerprint {
		t.Errorf("the fingerprint is not that of the images kept")
	}
	if !strings.Contains(d.Preprocessing.Summary(), "2 unreadable images skipped") {
		t.Errorf("summary %q", d.Preprocessing.Summary())
	}
	again, err := Open("imagefolder:"+dir, opts)
	if err != nil || again.Fingerprint != d.Fingerprint {
		t.Errorf("reopened from the cache: %v", err)
	}
	opts.SkipBadImages = false
	_, err = Open("imagefolder:"+dir, opts)
	wantFormatError(t, err, "junk.png", -1, "undecodable image")
}

func TestReadImageGrey(t *testing.T) {
	dir := t.TempDir()
	name := writeFile(t, dir, "x.png", encodePNG(t, testImage(3, 28, 28)))
	// A run on grey 28x28 data padded to 32x32: colour is converted to grey and padded.
	p := &Preprocessing{Source: [3]int{1, 28, 28}, Method: "pad"}
	s, err := ReadImage(name, Fit{C: 3, H: 32, W: 32}, p)
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(3, 28, 28)
	g := color.GrayModel.Convert(img.At(0, 0)).(color.Gray).Y
	if s.C != 3 || s.H != 32 || s.Image(0)[0] != 0 || s.Image(0)[2*32+2] != g || s.Image(0)[32*32+2*32+2] != g {
		t.Errorf("got %dx%dx%d, corner %d, first pixel %d; want 3x32x32, 0, %d", s.C, s.H, s.W, s.Image(0)[0], s.Image(0)[2*32+2], g)
	}
}

// TestPadOrCrop checks the fit of runs recorded before images were resized: an image folder of
// one size is cropped or padded, not resampled.
func TestPadOrCrop(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, folderFiles(t, ""))
	plain, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true, Fit: &Fit{C: 3, H: 2, W: 2, PadOrCrop: true}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := plain.adapt(3, 2, 2)
	if diff := cmp.Diff(want.Train, d.Train); diff != "" {
		t.Errorf("(-adapted +opened):\n%s", diff)
	}
	if d.Fingerprint != plain.Fingerprint || d.Preprocessing.Method != "crop" || !strings.Contains(d.Preprocessing.Summary(), "1 grey replicated to RGB") {
		t.Errorf("fingerprint %s, preprocessing %+v", d.Fingerprint, d.Preprocessing)
	}
}
