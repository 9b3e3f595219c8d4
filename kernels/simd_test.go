package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
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
			for _, act := range []Activation{ActNone, ActReLU} {
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
