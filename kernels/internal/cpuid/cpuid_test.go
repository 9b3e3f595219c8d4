package cpuid

import "testing"

func TestAVX512ImpliesAVX2(t *testing.T) {
	if HasAVX512F && !HasAVX2FMA {
		t.Errorf("HasAVX512F without HasAVX2FMA: the kernels assume AVX-512 machines also have AVX2+FMA")
	}
	t.Logf("AVX2+FMA: %v, AVX-512F: %v", HasAVX2FMA, HasAVX512F)
}
