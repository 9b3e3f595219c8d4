package kernels

// Float64 naive references: straightforward loops over NCHW-style indices
// of CNHW tensors, used both to check forward passes and, through finite
// differences, every backward pass.

import (
	"math"
	"math/rand/v2"
	"testing"
)

type shape struct{ c, n, h, w int }

func (s shape) len() int              { return s.c * s.n * s.h * s.w }
func (s shape) at(c, n, h, w int) int { return ((c*s.n+n)*s.h+h)*s.w + w }
func shapeOf(t *Tensor) shape         { return shape{t.C, t.N, t.H, t.W} }
func (s shape) tensor() *Tensor       { return NewTensor(s.c, s.n, s.h, s.w) }
func to64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
func to32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

func randTensor(r *rand.Rand, s shape) *Tensor {
	t := s.tensor()
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func refConv(x []float64, xs shape, w, b []float64, s ConvSpec) ([]float64, shape) {
	s = s.norm()
	ho, wo := s.OutSize(xs.h, xs.w)
	ys := shape{s.OutC, xs.n, ho, wo}
	y := make([]float64, ys.len())
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	for co := range s.OutC {
		g := co / og
		for n := range xs.n {
			for oh := range ho {
				for ow := range wo {
					var acc float64
					if b != nil {
						acc = b[co]
					}
					for ci := range cg {
						for ky := range s.KH {
							for kx := range s.KW {
								ih, iw := oh*s.StrideH-s.PadH+ky, ow*s.StrideW-s.PadW+kx
								if ih < 0 || ih >= xs.h || iw < 0 || iw >= xs.w {
									continue
								}
								acc += w[((co*cg+ci)*s.KH+ky)*s.KW+kx] * x[xs.at(g*cg+ci, n, ih, iw)]
							}
						}
					}
					y[ys.at(co, n, oh, ow)] = acc
				}
			}
		}
	}
	return y, ys
}

func refAct(a Activation, z float64) float64 {
	switch a {
	case ActReLU:
		return math.Max(z, 0)
	case ActGELU:
		return 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
	}
	return z
}

func refBatchNorm(x []float64, xs shape, gamma, beta []float64, eps float64, act Activation) []float64 {
	y := make([]float64, len(x))
	m := float64(xs.n * xs.h * xs.w)
	p := xs.n * xs.h * xs.w
	for c := range xs.c {
		row := x[c*p : (c+1)*p]
		var mean, v float64
		for _, e := range row {
			mean += e
		}
		mean /= m
		for _, e := range row {
			v += (e - mean) * (e - mean)
		}
		v /= m
		for i, e := range row {
			y[c*p+i] = refAct(act, gamma[c]*(e-mean)/math.Sqrt(v+eps)+beta[c])
		}
	}
	return y
}

func refPool(x []float64, xs shape, p PoolSpec, isMax bool) ([]float64, shape) {
	p = p.norm()
	ho, wo := p.OutSize(xs.h, xs.w)
	ys := shape{xs.c, xs.n, ho, wo}
	y := make([]float64, ys.len())
	for c := range xs.c {
		for n := range xs.n {
			for oh := range ho {
				for ow := range wo {
					acc := math.Inf(-1)
					if !isMax {
						acc = 0
					}
					for ky := range p.KH {
						for kx := range p.KW {
							ih, iw := oh*p.StrideH-p.PadH+ky, ow*p.StrideW-p.PadW+kx
							if ih < 0 || ih >= xs.h || iw < 0 || iw >= xs.w {
								continue
							}
							if v := x[xs.at(c, n, ih, iw)]; isMax {
								acc = math.Max(acc, v)
							} else {
								acc += v
							}
						}
					}
					if !isMax {
						acc /= float64(p.KH * p.KW)
					}
					y[ys.at(c, n, oh, ow)] = acc
				}
			}
		}
	}
	return y, ys
}

func refAdaptive(x []float64, xs shape, ho, wo int) []float64 {
	ys := shape{xs.c, xs.n, ho, wo}
	y := make([]float64, ys.len())
	for c := range xs.c {
		for n := range xs.n {
			for oh := range ho {
				h0 := int(math.Floor(float64(oh*xs.h) / float64(ho)))
				h1 := int(math.Ceil(float64((oh+1)*xs.h) / float64(ho)))
				for ow := range wo {
					w0 := int(math.Floor(float64(ow*xs.w) / float64(wo)))
					w1 := int(math.Ceil(float64((ow+1)*xs.w) / float64(wo)))
					var s float64
					for ih := h0; ih < h1; ih++ {
						for iw := w0; iw < w1; iw++ {
							s += x[xs.at(c, n, ih, iw)]
						}
					}
					y[ys.at(c, n, oh, ow)] = s / float64((h1-h0)*(w1-w0))
				}
			}
		}
	}
	return y
}

// refTaps follows PyTorch's area_pixel_compute_source_index and
// upsample_bilinear2d in float64.
func refTaps(o, in, out int, alignCorners bool) (int, int, float64, float64) {
	src := (float64(o)+0.5)*float64(in)/float64(out) - 0.5
	if src < 0 {
		src = 0
	}
	if alignCorners {
		src = 0
		if out > 1 {
			src = float64(o) * float64(in-1) / float64(out-1)
		}
	}
	i0 := int(math.Floor(src))
	i1 := min(i0+1, in-1)
	l1 := src - float64(i0)
	return i0, i1, 1 - l1, l1
}

func refBilinear(x []float64, xs shape, ho, wo int, alignCorners bool) []float64 {
	ys := shape{xs.c, xs.n, ho, wo}
	y := make([]float64, ys.len())
	for c := range xs.c {
		for n := range xs.n {
			for oh := range ho {
				h0, h1, a0, a1 := refTaps(oh, xs.h, ho, alignCorners)
				for ow := range wo {
					w0, w1, b0, b1 := refTaps(ow, xs.w, wo, alignCorners)
					y[ys.at(c, n, oh, ow)] = a0*(b0*x[xs.at(c, n, h0, w0)]+b1*x[xs.at(c, n, h0, w1)]) +
						a1*(b0*x[xs.at(c, n, h1, w0)]+b1*x[xs.at(c, n, h1, w1)])
				}
			}
		}
	}
	return y
}

// refCrossEntropy returns the batch-mean loss for feature-major logits and
// smoothed soft targets t ([classes][batch]).
func refCrossEntropy(z []float64, t []float64, classes, batch int, eps float64) float64 {
	var loss float64
	for n := range batch {
		mx := math.Inf(-1)
		for c := range classes {
			mx = math.Max(mx, z[c*batch+n])
		}
		var s float64
		for c := range classes {
			s += math.Exp(z[c*batch+n] - mx)
		}
		for c := range classes {
			tt := (1-eps)*t[c*batch+n] + eps/float64(classes)
			loss -= tt * (z[c*batch+n] - mx - math.Log(s))
		}
	}
	return loss / float64(batch)
}

// dot returns sum(a*b), the scalar loss whose gradient w.r.t. a is b.
func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// checkClose fails if got and want differ by more than tol relative to
// want's largest magnitude.
func checkClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*scale) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %.3g > %.3g)", what, i, got[i], want[i], d, tol*scale)
		}
	}
}

// checkGrad compares the analytic gradient grad of f at x with central
// finite differences at up to samples random coordinates.
func checkGrad(t *testing.T, what string, f func(x []float64) float64, x []float64, grad []float32, r *rand.Rand, samples int) {
	t.Helper()
	const h = 1e-6
	idx := r.Perm(len(x))
	if len(idx) > samples {
		idx = idx[:samples]
	}
	xp := append([]float64(nil), x...)
	fds := make([]float64, len(idx))
	scale := 1.0
	for k, i := range idx {
		xp[i] = x[i] + h
		fp := f(xp)
		xp[i] = x[i] - h
		fm := f(xp)
		xp[i] = x[i]
		fds[k] = (fp - fm) / (2 * h)
		scale = math.Max(scale, math.Abs(fds[k]))
	}
	for k, i := range idx {
		if d := math.Abs(float64(grad[i]) - fds[k]); !(d <= 2e-3*scale) {
			t.Fatalf("%s: grad[%d] = %v, finite difference %v", what, i, grad[i], fds[k])
		}
	}
}

func sqrt64(v float64) float64 { return math.Sqrt(v) }
