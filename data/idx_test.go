package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeIDXSet writes a tiny MNIST-style set of 4 training and 2 test 5×3 images.
func writeIDXSet(t *testing.T, dir string, gz bool) {
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"train-images-idx3-ubyte", idxFile([]int{4, 5, 3}, testPixels(1, 4*15))},
		{"train-labels-idx1-ubyte", idxFile([]int{4}, []byte{0, 9, 3, 3})},
		{"t10k-images-idx3-ubyte", idxFile([]int{2, 5, 3}, testPixels(2, 2*15))},
		{"t10k-labels-idx1-ubyte", idxFile([]int{2}, []byte{1, 2})},
	} {
		if gz {
			writeFile(t, dir, f.name+".gz", gzipBytes(t, f.data))
		} else {
			writeFile(t, dir, f.name, f.data)
		}
	}
}

func TestOpenIDX(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "raw", true: "gzip"}[gz], func(t *testing.T) {
			dir := t.TempDir()
			writeIDXSet(t, dir, gz)
			before := listTree(t, dir)
			d, err := Open("fashion-mnist:"+dir, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := Split{C: 1, H: 5, W: 3, Pixels: testPixels(1, 60), Labels: []int32{0, 9, 3, 3}}
			if diff := cmp.Diff(want, d.Train); diff != "" {
				t.Errorf("train (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int32{1, 2}, d.Test.Labels); diff != "" {
				t.Errorf("test labels (-want +got):\n%s", diff)
			}
			if d.Classes[0] != "T-shirt/top" {
				t.Errorf("classes %q", d.Classes)
			}
			if diff := cmp.Diff(before, listTree(t, dir)); diff != "" {
				t.Errorf("dataset folder changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestIDXErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		gz     bool
		file   string
		data   []byte
		record int
		msg    string
	}{
		{"bad magic", false, "train-images-idx3-ubyte", append([]byte{0, 0, 9, 3}, make([]byte, 12)...), -1, "bad IDX magic"},
		{"labels as images", false, "t10k-images-idx3-ubyte", idxFile([]int{2}, []byte{1, 2}), -1, "bad IDX magic"},
		{"zero dimension", true, "train-images-idx3-ubyte.gz", idxFile([]int{4, 0, 3}, nil), -1, "bad IDX dimension 1"},
		{"truncated data", true, "train-images-idx3-ubyte.gz", idxFile([]int{4, 5, 3}, testPixels(1, 40)), 2, "truncated IDX data"},
		{"truncated header", false, "t10k-labels-idx1-ubyte", []byte{0, 0, 8, 1, 0}, -1, "truncated IDX header"},
		{"trailing data", false, "t10k-labels-idx1-ubyte", idxFile([]int{2}, []byte{1, 2, 3}), -1, "data continues"},
		{"label out of range", false, "train-labels-idx1-ubyte", idxFile([]int{4}, []byte{0, 9, 10, 3}), 2, "label 10 out of range [0, 10)"},
		{"count mismatch", true, "train-labels-idx1-ubyte.gz", idxFile([]int{3}, []byte{0, 1, 2}), -1, "has 3 labels but train-images-idx3-ubyte.gz has 4 images"},
		{"bad gzip", true, "t10k-images-idx3-ubyte.gz", []byte{0x1f, 0x8b, 1, 2, 3}, -1, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeIDXSet(t, dir, tc.gz)
			data := tc.data
			if tc.gz && tc.name != "bad gzip" {
				data = gzipBytes(t, data)
			}
			writeFile(t, dir, tc.file, data)
			_, err := Open("mnist:"+dir, OpenOptions{})
			wantFormatError(t, err, tc.file, tc.record, tc.msg)
		})
	}
	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXSet(t, dir, false)
		os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte"))
		_, err := Open("mnist:"+dir, OpenOptions{})
		wantFormatError(t, err, "t10k-labels-idx1-ubyte", -1, "missing file")
	})
}
