package data

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSyntheticConfig(t *testing.T) {
	for _, tc := range []struct {
		args string
		want SyntheticConfig
	}{
		{"", DefaultSyntheticConfig},
		{"7", SyntheticConfig{Seed: 7, Train: 5000, Test: 1000}},
		{"train=200,seed=3", SyntheticConfig{Seed: 3, Train: 200, Test: 1000}},
		{"seed=3,train=200,test=50", SyntheticConfig{Seed: 3, Train: 200, Test: 50}},
	} {
		got, err := ParseSyntheticConfig(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.args, diff)
		}
		if back, _ := ParseSyntheticConfig(got.String()[len("synthetic:"):]); back != got {
			t.Errorf("%v does not round-trip through %q", got, got.String())
		}
	}
}

func TestSynthetic(t *testing.T) {
	cfg := SyntheticConfig{Seed: 5, Train: 400, Test: 100}
	d, err := Open(cfg.String(), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 400 || d.Test.Len() != 100 || d.Train.C != 3 || d.Train.H != 32 || d.Train.W != 32 || len(d.Classes) != 10 {
		t.Fatalf("shape %d/%d images of %dx%dx%d, %d classes", d.Train.Len(), d.Test.Len(), d.Train.C, d.Train.H, d.Train.W, len(d.Classes))
	}
	counts := make([]int, 10)
	for _, l := range d.Train.Labels {
		counts[l]++
	}
	if diff := cmp.Diff([]int{40, 40, 40, 40, 40, 40, 40, 40, 40, 40}, counts); diff != "" {
		t.Errorf("class counts (-want +got):\n%s", diff)
	}
	if again := Synthetic(cfg); again.Fingerprint != d.Fingerprint {
		t.Errorf("same seed, different data")
	}
	if other := Synthetic(SyntheticConfig{Seed: 6, Train: 400, Test: 100}); other.Fingerprint == d.Fingerprint {
		t.Errorf("seeds 5 and 6 give the same data")
	}
	// A larger set starts with the same images: each image has its own stream.
	bigger := Synthetic(SyntheticConfig{Seed: 5, Train: 500, Test: 100})
	if !bytes.Equal(d.Train.Pixels, bigger.Train.Pixels[:len(d.Train.Pixels)]) {
		t.Errorf("images depend on the split size")
	}
	// Pixels use the range: not saturated, not flat.
	var sum, sumSq float64
	for _, v := range d.Train.Pixels {
		sum += float64(v)
		sumSq += float64(v) * float64(v)
	}
	n := float64(len(d.Train.Pixels))
	if mean, sd := sum/n, math.Sqrt(sumSq/n-sum*sum/n/n); mean < 60 || mean > 190 || sd < 25 {
		t.Errorf("pixel mean %.1f, std %.1f", mean, sd)
	}
}

// TestSyntheticLinearBaseline trains a softmax regression on raw pixels: it must stay far from
// solving the task (shapes move and colours are random, so it stays near chance), which needs
// translation-invariant shape detectors; train's tests check that a small CNN learns it.
func TestSyntheticLinearBaseline(t *testing.T) {
	d := Synthetic(SyntheticConfig{Seed: 1, Train: 3000, Test: 1000})
	st := ComputeStats(&d.Train, nil)
	features := func(s *Split, i int) []float32 {
		img := s.Image(i)
		f := make([]float32, len(img))
		for j, v := range img {
			c := j / 1024
			f[j] = float32((float64(v)/255 - st.Mean[c]) / st.Std[c])
		}
		return f
	}
	const dim, classes = 3072, 10
	w := make([]float32, classes*dim)
	bias := make([]float32, classes)
	trainX := make([][]float32, d.Train.Len())
	for i := range trainX {
		trainX[i] = features(&d.Train, i)
	}
	logits := make([]float64, classes)
	predict := func(x []float32) {
		for k := range classes {
			s := float64(bias[k])
			for j, v := range x {
				s += float64(w[k*dim+j] * v)
			}
			logits[k] = s
		}
	}
	const lr = 0.002
	for epoch := range 8 {
		for i, x := range trainX {
			i := (i*7919 + epoch*31) % len(trainX) // a fixed shuffle
			x = trainX[i]
			predict(x)
			mx := logits[0]
			for _, v := range logits {
				mx = max(mx, v)
			}
			var z float64
			for k := range logits {
				logits[k] = math.Exp(logits[k] - mx)
				z += logits[k]
			}
			for k := range classes {
				g := logits[k] / z
				if int32(k) == d.Train.Labels[i] {
					g--
				}
				gf := float32(lr * g)
				row := w[k*dim : (k+1)*dim]
				for j, v := range x {
					row[j] -= gf * v
				}
				bias[k] -= gf
			}
		}
	}
	correct := 0
	for i := range d.Test.Len() {
		predict(features(&d.Test, i))
		best := 0
		for k := range logits {
			if logits[k] > logits[best] {
				best = k
			}
		}
		if int32(best) == d.Test.Labels[i] {
			correct++
		}
	}
	acc := float64(correct) / float64(d.Test.Len())
	t.Logf("linear softmax on pixels: test accuracy %.3f", acc)
	if acc > 0.3 {
		t.Errorf("linear test accuracy %.3f, want at most 0.3: the synthetic task is too easy", acc)
	}
}
