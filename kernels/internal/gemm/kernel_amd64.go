//go:build amd64 && !purego

package gemm

import "github.com/msdx/msdx/kernels/internal/cpuid"

//go:generate go run gen_asm.go

func kernAVX5121(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX5122(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX5123(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX5124(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX5125(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX5126(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX21(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX22(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX23(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX24(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX25(kc int, a, b, c *float32, ldc int, accumulate bool)
func kernAVX26(kc int, a, b, c *float32, ldc int, accumulate bool)

func kernAVX512S1(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX512S2(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX512S3(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX512S4(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX512S5(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX512S6(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX2S1(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX2S2(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX2S3(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX2S4(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX2S5(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)
func kernAVX2S6(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)

// simdPaths returns the assembly paths this CPU supports, best first.
func simdPaths() []*path {
	var ps []*path
	if cpuid.HasAVX512F {
		ps = append(ps, &path{name: "avx512", mr: 6, nr: 64, kern: []kernelFunc{nil,
			kernAVX5121, kernAVX5122, kernAVX5123, kernAVX5124, kernAVX5125, kernAVX5126},
			strided: []stridedKernelFunc{nil,
				kernAVX512S1, kernAVX512S2, kernAVX512S3, kernAVX512S4, kernAVX512S5, kernAVX512S6}})
	}
	if cpuid.HasAVX2FMA {
		ps = append(ps, &path{name: "avx2", mr: 6, nr: 16, kern: []kernelFunc{nil,
			kernAVX21, kernAVX22, kernAVX23, kernAVX24, kernAVX25, kernAVX26},
			strided: []stridedKernelFunc{nil,
				kernAVX2S1, kernAVX2S2, kernAVX2S3, kernAVX2S4, kernAVX2S5, kernAVX2S6}})
	}
	return ps
}
