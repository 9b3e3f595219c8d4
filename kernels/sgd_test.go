package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// round32 rounds an exact value to the nearest float32, ties to even, subnormals included.
func round32(x *big.Float) float32 {
	f, _ := x.Float32()
	return f
}

// fmaRef is a·b + c rounded once, computed with big.Float.
func fmaRef(a, b, c float32) float32 {
	// 600 bits hold any a·b + c exactly: the exponents of float32 values span < 600 bits.
	prod := new(big.Float).SetPrec(600).Mul(big.NewFloat(float64(a)), big.NewFloat(float64(b)))
	return round32(new(big.Float).SetPrec(600).Add(prod, big.NewFloat(float64(c))))
}

func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randFloat := func() float32 {
		switch r.IntN(4) {
		case 0: // any finite bit pattern
			for {
				f := math.Float32frombits(r.Uint32())
				if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
					return f
				}
			}
		case 1: // small integers give exact cancellations and ties
			return float32(r.IntN(9) - 4)
		default:
			return float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20)))
		}
	}
	for i := 0; i < 200000; i++ {
		a, b, c := randFloat(), randFloat(), randFloat()
		want := fmaRef(a, b, c)
		if math.IsInf(float64(want), 0) {
			continue // big.Float.Float32 saturates differently; overflow is not our concern
		}
		if got := fma32(a, b, c); math.Float32bits(got) != math.Float32bits(want) && !(got == 0 && want == 0) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
	// A case where double rounding through float64 would go wrong: the exact value is just
	// above a float32 tie, but the float64 sum lands on the tie.
	a, b, c := float32(1+1.0/(1<<23)), float32(1+1.0/(1<<23)), float32(math.Ldexp(1, -80))
	// a·b = 1 + 2^-22 + 2^-46: a tie between float32 1+2^-22 and 1+2^-22+2^-23 only if
	// the 2^-46 and c are lost; fma32 must keep them.
	if got, want := fma32(a, b, c), fmaRef(a, b, c); got != want {
		t.Errorf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
	}
	tieA, tieC := float32(1+1.0/(1<<12)), float32(math.Ldexp(1, -70))
	// tieA² = 1 + 2^-11 + 2^-24: exactly halfway between two float32 values; c breaks the tie upward.
	if got, want := fma32(tieA, tieA, tieC), float32(1+1.0/(1<<11)+1.0/(1<<23)); got != want {
		t.Errorf("fma32 tie broken by c = %v, want %v", got, want)
	}
	if got, want := fma32(tieA, tieA, 0), float32(1+1.0/(1<<11)); got != want {
		t.Errorf("fma32 exact tie = %v, want %v (ties to even)", got, want)
	}
}

// refSGD is torch.optim.SGD written op by op with big.Float, every op rounded to float32;
// "x.add(y, alpha=s)" is one fused operation.
func refSGD(p, buf []float32, g []float32, step int, lr, m, wd float32, nesterov bool) {
	for j := range p {
		d := g[j]
		if wd != 0 {
			d = fmaRef(wd, p[j], d)
		}
		if step == 0 {
			buf[j] = d
		} else {
			buf[j] = fmaRef(1, d, round32(new(big.Float).Mul(big.NewFloat(float64(m)), big.NewFloat(float64(buf[j])))))
		}
		u := buf[j]
		if nesterov {
			u = fmaRef(m, buf[j], d)
		}
		p[j] = fmaRef(-lr, u, p[j])
	}
}

// TestSGDUpdate checks every update SGDUpdate does, on every path and at lengths around
// the vector widths, against refSGD over several steps.
func TestSGDUpdate(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, tc := range []struct {
			momentum, wd float32
			nesterov     bool
		}{{0, 0, false}, {0, 1e-4, false}, {0.9, 0, false}, {0.9, 1e-4, false}, {0.9, 0, true}, {0.9, 5e-4, true}} {
			for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 257} {
				t.Run(fmt.Sprintf("m=%g/wd=%g/nesterov=%t/n=%d", tc.momentum, tc.wd, tc.nesterov, n), func(t *testing.T) {
					r := rand.New(rand.NewPCG(3, uint64(n)))
					value, grad := make([]float32, n), make([]float32, n)
					for i := range value {
						value[i] = float32(r.NormFloat64())
					}
					ref, refBuf := slices.Clone(value), make([]float32, n)
					var buf []float32
					if tc.momentum != 0 {
						buf = make([]float32, n)
					}
					for step := range 6 {
						for i := range grad {
							grad[i] = float32(r.NormFloat64() * 0.1)
						}
						grad[0] = float32(math.Copysign(0, -1)) // a signed zero
						lr := float32(0.1 * math.Pow(0.5, float64(step/3)))
						SGDUpdate(value, grad, buf, SGDStep{Step: -lr, WeightDecay: tc.wd, Momentum: tc.momentum, First: step == 0, Nesterov: tc.nesterov})
						if buf != nil {
							refSGD(ref, refBuf, grad, step, lr, tc.momentum, tc.wd, tc.nesterov)
						} else {
							for i := range ref {
								d := grad[i]
								if tc.wd != 0 {
									d = fmaRef(tc.wd, ref[i], d)
								}
								ref[i] = fmaRef(-lr, d, ref[i])
							}
						}
						for i := range ref {
							if math.Float32bits(ref[i]) != math.Float32bits(value[i]) {
								t.Fatalf("step %d: element %d = %g, reference %g", step, i, value[i], ref[i])
							}
							if buf != nil && math.Float32bits(refBuf[i]) != math.Float32bits(buf[i]) {
								t.Fatalf("step %d: buffer element %d = %g, reference %g", step, i, buf[i], refBuf[i])
							}
						}
					}
				})
			}
		}
	})
}
