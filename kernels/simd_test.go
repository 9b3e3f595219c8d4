package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDotAcc(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, sz := range [][3]int{{1, 1, 1}, {4, 4, 16}, {5, 7, 17}, {3, 9, 33}, {6, 2, 8}, {9, 5, 2*dotBlock + 21}} {
			m, n, k := sz[0], sz[1], sz[2]
			t.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(m), uint64(k)))
				lda, ldb, ldc := k+3, k+1, n+2
				a, b, c := randVec(r, m*lda), randVec(r, n*ldb), randVec(r, m*ldc)
				want := make([]float64, len(c))
				for i := range m {
					for j := range ldc {
						want[i*ldc+j] = float64(c[i*ldc+j])
						if j >= n {
							continue
						}
						for l := range k {
							want[i*ldc+j] += float64(a[i*lda+l]) * float64(b[j*ldb+l])
						}
					}
				}
				if !dotAcc(m, n, k, a, lda, b, ldb, c, ldc) {
					if simdLanes() != 0 {
						t.Fatal("dotAcc declined on a SIMD path")
					}
					return
				}
				checkClose(t, "c", c, want, 1e-5*math.Sqrt(float64(k)))
			})
		}
	})
}

// TestBatchNormPaths checks batch norm on every path with channel lengths
// around the vector widths (masked tails), against the float64 reference
// and finite differences.
func TestBatchNormPaths(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, xs := range []shape{{2, 1, 1, 7}, {3, 2, 2, 4}, {2, 3, 5, 7}, {2, 2, 8, 9}} {
			for _, act := range []Activation{ActNone, ActReLU, ActGELU} {
				t.Run(fmt.Sprintf("%v/%v", xs, act), func(t *testing.T) {
					r := rand.New(rand.NewPCG(uint64(xs.len()), uint64(act)))
					x := randTensor(r, xs)
					bn := NewBatchNorm(xs.c)
					bn.Gamma, bn.Beta = randVec(r, xs.c), randVec(r, xs.c)
					mean, invStd := make([]float32, xs.c), make([]float32, xs.c)
					y := xs.tensor()
					bn.Train(y, x, mean, invStd, act)
					g64, b64 := to64(bn.Gamma), to64(bn.Beta)
					checkClose(t, "y", y.Data, refBatchNorm(to64(x.Data), xs, g64, b64, 1e-5, act), 1e-5)

					dy := randTensor(r, xs)
					r64 := to64(dy.Data)
					dx := xs.tensor()
					dg, db := make([]float32, xs.c), make([]float32, xs.c)
					bn.Backward(dx, dy, x, mean, invStd, dg, db, act, false)
					checkGrad(t, "dx", func(v []float64) float64 {
						return dot(refBatchNorm(v, xs, g64, b64, 1e-5, act), r64)
					}, to64(x.Data), dx.Data, r, 30)
					checkGrad(t, "dgamma", func(v []float64) float64 {
						return dot(refBatchNorm(to64(x.Data), xs, v, b64, 1e-5, act), r64)
					}, g64, dg, r, 4)
					// The ReLU mask of the backward pass is the forward's:
					// where y was clipped to 0, a gradient through y alone
					// (dy = 1 there, else 0) must not reach dgamma or dbeta.
					if act == ActReLU {
						for i, v := range y.Data {
							dy.Data[i] = 0
							if v == 0 {
								dy.Data[i] = 1
							}
						}
						clear(dg)
						clear(db)
						bn.Backward(dx, dy, x, mean, invStd, dg, db, act, false)
						for c := range xs.c {
							if dg[c] != 0 || db[c] != 0 {
								t.Errorf("channel %d: clipped outputs pass gradient: dgamma %v, dbeta %v", c, dg[c], db[c])
							}
						}
					}

					// accumulate adds on top of what is there.
					dx2 := xs.tensor()
					copy(dx2.Data, dx.Data)
					bn.Backward(dx2, dy, x, mean, invStd, dg, db, act, true)
					for i := range dx2.Data {
						dx2.Data[i] -= 2 * dx.Data[i]
					}
					checkClose(t, "accumulated dx - 2 dx", dx2.Data, make([]float64, len(dx2.Data)), 1e-5)
				})
			}
		}
	})
}

