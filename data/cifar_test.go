package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeCIFAR10(t *testing.T, dir string) {
	for i := 1; i <= 5; i++ {
		writeFile(t, dir, "data_batch_"+string(rune('0'+i))+".bin", cifarRecords([]int{i, 9, 0}, false, i))
	}
	writeFile(t, dir, "test_batch.bin", cifarRecords([]int{3, 4}, false, 7))
}

func TestOpenCIFAR10(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR10(t, dir)
	before := listTree(t, dir)
	d, err := Open("cifar10:"+dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int32{1, 9, 0, 2, 9, 0, 3, 9, 0, 4, 9, 0, 5, 9, 0}, d.Train.Labels); diff != "" {
		t.Errorf("train labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{3, 4}, d.Test.Labels); diff != "" {
		t.Errorf("test labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(testPixels(3*1000+1, 3072), d.Train.Image(7)); diff != "" {
		t.Errorf("pixels of train image 7 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(CIFAR10Classes, d.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if d.Ref != "cifar10:"+dir || d.Fingerprint != Fingerprint(d.Classes, &d.Train, &d.Test) {
		t.Errorf("ref %q fingerprint %q", d.Ref, d.Fingerprint)
	}
	if diff := cmp.Diff(before, listTree(t, dir)); diff != "" {
		t.Errorf("dataset folder changed (-before +after):\n%s", diff)
	}
}

func TestOpenCIFAR100(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "cifar-100-binary") // as the official archive unpacks
	writeFile(t, sub, "train.bin", cifarRecords([]int{99, 0, 42}, true, 1))
	writeFile(t, sub, "test.bin", cifarRecords([]int{7}, true, 2))
	d, err := Open("cifar100:"+dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int32{99, 0, 42}, d.Train.Labels); diff != "" {
		t.Errorf("train labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(testPixels(2*1000, 3072), d.Test.Image(0)); diff != "" {
		t.Errorf("test pixels (-want +got):\n%s", diff)
	}
	if len(d.Classes) != 100 || d.Classes[99] != "worm" {
		t.Errorf("%d classes, last %q", len(d.Classes), d.Classes[len(d.Classes)-1])
	}
}

func TestCIFARErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    string
		prepare func(t *testing.T, dir string)
		file    string
		record  int
		msg     string
	}{
		{"truncated", "cifar10", func(t *testing.T, dir string) {
			b := cifarRecords([]int{1, 2, 3}, false, 1)
			writeFile(t, dir, "data_batch_3.bin", b[:len(b)-100])
		}, "data_batch_3.bin", 2, "truncated"},
		{"label out of range", "cifar10", func(t *testing.T, dir string) {
			writeFile(t, dir, "test_batch.bin", cifarRecords([]int{1, 10}, false, 1))
		}, "test_batch.bin", 1, "label 10 out of range [0, 10)"},
		{"missing batch", "cifar10", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "data_batch_5.bin"))
		}, "data_batch_5.bin", -1, "missing file"},
		{"empty file", "cifar10", func(t *testing.T, dir string) {
			writeFile(t, dir, "data_batch_1.bin", nil)
		}, "data_batch_1.bin", -1, "empty file"},
		{"fine label out of range", "cifar100", func(t *testing.T, dir string) {
			writeFile(t, dir, "test.bin", cifarRecords([]int{5, 5, 100}, true, 1))
		}, "test.bin", 2, "label 100 out of range [0, 100)"},
		{"coarse label out of range", "cifar100", func(t *testing.T, dir string) {
			b := cifarRecords([]int{5}, true, 1)
			b[0] = 20
			writeFile(t, dir, "train.bin", b)
		}, "train.bin", 0, "coarse label 20"},
		{"cifar100 truncated", "cifar100", func(t *testing.T, dir string) {
			writeFile(t, dir, "train.bin", cifarRecords([]int{5}, true, 1)[:3000])
		}, "train.bin", 0, "truncated"},
		{"missing test", "cifar100", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "test.bin"))
		}, "test.bin", -1, "missing file"},
		{"bad class names", "cifar10", func(t *testing.T, dir string) {
			writeFile(t, dir, "batches.meta.txt", []byte("a\nb\n"))
		}, "batches.meta.txt", -1, "has 2 class names, want 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.kind == "cifar10" {
				writeCIFAR10(t, dir)
			} else {
				writeFile(t, dir, "train.bin", cifarRecords([]int{1}, true, 1))
				writeFile(t, dir, "test.bin", cifarRecords([]int{2}, true, 2))
			}
			tc.prepare(t, dir)
			_, err := Open(tc.kind+":"+dir, OpenOptions{})
			wantFormatError(t, err, tc.file, tc.record, tc.msg)
		})
	}
}

func TestCIFAR10ClassNamesFile(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR10(t, dir)
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	writeFile(t, dir, "batches.meta.txt", []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"))
	d, err := Open("cifar10:"+dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(names, d.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
}
