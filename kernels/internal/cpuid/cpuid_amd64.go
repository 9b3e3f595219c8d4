//go:build amd64 && !purego

package cpuid

// cpuid executes the CPUID instruction with the given leaf and sub-leaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads extended control register 0 (XCR0).
func xgetbv() (eax, edx uint32)

func init() {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fmaBit     = 1 << 12
		osxsaveBit = 1 << 27
		avxBit     = 1 << 28
	)
	if ecx1&osxsaveBit == 0 || ecx1&avxBit == 0 {
		return
	}
	xcr0, _ := xgetbv()
	const (
		ymmState    = 0x6  // XMM and upper YMM halves
		avx512State = 0xe0 // opmask, upper ZMM0-15, ZMM16-31
	)
	if xcr0&ymmState != ymmState {
		return
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		avx2Bit     = 1 << 5
		avx512FBit  = 1 << 16
		avx512VLBit = 1 << 31
	)
	HasAVX2FMA = ebx7&avx2Bit != 0 && ecx1&fmaBit != 0
	HasAVX512F = HasAVX2FMA && ebx7&avx512FBit != 0 && ebx7&avx512VLBit != 0 && xcr0&avx512State == avx512State
}
