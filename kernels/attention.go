package kernels

import "math"

// MHSA is multi-head self-attention over the H·W positions of each image, as FastViT's
// attention (the token mixer of the attention block in the code of Addad et al.): a
// bias-free linear map of the C features of every position to queries, keys and values
// (3C, each split into C/headDim heads), softmax(q·kᵀ/√headDim)·v per head, and a linear
// projection with bias back to C.
type MHSA struct {
	C, HeadDim int
}

// heads returns the number of heads.
func (m MHSA) heads() int { return m.C / m.HeadDim }

// mhsaState is the per-image intermediate state, recomputed by the backward pass.
type mhsaState struct {
	x, qkv, p, o []float64 // T×C, T×3C, heads×T×T, T×C
}

func (m MHSA) forwardImage(st *mhsaState, x *Tensor, n int, wqkv []float32) {
	C, T, heads, d := m.C, x.H*x.W, m.heads(), m.HeadDim
	st.x = growF64(st.x, T*C)
	st.qkv = growF64(st.qkv, T*3*C)
	st.p = growF64(st.p, heads*T*T)
	st.o = growF64(st.o, T*C)
	for c := 0; c < C; c++ {
		src := x.Data[(c*x.N+n)*T : (c*x.N+n+1)*T]
		for t, v := range src {
			st.x[t*C+c] = float64(v)
		}
	}
	for t := 0; t < T; t++ {
		xt := st.x[t*C : (t+1)*C]
		for j := 0; j < 3*C; j++ {
			w := wqkv[j*C : (j+1)*C]
			var s float64
			for c, v := range xt {
				s += v * float64(w[c])
			}
			st.qkv[t*3*C+j] = s
		}
	}
	scale := 1 / math.Sqrt(float64(d))
	for h := 0; h < heads; h++ {
		p := st.p[h*T*T : (h+1)*T*T]
		for t := 0; t < T; t++ {
			q := st.qkv[t*3*C+h*d : t*3*C+h*d+d]
			row := p[t*T : (t+1)*T]
			best := math.Inf(-1)
			for u := 0; u < T; u++ {
				k := st.qkv[u*3*C+C+h*d : u*3*C+C+h*d+d]
				var s float64
				for e := range q {
					s += q[e] * k[e]
				}
				row[u] = s * scale
				best = math.Max(best, row[u])
			}
			var sum float64
			for u := range row {
				row[u] = math.Exp(row[u] - best)
				sum += row[u]
			}
			for u := range row {
				row[u] /= sum
			}
			o := st.o[t*C+h*d : t*C+h*d+d]
			clear(o)
			for u, pu := range row {
				v := st.qkv[u*3*C+2*C+h*d : u*3*C+2*C+h*d+d]
				for e := range o {
					o[e] += pu * v[e]
				}
			}
		}
	}
}

// Forward writes y = MHSA(x) for every image; wqkv is 3C×C (queries, keys, values, each
// head's features contiguous), wproj C×C and bproj C.
func (m MHSA) Forward(y, x *Tensor, wqkv, wproj, bproj []float32) {
	C, T := m.C, x.H*x.W
	var st mhsaState
	for n := 0; n < x.N; n++ {
		m.forwardImage(&st, x, n, wqkv)
		for c := 0; c < C; c++ {
			w := wproj[c*C : (c+1)*C]
			dst := y.Data[(c*y.N+n)*T : (c*y.N+n+1)*T]
			for t := range dst {
				s := float64(bproj[c])
				o := st.o[t*C : (t+1)*C]
				for j, v := range o {
					s += v * float64(w[j])
				}
				dst[t] = float32(s)
			}
		}
	}
}