// TestGatherStrided checks the strided gather of im2col on every path, with
// row lengths around the 8-output blocks of the SIMD kernels; a canary
// after the destination rows catches writes past them.
func TestGatherStrided(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, stride := range []int{1, 2, 3} {
			for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31} {
				t.Run(fmt.Sprintf("stride=%d/n=%d", stride, n), func(t *testing.T) {
					const images, rows = 3, 4
					r := rand.New(rand.NewPCG(uint64(stride), uint64(n)))
					srcRow := (n-1)*stride + 1 + r.IntN(3)
					srcImg := rows*srcRow + r.IntN(3)
					dstRow, dstImg := n+2, rows*(n+2)+1
					// The source ends right at the last element read.
					src := randVec(r, (images-1)*srcImg+(rows-1)*srcRow+(n-1)*stride+1)
					dst := make([]float32, images*dstImg)
					for i := range dst {
						dst[i] = -1
					}
					want := append([]float32(nil), dst...)
					for i := range images {
						for k := range rows {
							for j := range n {
								want[i*dstImg+k*dstRow+j] = src[i*srcImg+k*srcRow+j*stride]
							}
						}
					}
					gatherStrided(dst, src, images, rows, n, stride, srcImg, srcRow, dstImg, dstRow)
					if diff := cmp.Diff(want, dst); diff != "" {
						t.Errorf("gatherStrided mismatch (-want +got):\n%s", diff)
					}
				})
			}
		}
	})
}

// TestScatterAddStrided checks col2im's strided scatter-add on every path
// against the scalar loop, bit for bit (each element is one addition), and
// that elements between the strided ones and past the end stay untouched.
func TestScatterAddStrided(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, stride := range []int{1, 2, 3} {
			for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31} {
				t.Run(fmt.Sprintf("stride=%d/n=%d", stride, n), func(t *testing.T) {
					const images, rows = 3, 4
					r := rand.New(rand.NewPCG(uint64(stride), uint64(n)))
					dstRow := (n-1)*stride + 1 + r.IntN(3)
					dstImg := rows*dstRow + r.IntN(3)
					srcRow, srcImg := n+2, rows*(n+2)+1
					src := randVec(r, images*srcImg)
					// The destination ends right at the last element written; the
					// elements it skips, and 16 past its end, hold -0, which adding
					// zero would turn into +0.
					size := (images-1)*dstImg + (rows-1)*dstRow + (n-1)*stride + 1
					negZero := float32(math.Copysign(0, -1))
					backing := make([]float32, size+16)
					for i := range backing {
						backing[i] = negZero
					}
					dst := backing[:size]
					for i := range images {
						for k := range rows {
							for j := range n {
								dst[i*dstImg+k*dstRow+j*stride] = float32(r.NormFloat64())
							}
						}
					}
					want := append([]float32(nil), backing...)
					for i := range images {
						for k := range rows {
							for j := range n {
								want[i*dstImg+k*dstRow+j*stride] += src[i*srcImg+k*srcRow+j]
							}
						}
					}
					scatterAddStrided(dst, src, images, rows, n, stride, dstImg, dstRow, srcImg, srcRow)
					for i := range want {
						if math.Float32bits(want[i]) != math.Float32bits(backing[i]) {
							t.Fatalf("element %d of %d = %g, want %g", i, size, backing[i], want[i])
						}
					}
				})
			}
		}
	})
}

// TestAxpyRows checks the row update of direct convolution on every path
// against float64 arithmetic, and that each element rounds the same
// whether it lies in a whole vector or in a masked tail.
func TestAxpyRows(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, n := range []int{1, 5, 15, 16, 17, 33} {
			t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
				const rows = 3
				r := rand.New(rand.NewPCG(uint64(n), 7))
				srcRow, dstRow := n+r.IntN(3), n+1+r.IntN(3)
				src := randVec(r, (rows-1)*srcRow+n)
				dst := randVec(r, (rows-1)*dstRow+n+2)
				w := float32(r.NormFloat64())
				want := make([]float64, len(dst))
				for i, v := range dst {
					want[i] = float64(v)
				}
				for k := range rows {
					for j := range n {
						want[k*dstRow+j] += float64(w) * float64(src[k*srcRow+j])
					}
				}
				single := append([]float32(nil), dst...)
				if !axpyRowsVec(dst, src, rows, n, dstRow, srcRow, w) {
					if simdLanes() == 16 {
						t.Fatal("axpyRowsVec declined on the AVX-512 path")
					}
					return
				}
				checkClose(t, "dst", dst, want, 1e-6)
				// Element by element, each one a masked tail of length 1.
				for k := range rows {
					for j := range n {
						axpyRowsVec(single[k*dstRow+j:], src[k*srcRow+j:], 1, 1, 1, 1, w)
					}
				}
				if diff := cmp.Diff(single, dst); diff != "" {
					t.Errorf("rounding depends on the position (-one at a time +rows):\n%s", diff)
				}
			})
		}
	})
}

