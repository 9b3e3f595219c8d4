//go:build !amd64 || purego

package kernels

// Without assembly every loop runs in the portable scalar code; the *Vec
// functions process nothing.

func simdLanes() int { return 0 }

func scaleShiftVec(dst, src []float32, a, b float32, relu bool) int { return 0 }

func sumVec(x []float32) (float32, int) { return 0, 0 }

func sumSqDevVec(x []float32, mean float32) (float32, int) { return 0, 0 }

func bnReduceVec(x, dy []float32, a, b, mean float32, relu bool) (sdz, sdzx float32, n int) {
	return 0, 0, 0
}

func bnApplyVec(dx, x, dy []float32, a, b, mean, k, p, q float32, relu, accumulate bool) int {
	return 0
}

func dotAcc(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) bool {
	return false
}

func gatherEvenVec(dst, src []float32, images, rows, n, srcImg, srcRow, dstImg, dstRow int) bool {
	return false
}

func scatterAddEvenVec(dst, src []float32, images, rows, n, dstImg, dstRow, srcImg, srcRow int) bool {
	return false
}

func axpyRowsVec(dst, src []float32, rows, n, dstRow, srcRow int, w float32) bool {
	return false
}

func dotRowsVec(a, b []float32, rows, n, aRow, bRow int) (float32, bool) {
	return 0, false
}

func geluVec(dst, src []float32) int { return 0 }

func scaleShiftGELUVec(dst, src []float32, a, b float32) int { return 0 }

func geluBackwardVec(dx, dy, x []float32) int { return 0 }

func bnReduceGELUVec(x, dy []float32, a, b, mean float32) (sdz, sdzx float32, n int) {
	return 0, 0, 0
}

func bnApplyGELUVec(dx, x, dy []float32, a, b, mean, k, p, q float32, accumulate bool) int {
	return 0
}

func sgdVec(value, grad, buf []float32, step, wd, m float32, flags int) bool { return false }
