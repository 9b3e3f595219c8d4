package data

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedDir returns the project's shared data folder: $MSDX_SHARED, or the sibling "shared" of
// the module root found by walking up from the test's folder. It skips the test when there is
// none.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("MSDX_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(filepath.Dir(dir), "shared")
			if fi, err := os.Stat(shared); err == nil && fi.IsDir() {
				return shared
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Skip("no shared data folder (set MSDX_SHARED)")
	return ""
}

// TestRealCIFAR10JPEG reads the CIFAR-10 JPEG copy straight from its archive, decoding all 60,000
// images (a few seconds on two cores; the cache is used on later runs).
func TestRealCIFAR10JPEG(t *testing.T) {
	archive := filepath.Join(sharedDir(t), "data", "cifar10-jpeg.tar.gz")
	if _, err := os.Stat(archive); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("decodes 60,000 JPEGs")
	}
	d, err := Open("imagefolder:"+archive, OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 50000 || d.Test.Len() != 10000 || d.Train.C != 3 || d.Train.H != 32 || d.Train.W != 32 {
		t.Fatalf("%d/%d images of %dx%dx%d", d.Train.Len(), d.Test.Len(), d.Train.C, d.Train.H, d.Train.W)
	}
	if diff := cmp.Diff(CIFAR10Classes, d.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	for _, s := range []*Split{&d.Train, &d.Test} {
		counts := make([]int, 10)
		for _, l := range s.Labels {
			counts[l]++
		}
		for k, n := range counts {
			if n != s.Len()/10 {
				t.Errorf("class %s has %d of %d images", d.Classes[k], n, s.Len())
			}
		}
	}
	st := ComputeStats(&d.Train, nil)
	for c, want := range []float64{125.2, 122.9, 113.8} {
		if got := st.Mean[c] * 255; math.Abs(got-want) > 0.1 {
			t.Errorf("train mean of channel %d is %.2f, want about %.1f", c, got, want)
		}
	}
	t.Logf("mean %.2f %.2f %.2f std %.2f %.2f %.2f fingerprint %s", st.Mean[0]*255, st.Mean[1]*255, st.Mean[2]*255,
		st.Std[0]*255, st.Std[1]*255, st.Std[2]*255, d.Fingerprint)
}

// TestRealFashionMNIST reads Fashion-MNIST where the Debian package dataset-fashion-mnist installs it.
func TestRealFashionMNIST(t *testing.T) {
	const dir = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")); err != nil {
		t.Skip(err)
	}
	d, err := Open("fashion-mnist:"+dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 60000 || d.Test.Len() != 10000 || d.Train.C != 1 || d.Train.H != 28 || d.Train.W != 28 {
		t.Fatalf("%d/%d images of %dx%dx%d", d.Train.Len(), d.Test.Len(), d.Train.C, d.Train.H, d.Train.W)
	}
	st := ComputeStats(&d.Train, nil)
	// Fashion-MNIST's usual normalisation constants are 0.2860 and 0.3530.
	if math.Abs(st.Mean[0]-0.2860) > 0.001 || math.Abs(st.Std[0]-0.3530) > 0.001 {
		t.Errorf("mean %.4f std %.4f, want 0.2860 and 0.3530", st.Mean[0], st.Std[0])
	}
	a, err := d.adapt(3, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	if a.Train.C != 3 || a.Train.H != 32 || a.Train.Image(0)[0] != 0 || a.Train.Image(0)[2*32+2] != d.Train.Image(0)[0] {
		t.Errorf("adapted shape %dx%dx%d", a.Train.C, a.Train.H, a.Train.W)
	}
}
