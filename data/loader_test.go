package data

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tinySplit has n images of 2×3×4 with label i%classes.
func tinySplit(n, classes int) *Split {
	s := &Split{C: 2, H: 3, W: 4, Pixels: testPixels(11, n*24), Labels: make([]int32, n)}
	for i := range s.Labels {
		s.Labels[i] = int32(i % classes)
	}
	return s
}

func newTestLoader(t testing.TB, s *Split, classes int, cfg LoaderConfig) *Loader {
	t.Helper()
	l, err := NewLoader(s, nil, classes, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBatchLayoutAndNormalisation(t *testing.T) {
	s := tinySplit(5, 3)
	stats := &Stats{Mean: []float64{0.5, 0.25}, Std: []float64{0.5, 2}}
	l := newTestLoader(t, s, 3, LoaderConfig{BatchSize: 2, Stats: stats})
	if l.Batches() != 3 {
		t.Fatalf("%d batches, want 3", l.Batches())
	}
	for b := range 3 {
		bt := l.Batch(0, b)
		n := min(2, 5-2*b)
		if bt.N != n || bt.C != 2 || bt.H != 3 || bt.W != 4 || len(bt.Data) != n*24 || bt.Epoch != 0 || bt.Index != b {
			t.Fatalf("batch %d: %+v", b, bt)
		}
		for c := range 2 {
			for j := range n {
				i := 2*b + j
				for h := range 3 {
					for w := range 4 {
						v := s.Image(i)[(c*3+h)*4+w]
						want := float32((float64(v)/255 - stats.Mean[c]) / stats.Std[c])
						if got := bt.Data[((c*n+j)*3+h)*4+w]; got != want {
							t.Fatalf("batch %d c%d n%d h%d w%d = %v, want %v", b, c, j, h, w, got, want)
						}
					}
				}
			}
		}
		wantSoft := make([]float32, n*3)
		for j := range n {
			wantSoft[j*3+(2*b+j)%3] = 1
		}
		if diff := cmp.Diff(wantSoft, bt.Soft); diff != "" {
			t.Errorf("batch %d soft targets (-want +got):\n%s", b, diff)
		}
	}
	if drop := newTestLoader(t, s, 3, LoaderConfig{BatchSize: 2, DropLast: true}); drop.Batches() != 2 {
		t.Errorf("drop last: %d batches, want 2", drop.Batches())
	}
}

func TestShuffle(t *testing.T) {
	s := tinySplit(50, 5)
	indices := []int{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25}
	l, err := NewLoader(s, indices, 5, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	var epochs [][]int
	for e := range 3 {
		var seen []int
		for b := range l.Batches() {
			bt := l.Batch(e, b)
			seen = append(seen, bt.Indices...)
			for j, i := range bt.Indices {
				if bt.Labels[j] != s.Labels[i] {
					t.Fatalf("label of image %d", i)
				}
			}
		}
		if diff := cmp.Diff(indices, slices.Sorted(slices.Values(seen))); diff != "" {
			t.Fatalf("epoch %d does not visit each image once (-want +got):\n%s", e, diff)
		}
		epochs = append(epochs, seen)
	}
	if slices.Equal(epochs[0], epochs[1]) || slices.Equal(epochs[1], epochs[2]) {
		t.Errorf("epochs share a permutation: %v", epochs)
	}
	// Asking out of order gives the same batches: the permutation is a function of the epoch.
	if diff := cmp.Diff(epochs[1][4:8], l.Batch(1, 1).Indices); diff != "" {
		t.Errorf("batch 1 of epoch 1 asked again (-first +again):\n%s", diff)
	}
}

// cropFlip returns channel c of image img cropped at offset (dy, dx) of the zero-padded image and
// optionally flipped, as raw pixel values with -1 for padding.
func cropFlip(img []uint8, c, h, w, pad, dy, dx int, flip bool) []int {
	out := make([]int, h*w)
	for y := range h {
		for x := range w {
			xx := x
			if flip {
				xx = w - 1 - x
			}
			sy, sx := y+dy-pad, xx+dx-pad
			out[y*w+x] = -1
			if sy >= 0 && sy < h && sx >= 0 && sx < w {
				out[y*w+x] = int(img[(c*h+sy)*w+sx])
			}
		}
	}
	return out
}

func TestCropAndFlip(t *testing.T) {
	s := tinySplit(16, 2)
	const pad = 2
	l := newTestLoader(t, s, 2, LoaderConfig{BatchSize: 8, Seed: 3, Augment: Augment{CropPadding: pad, Flip: true}})
	// Pixel values v map to v/255, and padding to 0 = value 0: compare as raw values, where
	// padding shows as 0.
	seen := map[[3]int]bool{}
	for e := range 20 {
		for b := range l.Batches() {
			bt := l.Batch(e, b)
			for j, i := range bt.Indices {
				got := make([]int, 2*12)
				for c := range 2 {
					for k := range 12 {
						got[c*12+k] = int(math.Round(float64(bt.Data[(c*bt.N+j)*12+k]) * 255))
					}
				}
				matched := false
				for dy := 0; dy <= 2*pad && !matched; dy++ {
					for dx := 0; dx <= 2*pad && !matched; dx++ {
						for _, flip := range []bool{false, true} {
							want := slices.Concat(cropFlip(s.Image(i), 0, 3, 4, pad, dy, dx, flip), cropFlip(s.Image(i), 1, 3, 4, pad, dy, dx, flip))
							for k := range want {
								want[k] = max(want[k], 0)
							}
							if slices.Equal(want, got) {
								matched = true
								f := 0
								if flip {
									f = 1
								}
								seen[[3]int{dy, dx, f}] = true
								break
							}
						}
					}
				}
				if !matched {
					t.Fatalf("epoch %d batch %d image %d is no crop/flip of image %d: %v", e, b, j, i, got)
				}
			}
		}
	}
	if len(seen) != (2*pad+1)*(2*pad+1)*2 {
		t.Errorf("saw %d of the %d crop/flip choices in 320 images", len(seen), (2*pad+1)*(2*pad+1)*2)
	}
}

func TestMixup(t *testing.T) {
	s := tinySplit(20, 4)
	aug := Augment{CropPadding: 1, Flip: true}
	plain := newTestLoader(t, s, 4, LoaderConfig{BatchSize: 10, Seed: 5, Augment: aug})
	aug.MixupAlpha = 0.8
	mixed := newTestLoader(t, s, 4, LoaderConfig{BatchSize: 10, Seed: 5, Augment: aug})
	var lambdas []float64
	for e := range 10 {
		base, bt := plain.Batch(e, 0), mixed.Batch(e, 0)
		if bt.Mix != "mixup" || len(bt.Partners) != 10 {
			t.Fatalf("mix %q partners %v", bt.Mix, bt.Partners)
		}
		lambdas = append(lambdas, bt.Lambda)
		lam := float32(bt.Lambda)
		hw := 12
		for c := range 2 {
			for j, p := range bt.Partners {
				for k := range hw {
					want := lam*base.Data[(c*10+j)*hw+k] + (1-lam)*base.Data[(c*10+p)*hw+k]
					if got := bt.Data[(c*10+j)*hw+k]; got != want {
						t.Fatalf("epoch %d image %d: %v, want %v", e, j, got, want)
					}
				}
			}
		}
		checkSoft(t, bt)
	}
	if slices.Min(lambdas) == slices.Max(lambdas) || slices.Min(lambdas) < 0 || slices.Max(lambdas) > 1 {
		t.Errorf("lambdas %v", lambdas)
	}
}

// checkSoft checks that a mixed batch's soft targets put Lambda on each image's label and
// 1-Lambda on its partner's.
func checkSoft(t *testing.T, bt *Batch) {
	t.Helper()
	for j, p := range bt.Partners {
		want := make([]float32, bt.Classes)
		want[bt.Labels[j]] += float32(bt.Lambda)
		want[bt.Labels[p]] += 1 - float32(bt.Lambda)
		if diff := cmp.Diff(want, bt.Soft[j*bt.Classes:(j+1)*bt.Classes], cmpopts.EquateApprox(0, 1e-6)); diff != "" {
			t.Fatalf("soft targets of image %d (-want +got):\n%s", j, diff)
		}
	}
}

func TestCutmix(t *testing.T) {
	s := &Split{C: 1, H: 16, W: 16, Pixels: testPixels(4, 8*256), Labels: []int32{0, 1, 2, 0, 1, 2, 0, 1}}
	plain := newTestLoader(t, s, 3, LoaderConfig{BatchSize: 8, Seed: 2})
	cut := newTestLoader(t, s, 3, LoaderConfig{BatchSize: 8, Seed: 2, Augment: Augment{CutmixAlpha: 1, CutmixProb: 0.5}})
	kinds := map[string]int{}
	for e := range 40 {
		base, bt := plain.Batch(e, 0), cut.Batch(e, 0)
		kinds[bt.Mix]++
		if bt.Mix == "" {
			if !slices.Equal(base.Data, bt.Data) || bt.Lambda != 1 {
				t.Fatalf("epoch %d: an unmixed batch differs", e)
			}
			continue
		}
		// Each image is its own except in one box, where it is its partner's, and Lambda is the
		// fraction outside the box. Random pixels of the two images can coincide, so the pixels
		// seen to change bound the box from below and the coinciding ones make up the rest.
		for j, p := range bt.Partners {
			changed, coincide := 0, 0
			y0, y1, x0, x1 := 16, -1, 16, -1
			for y := range 16 {
				for x := range 16 {
					own, other, got := base.Data[j*256+y*16+x], base.Data[p*256+y*16+x], bt.Data[j*256+y*16+x]
					switch {
					case got != own && got != other:
						t.Fatalf("epoch %d image %d pixel (%d,%d) is neither its own nor its partner's", e, j, y, x)
					case own == other:
						coincide++
					case got == other:
						changed++
						y0, y1, x0, x1 = min(y0, y), max(y1, y), min(x0, x), max(x1, x)
					}
				}
			}
			if changed > 0 && changed+coincide < (y1-y0+1)*(x1-x0+1) {
				t.Fatalf("epoch %d image %d: the changed pixels do not fill a box", e, j)
			}
			boxArea := (1 - bt.Lambda) * 256
			if p != j && (float64(changed) > boxArea+1e-9 || boxArea > float64(changed+coincide)+1e-9) {
				t.Fatalf("epoch %d image %d: lambda %v but %d pixels changed (%d coincide)", e, j, bt.Lambda, changed, coincide)
			}
		}
		checkSoft(t, bt)
	}
	if kinds[""] == 0 || kinds["cutmix"] == 0 || kinds["mixup"] != 0 {
		t.Errorf("batch kinds %v with cutmix probability 0.5 and no mixup", kinds)
	}
	both := newTestLoader(t, s, 3, LoaderConfig{BatchSize: 8, Seed: 2, Augment: Augment{MixupAlpha: 0.2, CutmixAlpha: 1, CutmixProb: 0.5}})
	kinds = map[string]int{}
	for e := range 40 {
		kinds[both.Batch(e, 0).Mix]++
	}
	if kinds[""] != 0 || kinds["cutmix"] == 0 || kinds["mixup"] == 0 {
		t.Errorf("batch kinds %v with mixup and cutmix", kinds)
	}
}

// TestStreamResume checks that a stream started anywhere, with any number of workers, gives
// exactly the batches of Loader.Batch: what resuming a killed run relies on.
func TestStreamResume(t *testing.T) {
	d := Synthetic(SyntheticConfig{Seed: 2, Train: 300, Test: 10})
	train, _ := SplitValidation(d.Train.Len(), 30, 1)
	stats := ComputeStats(&d.Train, train)
	cfg := LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 77, Stats: &stats,
		Augment: Augment{CropPadding: 4, Flip: true, MixupAlpha: 0.8, CutmixAlpha: 1, CutmixProb: 0.5}}
	ref, err := NewLoader(&d.Train, train, 10, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		for _, start := range []int{0, 5, ref.Batches()} {
			cfg.Workers, cfg.Prefetch = workers, 2
			l, err := NewLoader(&d.Train, train, 10, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := l.Stream(2, start)
			b := start
			for bt, ok := s.Next(); ok; bt, ok = s.Next() {
				want := ref.Batch(2, b)
				if bt.Index != b || !slices.Equal(want.Data, bt.Data) || !slices.Equal(want.Soft, bt.Soft) || !slices.Equal(want.Indices, bt.Indices) {
					t.Fatalf("workers %d, start %d: batch %d differs from Loader.Batch", workers, start, b)
				}
				s.Release(bt)
				b++
			}
			s.Close()
			if b != ref.Batches() {
				t.Errorf("workers %d, start %d: stream ended at batch %d, want %d", workers, start, b, ref.Batches())
			}
		}
	}
}

func TestStreamCloseEarly(t *testing.T) {
	l := newTestLoader(t, tinySplit(100, 2), 2, LoaderConfig{BatchSize: 3, Workers: 2, Prefetch: 1})
	s := l.Stream(0, 0)
	if _, ok := s.Next(); !ok {
		t.Fatal("no first batch")
	}
	s.Close()
	s.Close()
	if _, ok := s.Next(); ok {
		t.Error("Next after Close returned a batch")
	}
}

func TestLoaderConfigErrors(t *testing.T) {
	s := tinySplit(4, 2)
	for name, tc := range map[string]struct {
		indices []int
		classes int
		cfg     LoaderConfig
	}{
		"batch size":     {nil, 2, LoaderConfig{}},
		"crop padding":   {nil, 2, LoaderConfig{BatchSize: 1, Augment: Augment{CropPadding: -1}}},
		"mixup alpha":    {nil, 2, LoaderConfig{BatchSize: 1, Augment: Augment{MixupAlpha: math.NaN()}}},
		"cutmix prob":    {nil, 2, LoaderConfig{BatchSize: 1, Augment: Augment{CutmixAlpha: 1, CutmixProb: 2}}},
		"index":          {[]int{4}, 2, LoaderConfig{BatchSize: 1}},
		"label range":    {nil, 1, LoaderConfig{BatchSize: 1}},
		"stats channels": {nil, 2, LoaderConfig{BatchSize: 1, Stats: &Stats{Mean: []float64{0}, Std: []float64{1}}}},
	} {
		if _, err := NewLoader(s, tc.indices, tc.classes, tc.cfg); err == nil {
			t.Errorf("%s: NewLoader did not fail", name)
		}
	}
}

func TestLoaderConfigSerialises(t *testing.T) {
	cfg := LoaderConfig{BatchSize: 64, Shuffle: true, DropLast: true, Seed: 3,
		Augment: Augment{CropPadding: 4, Flip: true, MixupAlpha: 0.8, CutmixAlpha: 1, CutmixProb: 0.5},
		Stats:   &Stats{Mean: []float64{0.49, 0.48, 0.45}, Std: []float64{0.25, 0.24, 0.26}}}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON LoaderConfig
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg, fromJSON); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	var fromTOML LoaderConfig
	if _, err := toml.Decode(buf.String(), &fromTOML); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg, fromTOML); diff != "" {
		t.Errorf("TOML round trip of\n%s(-want +got):\n%s", buf.String(), diff)
	}
}

func TestSmoothTargets(t *testing.T) {
	soft := []float32{1, 0, 0, 0, 0.25, 0.75}
	SmoothTargets(soft, 3, 0.3)
	want := []float32{0.8, 0.1, 0.1, 0.1, 0.275, 0.625}
	if diff := cmp.Diff(want, soft, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSampleBeta(t *testing.T) {
	for _, alpha := range []float64{0.2, 1, 3} {
		r := newRand(1, uint64(alpha*10))
		var sum, sumSq float64
		const n = 20000
		for range n {
			x := sampleBeta(r, alpha)
			sum += x
			sumSq += x * x
		}
		mean, variance := sum/n, sumSq/n-sum*sum/n/n
		wantVar := 1 / (4 * (2*alpha + 1)) // Beta(a, a): mean 1/2, variance 1/(4(2a+1))
		if math.Abs(mean-0.5) > 0.01 || math.Abs(variance-wantVar) > 0.01 {
			t.Errorf("Beta(%v, %v): mean %.4f variance %.4f, want 0.5 and %.4f", alpha, alpha, mean, variance, wantVar)
		}
	}
}