// TestDotRows checks the weight-gradient reduction of direct convolution
// on every path against float64 arithmetic, with tails around the vector
// width.
func TestDotRows(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, n := range []int{1, 5, 15, 16, 17, 40} {
			t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
				const rows = 4
				r := rand.New(rand.NewPCG(uint64(n), 9))
				aRow, bRow := n+r.IntN(3), n+1+r.IntN(3)
				a, b := randVec(r, (rows-1)*aRow+n), randVec(r, (rows-1)*bRow+n)
				var want float64
				for k := range rows {
					for j := range n {
						want += float64(a[k*aRow+j]) * float64(b[k*bRow+j])
					}
				}
				got, ok := dotRowsVec(a, b, rows, n, aRow, bRow)
				if !ok {
					if simdLanes() == 16 {
						t.Fatal("dotRowsVec declined on the AVX-512 path")
					}
					return
				}
				checkClose(t, "dot", []float32{got}, []float64{want}, 1e-5*math.Sqrt(float64(rows*n)))
			})
		}
	})
}

// geluInputs returns edge cases (zeros, denormals, the erf clamp at
// |x*Sqrt2/2| = 4, the exp32 cut at -x*x/2 = -87, huge values, infinities,
// NaNs), a sweep, random values and random bit patterns.
func geluInputs(r *rand.Rand) []float32 {
	inf := float32(math.Inf(1))
	xs := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, 1e-40, 1e-38, 1e-30, 1e-7,
		0.5, 1, 2, 3.9999, 4, 5.656854, 5.6568546, 8, 13.190906, 13.190907, 13.2, 20, 1e10, math.MaxFloat32, inf,
		float32(math.NaN()), math.Float32frombits(0x7fc00001), math.Float32frombits(0xffc12345)}
	for _, v := range xs[:len(xs)-3] {
		xs = append(xs, -v)
	}
	for i := -20000; i <= 20000; i++ {
		xs = append(xs, float32(i)/1000)
	}
	for range 20000 {
		xs = append(xs, float32(r.NormFloat64()*4), math.Float32frombits(r.Uint32()))
	}
	return xs
}

// sameBits reports whether a and b are the same float32 bits, or both NaN.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// TestGELUBitExact checks that the SIMD GELU routines (GELU,
// GELUBackward, the GELU scale-shift of batch norm) return the scalar
// code's results bit for bit, on every length up to a few vectors (masked
// tails) and on many inputs.
func TestGELUBitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	xs := geluInputs(r)
	dys := make([]float32, len(xs))
	for i := range dys {
		dys[i] = float32(r.NormFloat64())
	}
	dys[0], dys[1], dys[2] = float32(math.Inf(1)), 0, float32(math.NaN())
	check := func(t *testing.T, what string, got []float32, want func(i int) float32, x []float32) {
		t.Helper()
		for i, g := range got {
			if w := want(i); !sameBits(g, w) {
				t.Fatalf("%s(%v) [%d of %d] = %v (%#08x), scalar %v (%#08x)", what, x[i], i, len(got), g, math.Float32bits(g), w, math.Float32bits(w))
			}
		}
	}
	forEachPath(t, func(t *testing.T) {
		lens := []int{len(xs), 1003}
		for n := 0; n <= 70; n++ {
			lens = append(lens, n)
		}
		for _, n := range lens {
			for off := 0; off+n <= len(xs); off += max(n, 997) * 7 {
				x, dy := xs[off:off+n], dys[off:off+n]
				y := make([]float32, n)
				GELU(y, x)
				check(t, "GELU", y, func(i int) float32 { return gelu(x[i]) }, x)
				dx := make([]float32, n)
				GELUBackward(dx, dy, x)
				check(t, "GELUBackward", dx, func(i int) float32 { return dy[i] * geluGrad(x[i]) }, x)
				for _, ab := range [][2]float32{{1, 0}, {0.7, -0.3}, {-3, 2}} {
					a, b := ab[0], ab[1]
					scaleShift(y, x, a, b, ActGELU)
					check(t, "scaleShift GELU", y, func(i int) float32 { return gelu(float32(a*x[i]) + b) }, x)
				}
				// In place, as GELU allows.
				copy(y, x)
				GELU(y, y)
				check(t, "GELU in place", y, func(i int) float32 { return gelu(x[i]) }, x)
			}
		}
	})
}
