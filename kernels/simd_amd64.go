//go:build amd64 && !purego

package kernels

import "github.com/msdx/msdx/kernels/internal/gemm"

//go:generate go run gen_simd.go

func scaleShift512(dst, src *float32, n int, a, b float32, relu bool)
func sum512(x *float32, n int) float32
func sumSqDev512(x *float32, n int, mean float32) float32
func bnReduce512(x, dy *float32, n int, a, b, mean float32, relu bool) (sdz, sdzx float32)
func bnApply512(dx, x, dy *float32, n int, a, b, mean, k, p, q float32, relu, accumulate bool)

func scaleShift256(dst, src *float32, n int, a, b float32, relu bool)
func sum256(x *float32, n int) float32
func sumSqDev256(x *float32, n int, mean float32) float32
func bnReduce256(x, dy *float32, n int, a, b, mean float32, relu bool) (sdz, sdzx float32)
func bnApply256(dx, x, dy *float32, n int, a, b, mean, k, p, q float32, relu, accumulate bool)

func dot1_1_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_2_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_3_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_4_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_1_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_2_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_3_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_4_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot3_1_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot3_2_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot3_3_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot3_4_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot4_1_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot4_2_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot4_3_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot4_4_512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_1_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_2_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_3_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot1_4_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_1_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_2_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_3_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)
func dot2_4_256(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)

type dotKernel func(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int)

// dotKernels[path][r-1][c-1] is the r x c tile kernel of dotAcc.
var dotKernels = [2][][]dotKernel{
	{{dot1_1_512, dot1_2_512, dot1_3_512, dot1_4_512},
		{dot2_1_512, dot2_2_512, dot2_3_512, dot2_4_512},
		{dot3_1_512, dot3_2_512, dot3_3_512, dot3_4_512},
		{dot4_1_512, dot4_2_512, dot4_3_512, dot4_4_512}},
	{{dot1_1_256, dot1_2_256, dot1_3_256, dot1_4_256},
		{dot2_1_256, dot2_2_256, dot2_3_256, dot2_4_256}},
}

// dotAcc computes c[i*ldc+j] += sum over l < k of a[i*lda+l]*b[j*ldb+l]
// for i < m, j < n, and reports whether a SIMD path did it (false: nothing
// was done). Each l-block of b's rows is read once, a's from L2.
func dotAcc(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) bool {
	var kern [][]dotKernel
	switch simdLanes() {
	case 16:
		kern = dotKernels[0]
	case 8:
		kern = dotKernels[1]
	default:
		return false
	}
	if m == 0 || n == 0 || k == 0 {
		return true
	}
	_, _, _ = a[(m-1)*lda+k-1], b[(n-1)*ldb+k-1], c[(m-1)*ldc+n-1]
	tr, tc := len(kern), len(kern[0])
	for l0 := 0; l0 < k; l0 += dotBlock {
		lb := min(dotBlock, k-l0)
		for j0 := 0; j0 < n; j0 += tc {
			nc := min(tc, n-j0)
			for i0 := 0; i0 < m; i0 += tr {
				nr := min(tr, m-i0)
				kern[nr-1][nc-1](&a[i0*lda+l0], lda, &b[j0*ldb+l0], ldb, lb, &c[i0*ldc+j0], ldc)
			}
		}
	}
	return true
}

// simdLanes returns the vector width (floats) of the active path's
// elementwise loops, or 0 for the portable path. The elementwise loops
// follow the GEMM path, so MSDX_KERNELS and SetPath select both.
func simdLanes() int {
	switch gemm.Path() {
	case "avx512":
		return 16
	case "avx2":
		return 8
	}
	return 0
}

// The *Vec functions return how many leading elements they processed: all
// of them on a SIMD path for scaleShiftVec, bnReduceVec and bnApplyVec
// (whose a*x+b must round identically for every element), the longest
// whole number of vectors for sumVec and sumSqDevVec; the caller finishes
// the rest with scalar code. Lengths are checked by the callers.

func scaleShiftVec(dst, src []float32, a, b float32, relu bool) int {
	n := len(src)
	if simdLanes() == 0 || n == 0 {
		return 0
	}
	l := simdLanes()
	_ = dst[n-1]
	if l == 16 {
		scaleShift512(&dst[0], &src[0], n, a, b, relu)
	} else {
		scaleShift256(&dst[0], &src[0], n, a, b, relu)
	}
	return n
}

func sumVec(x []float32) (float32, int) {
	l := simdLanes()
	n := 0
	if l != 0 {
		n = len(x) / l * l
	}
	if n == 0 {
		return 0, 0
	}
	if l == 16 {
		return sum512(&x[0], n), n
	}
	return sum256(&x[0], n), n
}

