package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// folderFiles returns the files of a small image folder: classes "cat" and "ant" (so sorting
// matters), PNG and JPEG, a grey PNG, and a file that is not an image.
func folderFiles(t *testing.T, prefix string) map[string][]byte {
	grey := image.NewGray(image.Rect(0, 0, 4, 3))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(20 * i)
	}
	return map[string][]byte{
		prefix + "train/cat/b.png": encodePNG(t, testImage(1, 4, 3)),
		prefix + "train/cat/a.jpg": encodeJPEG(t, testImage(2, 4, 3)),
		prefix + "train/ant/x.PNG": encodePNG(t, grey),
		prefix + "train/notes.txt": []byte("not an image, outside the class folders"),
		prefix + "test/cat/c.jpeg": encodeJPEG(t, testImage(3, 4, 3)),
		prefix + "test/ant/d.png":  encodePNG(t, testImage(4, 4, 3)),
	}
}

func writeTree(t *testing.T, dir string, files map[string][]byte) {
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
}

func writeTarGz(t *testing.T, name string, files map[string][]byte) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := slices.Sorted(mapKeysBytes(files))
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mapKeysBytes(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestOpenImageFolder(t *testing.T) {
	files := folderFiles(t, "")
	dir := t.TempDir()
	writeTree(t, dir, files)
	before := listTree(t, dir)
	cache := t.TempDir()
	d, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	greyRGB := decodeRGB(t, files["train/ant/x.PNG"])
	wantTrain := slices.Concat(greyRGB, decodeRGB(t, files["train/cat/a.jpg"]), decodeRGB(t, files["train/cat/b.png"]))
	if diff := cmp.Diff(Split{C: 3, H: 3, W: 4, Pixels: wantTrain, Labels: []int32{0, 1, 1}}, d.Train); diff != "" {
		t.Errorf("train (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(greyRGB[:12], greyRGB[12:24]); diff != "" {
		t.Errorf("grey image not replicated (-R +G):\n%s", diff)
	}
	wantTest := slices.Concat(decodeRGB(t, files["test/ant/d.png"]), decodeRGB(t, files["test/cat/c.jpeg"]))
	if diff := cmp.Diff(Split{C: 3, H: 3, W: 4, Pixels: wantTest, Labels: []int32{0, 1}}, d.Test); diff != "" {
		t.Errorf("test (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ant", "cat"}, d.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, listTree(t, dir)); diff != "" {
		t.Errorf("dataset folder changed (-before +after):\n%s", diff)
	}

	t.Run("cache", func(t *testing.T) {
		// d's pixels are mapped from the cache file, which this test damages in place.
		wantTest := slices.Clone(d.Test.Pixels)
		entries, _ := filepath.Glob(filepath.Join(cache, "imagefolder-*.bin"))
		if len(entries) != 1 {
			t.Fatalf("cache holds %v, want one file", entries)
		}
		if _, err := openCache(entries[0], "another key", true); err == nil {
			t.Fatalf("cache read under a wrong key")
		}
		again, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(d, again); diff != "" {
			t.Errorf("reopened from cache (-first +second):\n%s", diff)
		}
		// The cache is used, not rewritten.
		info, _ := os.Stat(entries[0])
		if _, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache}); err != nil {
			t.Fatal(err)
		}
		if again, _ := os.Stat(entries[0]); !os.SameFile(info, again) {
			t.Errorf("the cache was rewritten")
		}
		// A damaged cache is detected, not used, and rewritten.
		raw, _ := os.ReadFile(entries[0])
		raw[len(cacheMagic)+3*3*4*4] ^= 0xff // a test pixel
		os.WriteFile(entries[0], raw, 0o644)
		repaired, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantTest, repaired.Test.Pixels); diff != "" {
			t.Errorf("a damaged cache was used (-want +got):\n%s", diff)
		}
		fixed, _ := os.ReadFile(entries[0])
		if bytes.Equal(fixed, raw) {
			t.Errorf("the damaged cache was not rewritten")
		}
	})

	t.Run("archive", func(t *testing.T) {
		for _, prefix := range []string{"", "top/"} {
			archive := filepath.Join(t.TempDir(), "set.tar.gz")
			writeTarGz(t, archive, folderFiles(t, prefix))
			a, err := Open("imagefolder:"+archive, OpenOptions{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(d.Classes, a.Classes); diff != "" {
				t.Errorf("archive %q classes (-folder +archive):\n%s", prefix, diff)
			}
			if a.Train.Len() != 3 || a.Test.Len() != 2 {
				t.Errorf("archive %q: %d/%d images", prefix, a.Train.Len(), a.Test.Len())
			}
		}
	})

	t.Run("train only", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "b/1.png", encodePNG(t, testImage(1, 2, 2)))
		writeFile(t, dir, "a/1.png", encodePNG(t, testImage(2, 2, 2)))
		writeFile(t, dir, ".hidden/1.png", []byte("junk that would not decode"))
		d, err := Open("imagefolder:"+dir, OpenOptions{NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"a", "b"}, d.Classes); diff != "" {
			t.Errorf("classes (-want +got):\n%s", diff)
		}
		if d.Train.Len() != 2 || d.Test.Len() != 0 {
			t.Errorf("%d/%d images, want 2/0", d.Train.Len(), d.Test.Len())
		}
	})
}

