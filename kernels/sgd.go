package kernels

import "math"

// SGD update flags, shared with gen_simd.go's sgd routine.
const (
	sgdDecay    = 1 // d = grad + wd·value, fused; else d = grad
	sgdMomentum = 2 // a momentum buffer
	sgdFirst    = 4 // its first step: buf = d
	sgdNesterov = 8 // value += step·(d + m·buf), fused; else value += step·buf
)

// SGDStep describes one step of stochastic gradient descent for SGDUpdate.
type SGDStep struct {
	// Step multiplies the update added to the values: minus the learning rate.
	Step float32
	// WeightDecay adds WeightDecay·value to the gradient; 0 adds nothing.
	WeightDecay float32
	// Momentum is the momentum factor of the buffer (used only with one).
	Momentum float32
	// First marks the buffer's first step, which sets it to the gradient.
	First bool
	// Nesterov uses Nesterov momentum.
	Nesterov bool
}

// SGDUpdate applies one step of SGD with momentum to value in place, as torch.optim.SGD
// does, each multiply-add rounded once (fused):
//
//	d     = grad + WeightDecay·value                (grad itself if WeightDecay is 0)
//	buf   = d  on the First step, else  round(Momentum·buf) + d
//	value = value + Step·(d + Momentum·buf)  with Nesterov,  else  value + Step·buf
//
// Without momentum (buf nil), value = value + Step·d. It runs on the calling goroutine
// (callers split large tensors themselves); every path gives the same bits, since a fused
// multiply-add rounds the same in hardware as in the portable code. It panics if grad or a
// non-nil buf is shorter than value.
func SGDUpdate(value, grad, buf []float32, s SGDStep) {
	n := len(value)
	grad = grad[:n]
	flags := 0
	if s.WeightDecay != 0 {
		flags |= sgdDecay
	}
	if buf != nil {
		buf = buf[:n]
		flags |= sgdMomentum
		if s.First {
			flags |= sgdFirst
		}
		if s.Nesterov {
			flags |= sgdNesterov
		}
	}
	if sgdVec(value, grad, buf, s.Step, s.WeightDecay, s.Momentum, flags) {
		return
	}
	for j, v := range value {
		d := grad[j]
		if flags&sgdDecay != 0 {
			d = fma32(s.WeightDecay, v, d)
		}
		if buf == nil {
			value[j] = fma32(s.Step, d, v)
			continue
		}
		b := d
		if !s.First {
			// Two roundings, as buf.mul_(momentum).add_(d): the conversion forbids fusing.
			b = float32(s.Momentum*buf[j]) + d
		}
		buf[j] = b
		if s.Nesterov {
			b = fma32(s.Momentum, b, d)
		}
		value[j] = fma32(s.Step, b, v)
	}
}

// fma32 returns a·b + c computed exactly and rounded once to float32 (round to nearest
// even), as a hardware float32 fused multiply-add does.
func fma32(a, b, c float32) float32 {
	// The product of two float32 values is exact in float64, so s = p + c is rounded once.
	// Rounding s to float32 again gives the correctly rounded result unless s lies exactly
	// halfway between two float32 values: then the exact sum may lie on either side.
	p := float64(a) * float64(b)
	s := p + float64(c)
	bits := math.Float64bits(s)
	// The exponent is in the normal float32 range (biased 1023-125 through 1023+127) and the
	// 29 mantissa bits below float32 precision do not spell a tie.
	if (bits>>52&0x7ff)-(1023-125) < 253 && bits&(1<<29-1) != 1<<28 {
		return float32(s)
	}
	return fma32Slow(p, float64(c), s)
}

// fma32Slow finishes fma32 for ties and for results outside the normal float32 range.
func fma32Slow(p, c, s float64) float32 {
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	// TwoSum: err is the exact rounding error of s = p + c. Rounding s to odd (setting its
	// last bit when the sum was inexact) makes the final rounding to float32 correct, because
	// float64 carries more than the 24+2 bits that requires.
	bv := s - p
	err := (p - (s - bv)) + (c - bv)
	if err != 0 {
		bits := math.Float64bits(s)
		if bits&1 == 0 {
			if (err > 0) == (s > 0) {
				bits++ // the exact value lies farther from zero than s
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}