func sumSqDevVec(x []float32, mean float32) (float32, int) {
	l := simdLanes()
	n := 0
	if l != 0 {
		n = len(x) / l * l
	}
	if n == 0 {
		return 0, 0
	}
	if l == 16 {
		return sumSqDev512(&x[0], n, mean), n
	}
	return sumSqDev256(&x[0], n, mean), n
}

func bnReduceVec(x, dy []float32, a, b, mean float32, relu bool) (sdz, sdzx float32, n int) {
	l := simdLanes()
	if l != 0 {
		n = len(x)
	}
	if n == 0 {
		return 0, 0, 0
	}
	_ = dy[n-1]
	if l == 16 {
		sdz, sdzx = bnReduce512(&x[0], &dy[0], n, a, b, mean, relu)
	} else {
		sdz, sdzx = bnReduce256(&x[0], &dy[0], n, a, b, mean, relu)
	}
	return sdz, sdzx, n
}

func bnApplyVec(dx, x, dy []float32, a, b, mean, k, p, q float32, relu, accumulate bool) int {
	l := simdLanes()
	n := 0
	if l != 0 {
		n = len(x)
	}
	if n == 0 {
		return 0
	}
	_, _ = dx[n-1], dy[n-1]
	if l == 16 {
		bnApply512(&dx[0], &x[0], &dy[0], n, a, b, mean, k, p, q, relu, accumulate)
	} else {
		bnApply256(&dx[0], &x[0], &dy[0], n, a, b, mean, k, p, q, relu, accumulate)
	}
	return n
}

func gatherEven512(dst, src *float32, images, rows, n, srcImg, srcRow, dstImg, dstRow int)
func gatherEven256(dst, src *float32, images, rows, n, srcImg, srcRow, dstImg, dstRow int)

// gatherEvenVec sets dst[i*dstImg+r*dstRow+j] = src[i*srcImg+r*srcRow+2*j]
// for i < images, r < rows, j < n, and reports whether a SIMD path did it
// (false: nothing was done).
func gatherEvenVec(dst, src []float32, images, rows, n, srcImg, srcRow, dstImg, dstRow int) bool {
	l := simdLanes()
	if l == 0 {
		return false
	}
	if images <= 0 || rows <= 0 || n <= 0 {
		return true
	}
	_ = src[(images-1)*srcImg+(rows-1)*srcRow+2*(n-1)]
	_ = dst[(images-1)*dstImg+(rows-1)*dstRow+n-1]
	if l == 16 {
		gatherEven512(&dst[0], &src[0], images, rows, n, srcImg, srcRow, dstImg, dstRow)
	} else {
		gatherEven256(&dst[0], &src[0], images, rows, n, srcImg, srcRow, dstImg, dstRow)
	}
	return true
}

func scatterAddEven512(dst, src *float32, images, rows, n, dstImg, dstRow, srcImg, srcRow int)
func scatterAddEven256(dst, src *float32, images, rows, n, dstImg, dstRow, srcImg, srcRow int)

// scatterAddEvenVec adds src[i*srcImg+r*srcRow+j] to
// dst[i*dstImg+r*dstRow+2*j] for i < images, r < rows, j < n, and reports
// whether a SIMD path did it (false: nothing was done).
func scatterAddEvenVec(dst, src []float32, images, rows, n, dstImg, dstRow, srcImg, srcRow int) bool {
	l := simdLanes()
	if l == 0 {
		return false
	}
	if images <= 0 || rows <= 0 || n <= 0 {
		return true
	}
	_ = dst[(images-1)*dstImg+(rows-1)*dstRow+2*(n-1)]
	_ = src[(images-1)*srcImg+(rows-1)*srcRow+n-1]
	if l == 16 {
		scatterAddEven512(&dst[0], &src[0], images, rows, n, dstImg, dstRow, srcImg, srcRow)
	} else {
		scatterAddEven256(&dst[0], &src[0], images, rows, n, dstImg, dstRow, srcImg, srcRow)
	}
	return true
}

func axpyRows512(dst, src *float32, rows, n, dstRow, srcRow int, w float32)

// axpyRowsVec adds w*src[r*srcRow+j] to dst[r*dstRow+j] for r < rows,
// j < n, with one fused multiply-add per element, and reports whether a
// SIMD path did it (false: nothing was done).
func axpyRowsVec(dst, src []float32, rows, n, dstRow, srcRow int, w float32) bool {
	if simdLanes() != 16 {
		return false
	}
	if rows <= 0 || n <= 0 {
		return true
	}
	_ = dst[(rows-1)*dstRow+n-1]
	_ = src[(rows-1)*srcRow+n-1]
	axpyRows512(&dst[0], &src[0], rows, n, dstRow, srcRow, w)
	return true
}

func dotRows512(a, b *float32, rows, n, aRow, bRow int) float32

