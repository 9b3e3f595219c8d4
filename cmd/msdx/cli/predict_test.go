package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/train"
)

// photo returns a w×h image whose pattern depends on class: stripes of a period that scales
// with the image, so that resizing keeps the class visible.
func photo(class, seed, w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(40 + 170*((x*8/w+y*8/h*class)%2))
			img.SetRGBA(x, y, color.RGBA{R: v, G: uint8((x + seed*7) % 256), B: uint8(255 - int(v)), A: 255})
		}
	}
	return img
}

// writeImageAt writes img as PNG or JPEG (by the name's extension) at name.
func writeImageAt(t *testing.T, name string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(writeImage(t, filepath.Base(name), img), name); err != nil {
		t.Fatal(err)
	}
}

// TestPredictPhoto trains on an image folder of photos of several sizes, then checks that
// predict, given a photo-sized test image file, decides exactly what evaluation decides for
// the same image from the run's test split: the file is resized and centre-cropped by the
// same code, not cropped to a patch.
func TestPredictPhoto(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the run reopens its data through the user cache
	root := t.TempDir()
	sizes := [][2]int{{90, 60}, {64, 120}, {75, 75}, {120, 80}, {50, 100}, {100, 64}}
	for c, class := range []string{"a", "b"} {
		for i, sz := range sizes {
			name := filepath.Join(root, "train", class, fmt.Sprintf("%d.png", i))
			writeImageAt(t, name, photo(c, i, sz[0], sz[1]))
		}
		writeImageAt(t, filepath.Join(root, "test", class, "small.png"), photo(c, 9, 70, 50))
	}
	// The photo: larger than any training image, of another aspect ratio.
	big := filepath.Join(root, "test", "b", "photo.jpg")
	writeImageAt(t, big, photo(1, 11, 640, 427))
	dir := filepath.Join(t.TempDir(), "run")
	_, err := train.Train(context.Background(), train.Options{
		Spec:       "msdnet-cifar10-anytime",
		SpecSets:   []string{"channels=8", "growth=4", "blocks.count=4", "blocks.base=1", "blocks.step=1", "head.channels=16", "classes=2"},
		Data:       "imagefolder:" + root,
		Recipe:     "quick",
		RecipeSets: []string{"epochs=1", "schedule.warmup_epochs=0", "validation.size=0", "batch_size=4"},
		Out:        dir,
		Version:    "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := train.OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p := r.DataInfo.Preprocessing; p == nil || p.Method != "resize" || p.CropRatio != 0.875 {
		t.Fatalf("data.json records preprocessing %+v, want a resize at crop ratio 0.875", p)
	}
	net, err := r.Network("final")
	if err != nil {
		t.Fatal(err)
	}
	loader, err := r.EvalLoader("test", 8)
	if err != nil {
		t.Fatal(err)
	}
	batch := loader.Batch(0, 0)
	// The test split in order: a/small.png, b/photo.jpg, b/small.png.
	const index = 1
	rule := func(k int, conf float32) bool { return conf >= 0.3 }
	want := nn.NewEarlyExit(net).Run(&kernels.Tensor{C: batch.C, N: batch.N, H: batch.H, W: batch.W, Data: batch.Data}, rule, nil)[index]
	stdout, stderr, code := run(t, false, "predict", dir, big, "--threshold", "0.3", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []PredictResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Class != want.Class || got[0].Exit != want.Exit+1 || got[0].Confidence != want.Confidence {
		t.Errorf("predict %s = %+v, want class %d at exit %d with confidence %v, as evaluation decides", big, got, want.Class, want.Exit+1, want.Confidence)
	}
}
