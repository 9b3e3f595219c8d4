package train

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePhotos writes an image folder with train/, val/ and test/ of two classes, images of
// several sizes.
func writePhotos(t *testing.T, root string) {
	t.Helper()
	sizes := [][2]int{{60, 40}, {32, 50}, {45, 45}, {80, 36}}
	for split, n := range map[string]int{"train": 8, "val": 2, "test": 2} {
		for c, class := range []string{"x", "y"} {
			for i := range n {
				sz := sizes[i%len(sizes)]
				img := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
				for y := range sz[1] {
					for x := range sz[0] {
						v := uint8(50 + 150*((x*6/sz[0]+c*y*6/sz[1])%2))
						img.SetRGBA(x, y, color.RGBA{v, uint8(i * 20), 255 - v, 255})
					}
				}
				name := filepath.Join(root, split, class, fmt.Sprintf("%d.png", i))
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				f, err := os.Create(name)
				if err != nil {
					t.Fatal(err)
				}
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
}

// TestImageFolderRun trains on a folder of mixed-size images with the ImageNet recipe's
// crops: train says once how the data were changed, data.json records it with the crop
// ratio and the folder's own validation split, and evaluation reopens the data the same way.
func TestImageFolderRun(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := t.TempDir()
	writePhotos(t, root)
	var notes []string
	dir := filepath.Join(t.TempDir(), "run")
	_, err := Train(context.Background(), Options{
		Spec:       "msdnet-cifar10-anytime",
		SpecSets:   []string{"channels=8", "growth=4", "blocks.count=2", "blocks.base=1", "blocks.step=1", "head.channels=16", "classes=2"},
		Data:       "imagefolder:" + root,
		CropRatio:  0.8,
		Recipe:     "imagenet",
		RecipeSets: []string{"epochs=1", "batch_size=4"},
		Out:        dir,
		Version:    "test",
		Session:    Session{Log: func(s string) { notes = append(notes, s) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	var data []string
	for _, n := range notes {
		if strings.HasPrefix(n, "data ") {
			data = append(data, n)
		}
	}
	if len(data) != 1 || !strings.Contains(data[0], "4 sizes, from 32x50 to 80x36") || !strings.Contains(data[0], "resized to cover 40x40") ||
		!strings.Contains(data[0], "centre-cropped to 32x32") || !strings.Contains(data[0], "random-resized crops of the resized (uncropped) images") {
		t.Errorf("notes %q: want one data note saying how images were resized and cropped", notes)
	}
	r, err := OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	di := r.DataInfo
	if p := di.Preprocessing; p == nil || p.Method != "resize" || p.CropRatio != 0.8 || p.Input != [3]int{3, 32, 32} {
		t.Errorf("data.json preprocessing %+v", p)
	}
	if di.ValidationSource != ValSplitData || di.ValSize != 4 || di.TrainSize != 16 || di.TestSize != 4 || len(di.ValidationIndices) != 0 {
		t.Errorf("data.json splits: source %q, %d/%d/%d", di.ValidationSource, di.TrainSize, di.ValSize, di.TestSize)
	}
	if _, err := r.Test(); err != nil {
		t.Errorf("no test results: %v", err)
	}
	for split, n := range map[string]int{"train": 16, "val": 4, "test": 4} {
		l, err := r.EvalLoader(split, 3)
		if err != nil {
			t.Fatal(err)
		}
		if l.Len() != n {
			t.Errorf("split %s has %d images, want %d", split, l.Len(), n)
		}
	}
	ds, err := r.Dataset()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Full == nil || ds.Train.H != 32 {
		t.Errorf("reopened data are not the resized ones")
	}
}
