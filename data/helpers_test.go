package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFile writes data to dir/name, creating folders, and fails the test on error.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testPixels returns n deterministic pseudo-random bytes seeded by seed.
func testPixels(seed, n int) []uint8 {
	b := make([]uint8, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = uint8(x)
	}
	return b
}

// cifarRecords builds CIFAR binary records; coarse adds a coarse label byte (CIFAR-100).
func cifarRecords(labels []int, coarse bool, seed int) []byte {
	var buf bytes.Buffer
	for i, l := range labels {
		if coarse {
			buf.WriteByte(byte(l % 20))
		}
		buf.WriteByte(byte(l))
		buf.Write(testPixels(seed*1000+i, 3072))
	}
	return buf.Bytes()
}

// idxFile encodes an IDX file of unsigned bytes.
func idxFile(dims []int, data []byte) []byte {
	var buf bytes.Buffer
	buf.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&buf, binary.BigEndian, uint32(d))
	}
	buf.Write(data)
	return buf.Bytes()
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testImage returns a w×h RGB image with deterministic content.
func testImage(seed, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	px := testPixels(seed, w*h*3)
	for i := range w * h {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = px[3*i], px[3*i+1], px[3*i+2], 255
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeRGB decodes an encoded image with the standard library into planar RGB, as the loader
// should.
func decodeRGB(t *testing.T, data []byte) []uint8 {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := make([]uint8, 3*b.Dx()*b.Dy())
	plane := b.Dx() * b.Dy()
	for y := range b.Dy() {
		for x := range b.Dx() {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			out[y*b.Dx()+x], out[plane+y*b.Dx()+x], out[2*plane+y*b.Dx()+x] = c.R, c.G, c.B
		}
	}
	return out
}

// listTree returns the relative paths and sizes under dir, to check nothing was written there.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fmt.Sprintf("%s %v %d %d", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	slices.Sort(out)
	return out
}

// wantFormatError checks that err is a *FormatError for a path ending in pathSuffix, at record
// (or -1), whose message contains msg.
func wantFormatError(t *testing.T, err error, pathSuffix string, record int, msg string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *FormatError", err, err)
	}
	if !strings.HasSuffix(filepath.ToSlash(fe.Path), pathSuffix) || fe.Record != record || !strings.Contains(fe.Error(), msg) {
		t.Fatalf("error %q (path %q, record %d), want path ending in %q, record %d, message containing %q",
			fe.Error(), fe.Path, fe.Record, pathSuffix, record, msg)
	}
}