// dotRowsVec returns the sum of a[r*aRow+j]*b[r*bRow+j] over r < rows,
// j < n, and reports whether a SIMD path computed it.
func dotRowsVec(a, b []float32, rows, n, aRow, bRow int) (float32, bool) {
	if simdLanes() != 16 {
		return 0, false
	}
	if rows <= 0 || n <= 0 {
		return 0, true
	}
	_ = a[(rows-1)*aRow+n-1]
	_ = b[(rows-1)*bRow+n-1]
	return dotRows512(&a[0], &b[0], rows, n, aRow, bRow), true
}

func gelu512(dst, src *float32, n int)
func gelu256(dst, src *float32, n int)
func scaleShiftGELU512(dst, src *float32, n int, a, b float32)
func scaleShiftGELU256(dst, src *float32, n int, a, b float32)
func geluBackward512(dx, dy, x *float32, n int)
func geluBackward256(dx, dy, x *float32, n int)
func bnReduceGELU512(x, dy *float32, n int, a, b, mean float32) (sdz, sdzx float32)
func bnReduceGELU256(x, dy *float32, n int, a, b, mean float32) (sdz, sdzx float32)
func bnApplyGELU512(dx, x, dy *float32, n int, a, b, mean, k, p, q float32, accumulate bool)
func bnApplyGELU256(dx, x, dy *float32, n int, a, b, mean, k, p, q float32, accumulate bool)

// The GELU routines below process all elements on a SIMD path and return
// the scalar code's results bit for bit (the elementwise ones; the sums of
// bnReduceGELUVec are ordered differently, as those of bnReduceVec).

func geluVec(dst, src []float32) int {
	n := len(src)
	l := simdLanes()
	if l == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	if l == 16 {
		gelu512(&dst[0], &src[0], n)
	} else {
		gelu256(&dst[0], &src[0], n)
	}
	return n
}

// scaleShiftGELUVec writes gelu(a*src[i] + b) with a*src[i]+b unfused, as
// the scalar code computes it.
func scaleShiftGELUVec(dst, src []float32, a, b float32) int {
	n := len(src)
	l := simdLanes()
	if l == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	if l == 16 {
		scaleShiftGELU512(&dst[0], &src[0], n, a, b)
	} else {
		scaleShiftGELU256(&dst[0], &src[0], n, a, b)
	}
	return n
}

func geluBackwardVec(dx, dy, x []float32) int {
	n := len(x)
	l := simdLanes()
	if l == 0 || n == 0 {
		return 0
	}
	_, _ = dx[n-1], dy[n-1]
	if l == 16 {
		geluBackward512(&dx[0], &dy[0], &x[0], n)
	} else {
		geluBackward256(&dx[0], &dy[0], &x[0], n)
	}
	return n
}

func bnReduceGELUVec(x, dy []float32, a, b, mean float32) (sdz, sdzx float32, n int) {
	l := simdLanes()
	if l != 0 {
		n = len(x)
	}
	if n == 0 {
		return 0, 0, 0
	}
	_ = dy[n-1]
	if l == 16 {
		sdz, sdzx = bnReduceGELU512(&x[0], &dy[0], n, a, b, mean)
	} else {
		sdz, sdzx = bnReduceGELU256(&x[0], &dy[0], n, a, b, mean)
	}
	return sdz, sdzx, n
}

func bnApplyGELUVec(dx, x, dy []float32, a, b, mean, k, p, q float32, accumulate bool) int {
	l := simdLanes()
	n := 0
	if l != 0 {
		n = len(x)
	}
	if n == 0 {
		return 0
	}
	_, _ = dx[n-1], dy[n-1]
	if l == 16 {
		bnApplyGELU512(&dx[0], &x[0], &dy[0], n, a, b, mean, k, p, q, accumulate)
	} else {
		bnApplyGELU256(&dx[0], &x[0], &dy[0], n, a, b, mean, k, p, q, accumulate)
	}
	return n
}

func sgd512(value, grad, buf *float32, n int, step, wd, m float32, flags int)
func sgd256(value, grad, buf *float32, n int, step, wd, m float32, flags int)

// sgdVec does the whole update on a SIMD path, every multiply-add fused as in the
// scalar code; buf is nil without momentum.
func sgdVec(value, grad, buf []float32, step, wd, m float32, flags int) bool {
	n := len(value)
	l := simdLanes()
	if l == 0 {
		return false
	}
	if n == 0 {
		return true
	}
	_ = grad[n-1]
	var pb *float32
	if buf != nil {
		_ = buf[n-1]
		pb = &buf[0]
	}
	if l == 16 {
		sgd512(&value[0], &grad[0], pb, n, step, wd, m, flags)
	} else {
		sgd256(&value[0], &grad[0], pb, n, step, wd, m, flags)
	}
	return true
}
