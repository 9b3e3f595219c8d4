package kernels

import (
	"fmt"
	"math"
)

// Activation is an elementwise function fused into batch normalisation.
type Activation int

// Activations fusable into BatchNormTrain and BatchNormInference.
const (
	ActNone Activation = iota // identity
	ActReLU                   // max(0, z)
	ActGELU                   // z*Phi(z), exact erf form
)

// String returns the activation's name.
func (a Activation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActReLU:
		return "relu"
	case ActGELU:
		return "gelu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

func (a Activation) apply(z float32) float32 {
	switch a {
	case ActReLU:
		return max(z, 0)
	case ActGELU:
		return gelu(z)
	}
	return z
}

// grad returns d act(z)/dz.
func (a Activation) grad(z float32) float32 {
	switch a {
	case ActReLU:
		if z > 0 {
			return 1
		}
		return 0
	case ActGELU:
		return geluGrad(z)
	}
	return 1
}

// BatchNorm holds a batch-norm layer's parameters and buffers, one value
// per channel, with PyTorch's defaults for Momentum (0.1) and Eps (1e-5)
// set by NewBatchNorm.
type BatchNorm struct {
	Gamma, Beta     []float32
	RunMean, RunVar []float32
	Momentum, Eps   float32
}

// NewBatchNorm returns a batch norm over c channels initialised as
// PyTorch's BatchNorm2d: gamma 1, beta 0, running mean 0, running var 1.
func NewBatchNorm(c int) *BatchNorm {
	bn := &BatchNorm{
		Gamma: make([]float32, c), Beta: make([]float32, c),
		RunMean: make([]float32, c), RunVar: make([]float32, c),
		Momentum: 0.1, Eps: 1e-5,
	}
	for i := range c {
		bn.Gamma[i], bn.RunVar[i] = 1, 1
	}
	return bn
}

func (bn *BatchNorm) check(op string, x, y *Tensor) {
	mustSameShape(op, x, y)
	c := x.C
	if len(bn.Gamma) != c || len(bn.Beta) != c || len(bn.RunMean) != c || len(bn.RunVar) != c {
		panic(fmt.Sprintf("kernels: %s: batch norm has %d channels, tensor %v", op, len(bn.Gamma), x.String()))
	}
}

// Train computes y = act(gamma*(x-mean)/sqrt(var+eps) + beta) with the
// batch's mean and biased variance per channel, stores the mean and
// 1/sqrt(var+eps) in saveMean and saveInvStd (for Backward), and updates the
// running statistics (the running variance with the unbiased estimate).
// y may not alias x. It is Partial, CombineStats and Normalize on a batch
// of one chunk, with the same bits.
func (bn *BatchNorm) Train(y, x *Tensor, saveMean, saveInvStd []float32, act Activation) {
	bn.check("BatchNorm.Train", x, y)
	if len(saveMean) != x.C || len(saveInvStd) != x.C {
		panic("kernels: BatchNorm.Train: saveMean and saveInvStd need one value per channel")
	}
	// The chunk's mean and squared deviations go straight into the outputs.
	bn.Partial(x, saveMean, saveInvStd)
	images := [1]int{x.N}
	bn.CombineStats(saveMean, saveInvStd, saveMean, saveInvStd, images[:], x.H*x.W)
	bn.Normalize(y, x, saveMean, saveInvStd, act)
}

// Partial computes, for one chunk x of a batch, each channel's mean and
// sum of squared deviations from that mean (into mean and m2, one value per
// channel): the statistics CombineStats combines. Chunks run through a
// network independently, so a batch's statistics are the only values its
// chunks must exchange; a chunk's mean and deviations (rather than sums of
// x and x²) keep the variance accurate.
func (bn *BatchNorm) Partial(x *Tensor, mean, m2 []float32) {
	checkLen("BatchNorm.Partial", x)
	if len(bn.Gamma) != x.C || len(mean) < x.C || len(m2) < x.C {
		panic(fmt.Sprintf("kernels: BatchNorm.Partial: %d channels, tensor %v, %d means, %d deviations", len(bn.Gamma), x.String(), len(mean), len(m2)))
	}
	parallel(&bnPartialTasks, x.C, bnPartialTask{*x, mean, m2})
}

// bnPartialTask is Partial's work on channel c.
type bnPartialTask struct {
	x        Tensor
	mean, m2 []float32
}

var bnPartialTasks taskPool[bnPartialTask]

func (t *bnPartialTask) Run(_, c int) {
	xs := t.x.Channel(c)
	// float32 sums over many independent partial sums (vector lanes
	// times unrolling) keep the error far below the tests' 1e-4.
	mean := sum32(xs) / float32(len(xs))
	t.mean[c], t.m2[c] = mean, sumSqDev32(xs, mean)
}

// CombineStats combines the Partial statistics of the chunks of a batch,
// in chunk order: chunk j's means and deviations are
// means[j*C:(j+1)*C] and m2s[j*C:(j+1)*C] (C channels), and it holds
// images[j] images of plane values each. It stores the batch mean and
// 1/sqrt(var+eps) (biased variance) in saveMean and saveInvStd and updates
// the running statistics (the running variance with the unbiased
// estimate). saveMean and saveInvStd may be means and m2s (one chunk).
//
// The deviations are combined about the float32 batch mean, as a single
// pass over the batch computes them, so that a batch of one chunk gets the
// bits Train always gave; the order of the chunks is fixed, so the result
// does not depend on which goroutine computed which chunk.
func (bn *BatchNorm) CombineStats(saveMean, saveInvStd, means, m2s []float32, images []int, plane int) {
	c := len(bn.Gamma)
	if len(saveMean) < c || len(saveInvStd) < c || len(means) < c*len(images) || len(m2s) < c*len(images) {
		panic("kernels: BatchNorm.CombineStats: need one value per channel and chunk")
	}
	total := 0
	for _, n := range images {
		total += n * plane
	}
	mom := float64(bn.Momentum)
	for ch := range c {
		var s float64
		for j, n := range images {
			s += float64(n*plane) * float64(means[j*c+ch])
		}
		mean := float32(s / float64(total))
		var ss float64
		for j, n := range images {
			d := float64(means[j*c+ch]) - float64(mean)
			ss += float64(m2s[j*c+ch]) + float64(n*plane)*d*d
		}
		variance := ss / float64(total)
		invStd := float32(1 / math.Sqrt(variance+float64(bn.Eps)))
		saveMean[ch], saveInvStd[ch] = mean, invStd
		unbiased := variance
		if total > 1 {
			unbiased = ss / float64(total-1)
		}
		bn.RunMean[ch] = float32((1-mom)*float64(bn.RunMean[ch]) + mom*float64(mean))
		bn.RunVar[ch] = float32((1-mom)*float64(bn.RunVar[ch]) + mom*unbiased)
	}
}

// Normalize computes Train's output y = act(gamma*(x-mean)*invStd + beta)
// for one chunk x of the batch, from the batch statistics CombineStats
// stored in mean and invStd. y may not alias x.
func (bn *BatchNorm) Normalize(y, x *Tensor, mean, invStd []float32, act Activation) {
	bn.check("BatchNorm.Normalize", x, y)
	if len(mean) != x.C || len(invStd) != x.C {
		panic("kernels: BatchNorm.Normalize: mean and invStd need one value per channel")
	}
	parallel(&bnNormalizeTasks, x.C, bnNormalizeTask{bn, *y, *x, mean, invStd, act})
}

// bnNormalizeTask is Normalize's work on channel c.
type bnNormalizeTask struct {
	bn           *BatchNorm
	y, x         Tensor
	mean, invStd []float32
	act          Activation
}

var bnNormalizeTasks taskPool[bnNormalizeTask]

func (t *bnNormalizeTask) Run(_, c int) {
	a, b := bnAffine(t.bn.Gamma[c], t.bn.Beta[c], t.mean[c], t.invStd[c])
	scaleShift(t.y.Channel(c), t.x.Channel(c), a, b, t.act)
}

// bnAffine returns the scale and shift Train applies, z = a*x + b. Backward
// calls it too so that it evaluates the activation's derivative at the very
// z the forward pass produced.
func bnAffine(gamma, beta, mean, invStd float32) (a, b float32) {
	a = gamma * invStd
	return a, beta - a*mean
}

// sum32 returns the float32 sum of s.
func sum32(s []float32) float32 {
	t, n := sumVec(s)
	return t + sum(s[n:])
}

// sumSqDev32 returns the float32 sum of (v-mean)^2 over s.
func sumSqDev32(s []float32, mean float32) float32 {
	t, n := sumSqDevVec(s, mean)
	var a0, a1, a2, a3 float32
	s = s[n:]
	i := 0
	for ; i+4 <= len(s); i += 4 {
		d0, d1, d2, d3 := s[i]-mean, s[i+1]-mean, s[i+2]-mean, s[i+3]-mean
		a0 += d0 * d0
		a1 += d1 * d1
		a2 += d2 * d2
		a3 += d3 * d3
	}
	for ; i < len(s); i++ {
		d := s[i] - mean
		a0 += d * d
	}
	return t + ((a0 + a1) + (a2 + a3))
}

// scaleShift writes act(a*x + b). A SIMD path computes a*x+b fused for
// every element, the portable path unfused for every element, except under
// GELU, whose SIMD path computes a*x+b and gelu with the scalar code's
// unfused operations (the same bits on every path); Backward recomputes it
// the same way, and results do not depend on the length.
func scaleShift(dst, src []float32, a, b float32, act Activation) {
	dst = dst[:len(src)]
	var n int
	if act == ActGELU {
		n = scaleShiftGELUVec(dst, src, a, b)
	} else {
		n = scaleShiftVec(dst, src, a, b, act == ActReLU)
	}
	dst, src = dst[n:], src[n:]
	switch act {
	case ActNone:
		for i, v := range src {
			dst[i] = a*v + b
		}
	case ActReLU:
		for i, v := range src {
			dst[i] = max(a*v+b, 0)
		}
	default:
		for i, v := range src {
			dst[i] = act.apply(float32(a*v) + b)
		}
	}
}

// Inference computes y = act(gamma*(x-runMean)/sqrt(runVar+eps) + beta). y
// may alias x.
func (bn *BatchNorm) Inference(y, x *Tensor, act Activation) {
	bn.check("BatchNorm.Inference", x, y)
	parallel(&bnInferenceTasks, x.C, bnInferenceTask{bn, *y, *x, act})
}

// bnInferenceTask is Inference's work on channel c.
type bnInferenceTask struct {
	bn   *BatchNorm
	y, x Tensor
	act  Activation
}

var bnInferenceTasks taskPool[bnInferenceTask]

func (t *bnInferenceTask) Run(_, c int) {
	a, b := t.bn.inferenceAffine(c)
	scaleShift(t.y.Channel(c), t.x.Channel(c), a, b, t.act)
}

// inferenceAffine returns the scale and shift Inference applies to channel
// c, z = a*x + b.
func (bn *BatchNorm) inferenceAffine(c int) (a, b float32) {
	a = bn.Gamma[c] / float32(math.Sqrt(float64(bn.RunVar[c])+float64(bn.Eps)))
	return a, bn.Beta[c] - a*bn.RunMean[c]
}

// Backward computes the gradients of Train(y, x, saveMean, saveInvStd, act)
// from dy: dx (added if accumulate, else overwritten) and dgamma, dbeta
// (added). It recomputes the pre-activation from x, so the forward output
// need not be kept. dx may alias dy. It is BackwardPartial,
// CombineBackward and BackwardApply on a batch of one chunk, with the same
// bits.
func (bn *BatchNorm) Backward(dx, dy, x *Tensor, saveMean, saveInvStd, dgamma, dbeta []float32, act Activation, accumulate bool) {
	mustSameShape("BatchNorm.Backward", x, dx)
	if len(dgamma) != x.C || len(dbeta) != x.C {
		panic("kernels: BatchNorm.Backward: dgamma and dbeta need one value per channel")
	}
	sums := getBuf(2 * x.C)
	defer putBuf(sums)
	sdz, sdzx := (*sums)[:x.C], (*sums)[x.C:]
	bn.BackwardPartial(dy, x, saveMean, saveInvStd, act, sdz, sdzx)
	CombineBackward(sdz, sdzx, sdz, sdzx, saveInvStd, dgamma, dbeta, 1)
	bn.BackwardApply(dx, dy, x, saveMean, saveInvStd, sdz, sdzx, x.N*x.H*x.W, act, accumulate)
}

// BackwardPartial computes, for one chunk of the batch, the per-channel
// sums of dz and dz*(x-mean) (into sdz and sdzx), where dz is dy through
// the activation: the values the chunks of a batch exchange in Backward.
// mean and invStd are the batch statistics of the forward pass.
func (bn *BatchNorm) BackwardPartial(dy, x *Tensor, mean, invStd []float32, act Activation, sdz, sdzx []float32) {
	bn.check("BatchNorm.BackwardPartial", x, dy)
	if len(mean) != x.C || len(invStd) != x.C || len(sdz) < x.C || len(sdzx) < x.C {
		panic("kernels: BatchNorm.BackwardPartial: need one value per channel")
	}
	parallel(&bnBackwardPartialTasks, x.C, bnBackwardPartialTask{bn, *dy, *x, mean, invStd, sdz, sdzx, act})
}

// bnBackwardPartialTask is BackwardPartial's work on channel c.
type bnBackwardPartialTask struct {
	bn                      *BatchNorm
	dy, x                   Tensor
	mean, invStd, sdz, sdzx []float32
	act                     Activation
}

var bnBackwardPartialTasks taskPool[bnBackwardPartialTask]

func (t *bnBackwardPartialTask) Run(_, c int) {
	act := t.act
	xs, gs := t.x.Channel(c), t.dy.Channel(c)
	gs = gs[:len(xs)]
	mean := t.mean[c]
	// The pre-activation is recomputed exactly as Train computed it (same
	// a, b, same fused or unfused rounding per element), so that the
	// activation's derivative is taken where the forward pass evaluated
	// it (a differently rounded z can flip ReLU's mask for an element at
	// the mean).
	a, b := bnAffine(t.bn.Gamma[c], t.bn.Beta[c], mean, t.invStd[c])
	relu := act == ActReLU
	var sdz, sdzx float32
	var n int
	if act == ActGELU {
		sdz, sdzx, n = bnReduceGELUVec(xs, gs, a, b, mean)
	} else {
		sdz, sdzx, n = bnReduceVec(xs, gs, a, b, mean, relu)
	}
	var tdz, tdzx float32
	for i, v := range xs[n:] {
		dz := gs[n+i]
		if relu {
			if a*v+b <= 0 {
				dz = 0
			}
		} else if act != ActNone {
			dz *= act.grad(float32(a*v) + b)
		}
		tdz += dz
		tdzx += dz * (v - mean)
	}
	t.sdz[c], t.sdzx[c] = sdz+tdz, sdzx+tdzx
}

// CombineBackward sums the BackwardPartial results of the chunks of a
// batch in chunk order (chunk j's C values at [j*C, (j+1)*C) of sdzs and
// sdzxs) into sdz and sdzx, which BackwardApply reads (the latter scaled by
// invStd, which makes it dgamma), and adds them to dgamma and dbeta. sdz and
// sdzx may be sdzs and sdzxs.
func CombineBackward(sdz, sdzx, sdzs, sdzxs, invStd, dgamma, dbeta []float32, chunks int) {
	c := len(invStd)
	if len(sdz) < c || len(sdzx) < c || len(sdzs) < c*chunks || len(sdzxs) < c*chunks || len(dgamma) != c || len(dbeta) != c {
		panic("kernels: CombineBackward: need one value per channel and chunk")
	}
	for ch := range c {
		var s, sx float64
		for j := range chunks {
			s += float64(sdzs[j*c+ch])
			sx += float64(sdzxs[j*c+ch])
		}
		sdz[ch], sdzx[ch] = float32(s), float32(sx)*invStd[ch]
		dgamma[ch] += sdzx[ch]
		dbeta[ch] += sdz[ch]
	}
}

// BackwardApply computes dx for one chunk of the batch (added if
// accumulate, else overwritten) from the batch's sums CombineBackward
// stored in sdz and sdzx; count is the batch's values per channel
// (images × H × W). dx may alias dy.
func (bn *BatchNorm) BackwardApply(dx, dy, x *Tensor, mean, invStd, sdz, sdzx []float32, count int, act Activation, accumulate bool) {
	bn.check("BatchNorm.BackwardApply", x, dy)
	mustSameShape("BatchNorm.BackwardApply", x, dx)
	if len(mean) != x.C || len(invStd) != x.C || len(sdz) < x.C || len(sdzx) < x.C {
		panic("kernels: BatchNorm.BackwardApply: need one value per channel")
	}
	parallel(&bnBackwardApplyTasks, x.C, bnBackwardApplyTask{bn, *dx, *dy, *x, mean, invStd, sdz, sdzx, float32(count), act, accumulate})
}

// bnBackwardApplyTask is BackwardApply's work on channel c.
type bnBackwardApplyTask struct {
	bn                      *BatchNorm
	dx, dy, x               Tensor
	mean, invStd, sdz, sdzx []float32
	m                       float32
	act                     Activation
	accumulate              bool
}

var bnBackwardApplyTasks taskPool[bnBackwardApplyTask]

func (t *bnBackwardApplyTask) Run(_, c int) {
	act, accumulate, m := t.act, t.accumulate, t.m
	xs, gs, ds := t.x.Channel(c), t.dy.Channel(c), t.dx.Channel(c)
	gs = gs[:len(xs)]
	ds = ds[:len(xs)]
	mean, invStd, gamma := t.mean[c], t.invStd[c], t.bn.Gamma[c]
	a, b := bnAffine(gamma, t.bn.Beta[c], mean, invStd)
	relu := act == ActReLU
	sdz, sdzx := t.sdz[c], t.sdzx[c]
	// dx = k*(dz - mean(dz) - xhat*mean(dz*xhat)) = k*dz + p*(x-mean) + q.
	k := gamma * invStd
	p, q := -k*invStd*(sdzx/m), -k*(sdz/m)
	var n int
	if act == ActGELU {
		n = bnApplyGELUVec(ds, xs, gs, a, b, mean, k, p, q, accumulate)
	} else {
		n = bnApplyVec(ds, xs, gs, a, b, mean, k, p, q, relu, accumulate)
	}
	for i, v := range xs[n:] {
		i += n
		dz := gs[i]
		if relu {
			if a*v+b <= 0 {
				dz = 0
			}
		} else if act != ActNone {
			dz *= act.grad(float32(a*v) + b)
		}
		g := k*dz + (p*(v-mean) + q)
		if accumulate {
			ds[i] += g
		} else {
			ds[i] = g
		}
	}
}

// Fold folds the running statistics into the preceding convolution for
// inference: w ([outC][...], outC = len(bn.Gamma)) is scaled in place and
// the returned bias replaces the convolution's bias (nil meaning zero).
func (bn *BatchNorm) Fold(w, bias []float32) []float32 {
	c := len(bn.Gamma)
	if len(w)%c != 0 || (bias != nil && len(bias) != c) {
		panic(fmt.Sprintf("kernels: BatchNorm.Fold: %d weights, %d biases for %d channels", len(w), len(bias), c))
	}
	per := len(w) / c
	out := make([]float32, c)
	for i := range c {
		a := float64(bn.Gamma[i]) / math.Sqrt(float64(bn.RunVar[i])+float64(bn.Eps))
		for j := range per {
			w[i*per+j] = float32(float64(w[i*per+j]) * a)
		}
		var b float64
		if bias != nil {
			b = float64(bias[i])
		}
		out[i] = float32((b-float64(bn.RunMean[i]))*a + float64(bn.Beta[i]))
	}
	return out
}

// ReLU writes y = max(x, 0); y may alias x.
func ReLU(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// ReLUBackward writes dx = dy where y > 0, else 0, from ReLU's output y; dx
// may alias dy.
func ReLUBackward(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// GELU writes y = x*Phi(x) = 0.5*x*(1+erf(x/sqrt 2)); y may alias x.
func GELU(y, x []float32) {
	y = y[:len(x)]
	n := geluVec(y, x)
	for i, v := range x[n:] {
		y[n+i] = gelu(v)
	}
}

// GELUBackward writes dx = dy * GELU'(x); dx may alias dy.
func GELUBackward(dx, dy, x []float32) {
	dx, dy = dx[:len(x)], dy[:len(x)]
	n := geluBackwardVec(dx, dy, x)
	for i, v := range x[n:] {
		dx[n+i] = dy[n+i] * geluGrad(v)
	}
}

func gelu(x float32) float32 {
	return float32(0.5*x) * (1 + erf32(float32(x*math.Sqrt2)/2))
}

// gelu, erf32, geluGrad and exp32 round every product to float32
// (float32(x*y) forbids the compiler to fuse it with an addition, which
// it would under GOAMD64=v3 or on arm64), so that they return the same bits
// everywhere, and those of their SIMD versions (gen_simd.go).

// erf32 is erf in float32 arithmetic: x*P(x^2)/Q(x^2) on x clamped to [-4, 4]
// (outside it erf rounds to ±1), the rational approximation of Eigen and
// XLA, within 5e-7 of erf (checked against math.Erf by the tests). Ten
// times as fast as math.Erf, which made GELU networks spend two thirds of
// inference in it.
func erf32(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := float32(x2*-2.72614225801306e-10) + 2.77068142495902e-08
	p = float32(x2*p) - 2.10102402082508e-06
	p = float32(x2*p) - 5.69250639462346e-05
	p = float32(x2*p) - 7.34990630326855e-04
	p = float32(x2*p) - 2.95459980854025e-03
	p = float32(x2*p) - 1.60960333262415e-02
	q := float32(x2*-1.45660718464996e-05) - 2.13374055278905e-04
	q = float32(x2*q) - 1.68282697438203e-03
	q = float32(x2*q) - 7.37332916720468e-03
	q = float32(x2*q) - 1.42647390514189e-02
	return float32(x*p) / q
}

func geluGrad(x float32) float32 {
	const invSqrt2Pi = 0.3989422804014327
	return 0.5*(1+erf32(float32(x*math.Sqrt2)/2)) + float32(float32(x*invSqrt2Pi)*exp32(float32(-0.5*x)*x))
}

// exp32 is e^x in float32 arithmetic for x <= 0 (what geluGrad needs): the
// Cephes expf reduction x = n*ln2 + r, a degree-7 polynomial in r, scaled by
// 2^n; within 2 ulp of math.Exp (checked by the tests).
func exp32(x float32) float32 {
	if x < -87 {
		return 0
	}
	n := float32(math.Floor(float64(float32(x*math.Log2E) + 0.5)))
	r := x - float32(n*0.693359375) + float32(n*2.12194440e-4)
	p := float32(r*1.9875691500e-4) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	y := float32(float32(p*r)*r) + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}