// Backward adds the parameter gradients of y = MHSA(x) given dy to dwqkv, dwproj and dbproj,
// and writes (or with accumulate adds) the input gradient to dx unless it is nil.
func (m MHSA) Backward(dx, dy, x *Tensor, wqkv, wproj, dwqkv, dwproj, dbproj []float32, accumulate bool) {
	C, T, heads, d := m.C, x.H*x.W, m.heads(), m.HeadDim
	scale := 1 / math.Sqrt(float64(d))
	var st mhsaState
	dY := make([]float64, T*C)
	dO := make([]float64, T*C)
	dQKV := make([]float64, T*3*C)
	dP := make([]float64, T)
	for n := 0; n < x.N; n++ {
		m.forwardImage(&st, x, n, wqkv)
		for c := 0; c < C; c++ {
			src := dy.Data[(c*dy.N+n)*T : (c*dy.N+n+1)*T]
			var db float64
			for t, v := range src {
				dY[t*C+c] = float64(v)
				db += float64(v)
			}
			dbproj[c] += float32(db)
		}
		// Projection.
		clear(dO)
		for c := 0; c < C; c++ {
			w := wproj[c*C : (c+1)*C]
			dw := dwproj[c*C : (c+1)*C]
			for j := 0; j < C; j++ {
				var s float64
				for t := 0; t < T; t++ {
					g := dY[t*C+c]
					s += g * st.o[t*C+j]
					dO[t*C+j] += g * float64(w[j])
				}
				dw[j] += float32(s)
			}
		}
		// Attention, per head.
		clear(dQKV)
		for h := 0; h < heads; h++ {
			p := st.p[h*T*T : (h+1)*T*T]
			for t := 0; t < T; t++ {
				do := dO[t*C+h*d : t*C+h*d+d]
				row := p[t*T : (t+1)*T]
				var dot float64
				for u := 0; u < T; u++ {
					v := st.qkv[u*3*C+2*C+h*d : u*3*C+2*C+h*d+d]
					dv := dQKV[u*3*C+2*C+h*d : u*3*C+2*C+h*d+d]
					var s float64
					for e := range do {
						s += do[e] * v[e]
						dv[e] += row[u] * do[e]
					}
					dP[u] = s
					dot += row[u] * s
				}
				q := st.qkv[t*3*C+h*d : t*3*C+h*d+d]
				dq := dQKV[t*3*C+h*d : t*3*C+h*d+d]
				for u := 0; u < T; u++ {
					ds := row[u] * (dP[u] - dot) * scale
					k := st.qkv[u*3*C+C+h*d : u*3*C+C+h*d+d]
					dk := dQKV[u*3*C+C+h*d : u*3*C+C+h*d+d]
					for e := range q {
						dq[e] += ds * k[e]
						dk[e] += ds * q[e]
					}
				}
			}
		}
		// Queries, keys and values.
		for j := 0; j < 3*C; j++ {
			dw := dwqkv[j*C : (j+1)*C]
			for c := 0; c < C; c++ {
				var s float64
				for t := 0; t < T; t++ {
					s += dQKV[t*3*C+j] * st.x[t*C+c]
				}
				dw[c] += float32(s)
			}
		}
		if dx == nil {
			continue
		}
		for c := 0; c < C; c++ {
			dst := dx.Data[(c*dx.N+n)*T : (c*dx.N+n+1)*T]
			for t := range dst {
				var s float64
				for j := 0; j < 3*C; j++ {
					s += dQKV[t*3*C+j] * float64(wqkv[j*C+c])
				}
				if accumulate {
					dst[t] += float32(s)
				} else {
					dst[t] = float32(s)
				}
			}
		}
	}
}

// LayerScale writes y = x·γ[c], one learnt factor per channel.
func LayerScale(y, x *Tensor, gamma []float32) {
	hw := x.H * x.W
	for c := 0; c < x.C; c++ {
		g := gamma[c]
		src, dst := x.Data[c*x.N*hw:(c+1)*x.N*hw], y.Data[c*x.N*hw:(c+1)*x.N*hw]
		for i, v := range src {
			dst[i] = v * g
		}
	}
}

// LayerScaleBackward adds Σ dy·x per channel to dgamma and writes (or with accumulate adds)
// dx = dy·γ unless dx is nil.
func LayerScaleBackward(dx, dy, x *Tensor, gamma, dgamma []float32, accumulate bool) {
	hw := x.H * x.W
	for c := 0; c < x.C; c++ {
		g := dy.Data[c*x.N*hw : (c+1)*x.N*hw]
		var s float64
		for i, v := range x.Data[c*x.N*hw : (c+1)*x.N*hw] {
			s += float64(g[i]) * float64(v)
		}
		dgamma[c] += float32(s)
		if dx == nil {
			continue
		}
		d := dx.Data[c*x.N*hw : (c+1)*x.N*hw]
		for i, v := range g {
			if accumulate {
				d[i] += v * gamma[c]
			} else {
				d[i] = v * gamma[c]
			}
		}
	}
}

func growF64(x []float64, n int) []float64 {
	if cap(x) < n {
		return make([]float64, n)
	}
	return x[:n]
}
