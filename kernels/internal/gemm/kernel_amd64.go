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

// simdPaths returns the assembly paths this CPU supports, best first.
func simdPaths() []*path {
	var ps []*path
	if cpuid.HasAVX512F {
		ps = append(ps, &path{name: "avx512", mr: 6, nr: 64, kern: []kernelFunc{nil,
			kernAVX5121, kernAVX5122, kernAVX5123, kernAVX5124, kernAVX5125, kernAVX5126}})
	}
	if cpuid.HasAVX2FMA {
		ps = append(ps, &path{name: "avx2", mr: 6, nr: 16, kern: []kernelFunc{nil,
			kernAVX21, kernAVX22, kernAVX23, kernAVX24, kernAVX25, kernAVX26}})
	}
	return ps
}
