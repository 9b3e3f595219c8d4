package data

import (
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAdapt(t *testing.T) {
	grey := &Dataset{Ref: "g", Classes: []string{"a"}, Train: Split{C: 1, H: 2, W: 3, Pixels: []uint8{1, 2, 3, 4, 5, 6}, Labels: []int32{0}}}
	for _, tc := range []struct {
		name    string
		c, h, w int
		want    []uint8
	}{
		{"same", 1, 2, 3, []uint8{1, 2, 3, 4, 5, 6}},
		{"replicate", 2, 2, 3, []uint8{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}},
		{"pad", 1, 4, 5, []uint8{
			0, 0, 0, 0, 0,
			0, 1, 2, 3, 0,
			0, 4, 5, 6, 0,
			0, 0, 0, 0, 0}},
		{"pad odd", 1, 3, 4, []uint8{
			1, 2, 3, 0,
			4, 5, 6, 0,
			0, 0, 0, 0}},
		{"crop", 1, 1, 1, []uint8{2}},
		{"crop and pad", 1, 4, 1, []uint8{0, 2, 5, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := grey.adapt(tc.c, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			want := Split{C: tc.c, H: tc.h, W: tc.w, Pixels: tc.want, Labels: []int32{0}}
			if diff := cmp.Diff(want, got.Train); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Test.C != tc.c || got.Test.H != tc.h || got.Test.Len() != 0 {
				t.Errorf("empty test split adapted to %+v", got.Test)
			}
		})
	}
	rgb := &Dataset{Train: Split{C: 3, H: 1, W: 1, Pixels: []uint8{1, 2, 3}, Labels: []int32{0}}}
	if _, err := rgb.adapt(1, 1, 1); err == nil {
		t.Errorf("adapting RGB to one channel did not fail")
	}
}

func TestComputeStats(t *testing.T) {
	s := Split{C: 2, H: 1, W: 2, Pixels: []uint8{0, 255, 7, 7, 255, 255, 7, 7}, Labels: []int32{0, 0}}
	got := ComputeStats(&s, nil)
	want := Stats{Mean: []float64{0.75, 7.0 / 255}, Std: []float64{math.Sqrt(0.75 * 0.25), 1}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = ComputeStats(&s, []int{1})
	want = Stats{Mean: []float64{1, 7.0 / 255}, Std: []float64{1, 1}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("subset (-want +got):\n%s", diff)
	}
}

func TestSplitValidation(t *testing.T) {
	train, valid := SplitValidation(100, 10, 42)
	if len(train) != 90 || len(valid) != 10 || !slices.IsSorted(train) || !slices.IsSorted(valid) {
		t.Fatalf("train %v valid %v", train, valid)
	}
	all := slices.Sorted(slices.Values(slices.Concat(train, valid)))
	for i, v := range all {
		if v != i {
			t.Fatalf("train and valid are not a partition of [0, 100): %v", all)
		}
	}
	train2, valid2 := SplitValidation(100, 10, 42)
	if diff := cmp.Diff(valid, valid2); diff != "" || !slices.Equal(train, train2) {
		t.Errorf("same seed, different split (-first +second):\n%s", diff)
	}
	if _, valid3 := SplitValidation(100, 10, 43); slices.Equal(valid, valid3) {
		t.Errorf("seeds 42 and 43 give the same validation set %v", valid)
	}
	for _, tc := range []struct{ n, want int }{{50000, 5000}, {60000, 5000}, {5000, 500}, {9, 0}} {
		if got := DefaultValidationSize(tc.n); got != tc.want {
			t.Errorf("DefaultValidationSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	train := Split{C: 1, H: 1, W: 2, Pixels: []uint8{1, 2}, Labels: []int32{0}}
	test := Split{C: 1, H: 1, W: 2}
	base := Fingerprint([]string{"a", "b"}, &train, &test)
	if base != Fingerprint([]string{"a", "b"}, &train, &test) {
		t.Fatal("fingerprint is not deterministic")
	}
	changed := map[string]string{
		"classes": Fingerprint([]string{"a", "c"}, &train, &test),
		"pixel":   Fingerprint([]string{"a", "b"}, &Split{C: 1, H: 1, W: 2, Pixels: []uint8{1, 3}, Labels: []int32{0}}, &test),
		"label":   Fingerprint([]string{"a", "b"}, &Split{C: 1, H: 1, W: 2, Pixels: []uint8{1, 2}, Labels: []int32{1}}, &test),
		"shape":   Fingerprint([]string{"a", "b"}, &Split{C: 1, H: 2, W: 1, Pixels: []uint8{1, 2}, Labels: []int32{0}}, &test),
		"split":   Fingerprint([]string{"a", "b"}, &test, &train),
	}
	for name, fp := range changed {
		if fp == base {
			t.Errorf("changing the %s keeps the fingerprint %s", name, fp)
		}
	}
}

func TestSubset(t *testing.T) {
	s := Split{C: 1, H: 1, W: 2, Pixels: []uint8{1, 2, 3, 4, 5, 6}, Labels: []int32{7, 8, 9}}
	want := Split{C: 1, H: 1, W: 2, Pixels: []uint8{5, 6, 1, 2}, Labels: []int32{9, 7}}
	if diff := cmp.Diff(want, s.Subset([]int{2, 0})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOpenRefs(t *testing.T) {
	for _, ref := range []string{"cifar10", "cifar10:", "bogus:dir", "", "synthetic:train=0", "synthetic:size=3", "synthetic:x"} {
		if _, err := Open(ref, OpenOptions{}); err == nil {
			t.Errorf("Open(%q) did not fail", ref)
		}
	}
}
