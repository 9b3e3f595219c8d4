package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCIFARPicklesMatchBinary reads the small CIFAR-10 and CIFAR-100 folders that
// scripts/golden/cifar_pickles.py writes in both formats (Python 2 pickles as torchvision
// downloads them, and the binary version) and checks that they give identical datasets, found
// from the parent folder as a user names it.
func TestCIFARPicklesMatchBinary(t *testing.T) {
	for _, tc := range []struct{ kind, py, bin string }{
		{"cifar10", "cifar-10-batches-py", "cifar-10-batches-bin"},
		{"cifar100", "cifar-100-python", "cifar-100-binary"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			root := filepath.Join("testdata", "cifar")
			// Each format alone in a parent folder, as torchvision or the binary archive leaves it.
			pyParent, binParent := t.TempDir(), t.TempDir()
			copyDir(t, filepath.Join(root, tc.py), filepath.Join(pyParent, tc.py))
			copyDir(t, filepath.Join(root, tc.bin), filepath.Join(binParent, tc.bin))
			py, err := Open(tc.kind+":"+pyParent, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bin, err := Open(tc.kind+":"+binParent, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if py.Train.Len() != 15 || py.Test.Len() != 4 {
				t.Errorf("%d/%d images, want 15/4", py.Train.Len(), py.Test.Len())
			}
			py.Ref, bin.Ref = "", ""
			if diff := cmp.Diff(bin, py); diff != "" {
				t.Errorf("pickles differ from the binary version (-binary +pickle):\n%s", diff)
			}
			// With both formats side by side, the binary one is read, as before.
			both := t.TempDir()
			copyDir(t, filepath.Join(root, tc.py), filepath.Join(both, tc.py))
			copyDir(t, filepath.Join(root, tc.bin), filepath.Join(both, tc.bin))
			os.WriteFile(filepath.Join(both, tc.py, map[string]string{"cifar10": "test_batch", "cifar100": "test"}[tc.kind]), []byte("damaged"), 0o644)
			if _, err := Open(tc.kind+":"+both, OpenOptions{}); err != nil {
				t.Errorf("with both formats: %v (the pickles were read)", err)
			}
			// The folder itself works too.
			direct, err := Open(tc.kind+":"+filepath.Join(root, tc.py), OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if direct.Fingerprint != bin.Fingerprint {
				t.Errorf("%s read directly has another fingerprint", tc.py)
			}
		})
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCIFARPickleErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "cifar", "cifar-10-batches-py", "test_batch"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
		msg  string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "not a CIFAR pickle: truncated pickle"},
		{"empty", func([]byte) []byte { return nil }, "not a CIFAR pickle"},
		{"code", func([]byte) []byte { return []byte("cos\nsystem\n(S'echo hi'\ntR.") }, "not a CIFAR pickle"},
		{"label out of range", func(b []byte) []byte {
			// The first label, BININT1 3 after the labels list's MARK.
			s := strings.Replace(string(b), "(K\x03K\x07", "(K\x0bK\x07", 1)
			return []byte(s)
		}, "label 11 out of range [0, 10)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, filepath.Join("testdata", "cifar", "cifar-10-batches-py"), dir)
			os.WriteFile(filepath.Join(dir, "test_batch"), tc.edit(good), 0o644)
			_, err := Open("cifar10:"+dir, OpenOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "test_batch") {
				t.Errorf("error %v, want one naming test_batch with %q", err, tc.msg)
			}
		})
	}
	t.Run("missing batch", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, filepath.Join("testdata", "cifar", "cifar-10-batches-py"), dir)
		os.Remove(filepath.Join(dir, "data_batch_3"))
		_, err := Open("cifar10:"+dir, OpenOptions{})
		wantFormatError(t, err, "data_batch_3", -1, "missing file")
	})
}