// TestImageFolderArchiveMatchesFolder checks that the same images give the same fingerprint (and
// cache) from a folder and from an archive.
func TestImageFolderArchiveMatchesFolder(t *testing.T) {
	files := folderFiles(t, "")
	dir := t.TempDir()
	writeTree(t, dir, files)
	archive := filepath.Join(t.TempDir(), "set.tgz")
	writeTarGz(t, archive, files)
	cache := t.TempDir()
	a, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open("imagefolder:"+archive, OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint != b.Fingerprint {
		t.Errorf("folder fingerprint %s, archive %s", a.Fingerprint, b.Fingerprint)
	}
	if entries, _ := filepath.Glob(filepath.Join(cache, "*")); len(entries) != 1 {
		t.Errorf("cache holds %v, want one shared file", entries)
	}
}

func TestImageFolderErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		path   string
		msg    string
	}{
		{"undecodable", func(t *testing.T, dir string) {
			writeFile(t, dir, "train/cat/bad.jpg", []byte("\xff\xd8 not really a jpeg"))
		}, "train/cat/bad.jpg", "undecodable image"},
		{"truncated png", func(t *testing.T, dir string) {
			b := encodePNG(t, testImage(9, 4, 3))
			writeFile(t, dir, "test/ant/trunc.png", b[:len(b)/2])
		}, "test/ant/trunc.png", "undecodable image"},
		{"unreadable", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, "nowhere.png"), filepath.Join(dir, "train/cat/link.png")); err != nil {
				t.Skip(err)
			}
		}, "train/cat/link.png", "unreadable"},
		{"empty class folder", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "train/bee/sub"), 0o755)
		}, "train/bee", "empty class folder"},
		{"empty test class folder", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "test/cat/sub"), 0o755)
			os.Remove(filepath.Join(dir, "test/cat/c.jpeg"))
		}, "test/cat", "empty class folder"},
		{"mismatched size", func(t *testing.T, dir string) {
			writeFile(t, dir, "train/cat/big.png", encodePNG(t, testImage(5, 5, 3)))
		}, "train/cat/big.png", "image is 5x3 but"},
		{"unknown test class", func(t *testing.T, dir string) {
			writeFile(t, dir, "test/dog/1.png", encodePNG(t, testImage(6, 4, 3)))
		}, "test/dog", `test class "dog" has no training folder`},
		{"no classes", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "train"))
			os.RemoveAll(filepath.Join(dir, "test"))
			os.MkdirAll(filepath.Join(dir, "train"), 0o755)
		}, "train", "no class folders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, folderFiles(t, ""))
			tc.change(t, dir)
			before := listTree(t, dir)
			_, err := Open("imagefolder:"+dir, OpenOptions{CacheDir: t.TempDir()})
			wantFormatError(t, err, tc.path, -1, tc.msg)
			if diff := cmp.Diff(before, listTree(t, dir)); diff != "" {
				t.Errorf("dataset folder changed (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("archive member", func(t *testing.T) {
		files := folderFiles(t, "")
		files["train/ant/bad.png"] = []byte("garbage")
		archive := filepath.Join(t.TempDir(), "set.tar.gz")
		writeTarGz(t, archive, files)
		_, err := Open("imagefolder:"+archive, OpenOptions{NoCache: true})
		wantFormatError(t, err, "set.tar.gz:train/ant/bad.png", -1, "undecodable image")
	})
	t.Run("not an archive", func(t *testing.T) {
		name := writeFile(t, t.TempDir(), "set.zip", []byte("zip"))
		_, err := Open("imagefolder:"+name, OpenOptions{NoCache: true})
		wantFormatError(t, err, "set.zip", -1, "must be a directory")
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Open("imagefolder:"+filepath.Join(t.TempDir(), "absent"), OpenOptions{NoCache: true})
		wantFormatError(t, err, "absent", -1, "cannot open")
	})
}

// TestToRGBImageTypes checks the fast paths against the generic colour conversion.
func TestToRGBImageTypes(t *testing.T) {
	src := testImage(7, 5, 4)
	rgba := image.NewRGBA(src.Bounds())
	ycc := image.NewYCbCr(src.Bounds(), image.YCbCrSubsampleRatio420)
	gray := image.NewGray(src.Bounds())
	gray16 := image.NewGray16(src.Bounds())
	cmyk := image.NewCMYK(src.Bounds())
	paletted := image.NewPaletted(src.Bounds(), color.Palette{color.Black, color.White, color.RGBA{200, 10, 30, 255}, color.NRGBA{10, 200, 30, 128}})
	for y := range 4 {
		for x := range 5 {
			c := src.NRGBAAt(x, y)
			rgba.Set(x, y, c)
			gray.Set(x, y, c)
			gray16.Set(x, y, c)
			cmyk.Set(x, y, c)
			paletted.SetColorIndex(x, y, uint8((x+y)%4))
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = cb, cr
		}
	}
	for name, img := range map[string]image.Image{"nrgba": src, "rgba": rgba, "ycbcr": ycc, "gray": gray, "gray16": gray16, "cmyk": cmyk, "paletted": paletted, "sub": src.SubImage(image.Rect(1, 1, 5, 4))} {
		t.Run(name, func(t *testing.T) {
			b := img.Bounds()
			want := make([]uint8, 3*b.Dx()*b.Dy())
			plane := b.Dx() * b.Dy()
			for y := range b.Dy() {
				for x := range b.Dx() {
					c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
					want[y*b.Dx()+x], want[plane+y*b.Dx()+x], want[2*plane+y*b.Dx()+x] = c.R, c.G, c.B
				}
			}
			got := make([]uint8, len(want))
			toRGB(img, got, b.Dy(), b.Dx())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
