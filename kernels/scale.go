package kernels

import "math"

// Sigmoid writes y = 1/(1+exp(-x)), computed in float64 and rounded; y may alias x.
func Sigmoid(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// SigmoidBackward writes dx = dy·y·(1−y), where y is the sigmoid's output; dx may alias dy.
func SigmoidBackward(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		dx[i] = dy[i] * v * (1 - v)
	}
}

// ChannelScale writes y = x·s, where s holds one value per channel and sample (a C×N×1×1
// tensor), as a squeeze-excitation block rescales its input.
func ChannelScale(y, x, s *Tensor) {
	hw := x.H * x.W
	for cn := 0; cn < x.C*x.N; cn++ {
		f := s.Data[cn]
		src, dst := x.Data[cn*hw:(cn+1)*hw], y.Data[cn*hw:(cn+1)*hw]
		for i, v := range src {
			dst[i] = v * f
		}
	}
}

// ChannelScaleBackward computes the gradients of y = x·s (see ChannelScale) from dy:
// dx = dy·s and ds = Σ_hw dy·x. Either destination may be nil to skip it; accX and accS
// add to dx and ds instead of overwriting them.
func ChannelScaleBackward(dx, ds *Tensor, accX, accS bool, dy, x, s *Tensor) {
	hw := x.H * x.W
	for cn := 0; cn < x.C*x.N; cn++ {
		g := dy.Data[cn*hw : (cn+1)*hw]
		if ds != nil {
			var sum float64
			for i, v := range x.Data[cn*hw : (cn+1)*hw] {
				sum += float64(g[i]) * float64(v)
			}
			if accS {
				ds.Data[cn] += float32(sum)
			} else {
				ds.Data[cn] = float32(sum)
			}
		}
		if dx != nil {
			f := s.Data[cn]
			d := dx.Data[cn*hw : (cn+1)*hw]
			if accX {
				for i, v := range g {
					d[i] += v * f
				}
			} else {
				for i, v := range g {
					d[i] = v * f
				}
			}
		}
	}
}
