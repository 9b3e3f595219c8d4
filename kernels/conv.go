package kernels

import (
	"fmt"

	"github.com/msdx/msdx/kernels/internal/gemm"
)

// ConvSpec describes a 2-D convolution with PyTorch's semantics
// (cross-correlation, Hout = (H + 2*PadH - KH)/StrideH + 1). Zero strides
// and a zero group count mean 1.
type ConvSpec struct {
	InC, OutC        int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	Groups           int
}

func (s ConvSpec) norm() ConvSpec {
	s.StrideH, s.StrideW, s.Groups = max(s.StrideH, 1), max(s.StrideW, 1), max(s.Groups, 1)
	if s.InC <= 0 || s.OutC <= 0 || s.KH <= 0 || s.KW <= 0 || s.PadH < 0 || s.PadW < 0 ||
		s.InC%s.Groups != 0 || s.OutC%s.Groups != 0 {
		panic(fmt.Sprintf("kernels: invalid conv spec %+v", s))
	}
	return s
}

// OutSize returns the output height and width for an h x w input.
func (s ConvSpec) OutSize(h, w int) (int, int) {
	s = s.norm()
	return (h+2*s.PadH-s.KH)/s.StrideH + 1, (w+2*s.PadW-s.KW)/s.StrideW + 1
}

// WeightLen returns the number of weights, OutC*(InC/Groups)*KH*KW.
func (s ConvSpec) WeightLen() int {
	s = s.norm()
	return s.OutC * (s.InC / s.Groups) * s.KH * s.KW
}

// MACs returns the multiply-accumulates of a forward pass over n images of
// h x w.
func (s ConvSpec) MACs(n, h, w int) int {
	ho, wo := s.OutSize(h, w)
	return n * ho * wo * s.WeightLen()
}

func (s ConvSpec) check(op string, x, y *Tensor, w []float32) ConvSpec {
	s = s.norm()
	checkLen(op, x)
	checkLen(op, y)
	ho, wo := s.OutSize(x.H, x.W)
	if x.C != s.InC || y.C != s.OutC || y.N != x.N || y.H != ho || y.W != wo || ho <= 0 || wo <= 0 {
		panic(fmt.Sprintf("kernels: %s: input %v, output %v do not fit %+v", op, x.String(), y.String(), s))
	}
	if len(w) != s.WeightLen() {
		panic(fmt.Sprintf("kernels: %s: len(w)=%d, want %d", op, len(w), s.WeightLen()))
	}
	return s
}

func (s ConvSpec) isPointwise() bool {
	return s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadH == 0 && s.PadW == 0
}

// colBudget bounds an im2col chunk (floats): large enough to keep the GEMM
// long, small enough to stay near the caches. Tests lower it to exercise
// chunking.
var colBudget = 1 << 16

// dotBlock is the length of the l-blocks dotAcc works on: long enough to
// amortise the final reduction of the accumulators, short enough that a's
// block of rows stays in L2.
const dotBlock = 2048

// weightGradSlots is the number of partial weight gradients the im2col
// path of Conv2DBackwardWeight sums, in a fixed order, whatever the number
// of threads; it bounds that path's parallelism.
const weightGradSlots = 8

// minChunkCols is the fewest columns an im2col chunk holds when the batch
// has enough images. Tests lower it with colBudget.
var minChunkCols = 512

// imagesPerChunk returns how many images one im2col chunk holds.
func (s ConvSpec) imagesPerChunk(n, ho, wo int) int {
	k := s.InC / s.Groups * s.KH * s.KW
	plane := ho * wo
	// At least minChunkCols columns, or the GEMM repacks the weights for
	// every few columns (a deep layer's single 8x8 image is 64 columns).
	return min(n, max(1, colBudget/(k*plane), (minChunkCols+plane-1)/plane))
}

// Conv2D computes y = conv(x, w) + bias. w is [OutC][InC/Groups][KH][KW];
// bias (length OutC) may be nil. y is overwritten.
func Conv2D(y, x *Tensor, w, bias []float32, spec ConvSpec) {
	s := spec.check("Conv2D", x, y, w)
	if bias != nil && len(bias) != s.OutC {
		panic(fmt.Sprintf("kernels: Conv2D: len(bias)=%d, want %d", len(bias), s.OutC))
	}
	convForward(y, x, w, s, false, epilogue{}, nil)
	addBias(y, bias)
}

// addBias adds bias[c] to channel c of y; nil adds nothing.
func addBias(y *Tensor, bias []float32) {
	if bias != nil {
		for c, b := range bias {
			row := y.Channel(c)
			for i := range row {
				row[i] += b
			}
		}
	}
}

// Conv2DBatchNorm computes y = act(bn(conv(x, w))) with bn in evaluation
// mode (running statistics): a convolution without bias followed by
// BatchNorm.Inference, equal to the two calls bit for bit. The batch norm
// and the activation are applied to each im2col chunk of the output right
// after its GEMM, while it is in cache, so the convolution's output is
// written once instead of written, read and written again. y may not alias
// x.
func Conv2DBatchNorm(y, x *Tensor, w []float32, spec ConvSpec, bn *BatchNorm, act Activation) {
	s := spec.check("Conv2DBatchNorm", x, y, w)
	bn.check("Conv2DBatchNorm", y, y)
	convForward(y, x, w, s, false, epilogue{bn, act}, nil)
}

// epilogue is the evaluation-mode batch norm and activation that
// Conv2DBatchNorm applies to the convolution's output; a nil bn means none.
// It travels by value (inside the tasks): a pointer would escape with them.
type epilogue struct {
	bn  *BatchNorm
	act Activation
}

// apply transforms channel c's values in row in place as
// BatchNorm.Inference would.
func (e epilogue) apply(row []float32, c int) {
	a, b := e.bn.inferenceAffine(c)
	scaleShift(row, row, a, b, e.act)
}

// convForward computes y = conv(x, w), or y += conv(x, w) if accumulate,
// for a checked, normalised spec, then applies epi (if epi.bn is not nil;
// not with accumulate). packed, if not nil, holds w packed per group
// (ConvWeights).
func convForward(y, x *Tensor, w []float32, s ConvSpec, accumulate bool, epi epilogue, packed []gemm.PackedA) {
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	plane := y.H * y.W
	cols := y.N * plane
	var beta float32
	if accumulate {
		beta = 1
	}
	switch {
	case cg == 1:
		if accumulate {
			tmp := getBuf(len(y.Data))
			defer putBuf(tmp)
			t := &Tensor{C: y.C, N: y.N, H: y.H, W: y.W, Data: *tmp}
			convDirect(t, x, w, s, epilogue{})
			AddTo(y.Data, t.Data)
			return
		}
		convDirect(y, x, w, s, epi)
	case s.isPointwise():
		for g := range s.Groups {
			if packed != nil {
				gemm.SgemmPacked(&packed[g], false, cols, x.Data[g*cg*cols:], cols, beta, y.Data[g*og*cols:], cols)
				continue
			}
			gemm.Sgemm(false, false, og, cols, cg, 1, w[g*og*k:], k, x.Data[g*cg*cols:], cols, beta, y.Data[g*og*cols:], cols, kernelThreads())
		}
		if epi.bn != nil {
			parallel(&epilogueTasks, s.OutC, epilogueTask{*y, epi})
		}
	default:
		nb := s.imagesPerChunk(x.N, y.H, y.W)
		chunks := (x.N + nb - 1) / nb
		parallel(&convChunkTasks, chunks, convChunkTask{*y, *x, w, s, nb, beta, epi, packed})
	}
}

// epilogueTask applies epi to channel c of y.
type epilogueTask struct {
	y   Tensor
	epi epilogue
}

var epilogueTasks taskPool[epilogueTask]

func (t *epilogueTask) Run(_, c int) { t.epi.apply(t.y.Channel(c), c) }

// convChunkTask computes the output columns of the images of im2col chunk
// ci (nb images per chunk). Tasks hold tensor headers by value: a task
// lives in a pool on the heap, and pointers would make tensors built on a
// caller's stack escape.
type convChunkTask struct {
	y, x Tensor
	w    []float32
	s    ConvSpec
	nb   int
	beta float32
	epi  epilogue
	// packed, if not nil, holds w packed per group.
	packed []gemm.PackedA
}

var convChunkTasks taskPool[convChunkTask]

func (t *convChunkTask) Run(_, ci int) {
	y, x, w, s, epi := &t.y, &t.x, t.w, t.s, t.epi
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	plane := y.H * y.W
	cols := y.N * plane
	n0 := ci * t.nb
	n1 := min(x.N, n0+t.nb)
	ccols := (n1 - n0) * plane
	buf := getBuf(k * ccols)
	defer putBuf(buf)
	for g := range s.Groups {
		im2col(*buf, x, g*cg, cg, n0, n1, s, y.H, y.W)
		if t.packed != nil {
			gemm.SgemmPacked(&t.packed[g], false, ccols, *buf, ccols, t.beta, y.Data[g*og*cols+n0*plane:], cols)
		} else {
			gemm.Sgemm(false, false, og, ccols, k, 1, w[g*og*k:], k, *buf, ccols, t.beta, y.Data[g*og*cols+n0*plane:], cols, 1)
		}
		if epi.bn != nil {
			for c := g * og; c < (g+1)*og; c++ {
				epi.apply(y.Data[c*cols+n0*plane:][:ccols], c)
			}
		}
	}
}

// transposedConv returns the spec of the stride-1 convolution whose forward
// pass is the backward-data pass of s: input and output channels swap
// within each group and the kernel turns by 180 degrees
// (transposedWeights), with padding K-1-Pad. ok is false when s has a
// stride or a padding of K or more.
func transposedConv(s ConvSpec) (t ConvSpec, ok bool) {
	if s.StrideH != 1 || s.StrideW != 1 || s.PadH >= s.KH || s.PadW >= s.KW {
		return t, false
	}
	return ConvSpec{InC: s.OutC, OutC: s.InC, KH: s.KH, KW: s.KW, StrideH: 1, StrideW: 1,
		PadH: s.KH - 1 - s.PadH, PadW: s.KW - 1 - s.PadW, Groups: s.Groups}, true
}

// transposedWeights returns the weights of transposedConv(s) in a scratch
// buffer (putBuf it).
func transposedWeights(s ConvSpec, w []float32) *[]float32 {
	cg, og, kk := s.InC/s.Groups, s.OutC/s.Groups, s.KH*s.KW
	wt := getBuf(len(w))
	d := *wt
	for g := range s.Groups {
		for co := range og {
			for ci := range cg {
				src := w[((g*og+co)*cg+ci)*kk:][:kk]
				dst := d[((g*cg+ci)*og+co)*kk:][:kk]
				for i, v := range src {
					dst[kk-1-i] = v
				}
			}
		}
	}
	return wt
}

// Conv2DBackwardData computes the input gradient dx from the output
// gradient dy. With accumulate, dx += grad; otherwise dx is overwritten.
func Conv2DBackwardData(dx, dy *Tensor, w []float32, spec ConvSpec, accumulate bool) {
	s := spec.check("Conv2DBackwardData", dx, dy, w)
	convBackwardData(dx, dy, w, s, accumulate, nil)
}

// convBackwardData is Conv2DBackwardData for a checked, normalised spec;
// packed, if not nil, holds the weights packed per group as
// ConvWeights.PackBackward packs them.
func convBackwardData(dx, dy *Tensor, w []float32, s ConvSpec, accumulate bool, packed []gemm.PackedA) {
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	plane := dy.H * dy.W
	cols := dy.N * plane
	var beta float32
	if accumulate {
		beta = 1
	}
	if s.isPointwise() {
		for g := range s.Groups {
			if packed != nil {
				gemm.SgemmPacked(&packed[g], false, cols, dy.Data[g*og*cols:], cols, beta, dx.Data[g*cg*cols:], cols)
				continue
			}
			gemm.Sgemm(true, false, cg, cols, og, 1, w[g*og*k:], k, dy.Data[g*og*cols:], cols, beta, dx.Data[g*cg*cols:], cols, kernelThreads())
		}
		return
	}
	if cg > 1 {
		if t, ok := transposedConv(s); ok {
			if packed != nil { // the turned weights, packed
				convForward(dx, dy, nil, t, accumulate, epilogue{}, packed)
				return
			}
			wt := transposedWeights(s, w)
			convForward(dx, dy, *wt, t, accumulate, epilogue{}, nil)
			putBuf(wt)
			return
		}
	}
	if cg == 1 {
		if !accumulate {
			clear(dx.Data)
		}
		convDirectBackwardData(dx, dy, w, s)
		return
	}
	nb := s.imagesPerChunk(dx.N, dy.H, dy.W)
	chunks := (dx.N + nb - 1) / nb
	parallel(&convDataChunkTasks, chunks, convDataChunkTask{*dx, *dy, w, s, nb, accumulate, packed})
}

// convDataChunkTask computes the input gradient of the images of im2col
// chunk ci (nb images per chunk).
type convDataChunkTask struct {
	dx, dy     Tensor
	w          []float32
	s          ConvSpec
	nb         int
	accumulate bool
	packed     []gemm.PackedA // if not nil, w packed per group
}

var convDataChunkTasks taskPool[convDataChunkTask]

func (t *convDataChunkTask) Run(_, ci int) {
	dx, dy, w, s := &t.dx, &t.dy, t.w, t.s
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	plane := dy.H * dy.W
	cols := dy.N * plane
	hw := dx.H * dx.W
	n0 := ci * t.nb
	n1 := min(dx.N, n0+t.nb)
	ccols := (n1 - n0) * plane
	buf := getBuf(k * ccols)
	defer putBuf(buf)
	for g := range s.Groups {
		if t.packed != nil {
			gemm.SgemmPacked(&t.packed[g], false, ccols, dy.Data[g*og*cols+n0*plane:], cols, 0, *buf, ccols)
		} else {
			gemm.Sgemm(true, false, k, ccols, og, 1, w[g*og*k:], k, dy.Data[g*og*cols+n0*plane:], cols, 0, *buf, ccols, 1)
		}
		if !t.accumulate {
			// Clear this chunk's part of dx just before col2im adds
			// into it, while it is in cache.
			for c := g * cg; c < (g+1)*cg; c++ {
				clear(dx.Data[(c*dx.N+n0)*hw : (c*dx.N+n1)*hw])
			}
		}
		col2im(dx, *buf, g*cg, cg, n0, n1, s, dy.H, dy.W)
	}
}

// Conv2DBackwardWeight adds the weight gradient to dw and, if dbias is not
// nil, the bias gradient to dbias.
func Conv2DBackwardWeight(dw, dbias []float32, x, dy *Tensor, spec ConvSpec) {
	s := spec.check("Conv2DBackwardWeight", x, dy, dw)
	if dbias != nil {
		if len(dbias) != s.OutC {
			panic(fmt.Sprintf("kernels: Conv2DBackwardWeight: len(dbias)=%d, want %d", len(dbias), s.OutC))
		}
		parallel(&biasGradTasks, s.OutC, biasGradTask{dbias, *dy})
	}
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	plane := dy.H * dy.W
	cols := dy.N * plane
	switch {
	case cg == 1:
		convDirectBackwardWeight(dw, x, dy, s)
	case s.isPointwise():
		for g := range s.Groups {
			dyg, xg, dwg := dy.Data[g*og*cols:], x.Data[g*cg*cols:], dw[g*og*k:]
			if simdLanes() == 0 {
				gemm.Sgemm(false, true, og, cg, cols, 1, dyg, cols, xg, cols, 1, dwg, k, kernelThreads())
				continue
			}
			// Split the input channels (columns of dw) among the threads.
			const step = 8
			parts := (cg + step - 1) / step
			parallel(&pointwiseGradTasks, parts, pointwiseGradTask{dyg, xg, dwg, og, cg, cols, k, step})
		}
	default:
		nb := s.imagesPerChunk(x.N, dy.H, dy.W)
		useDot := simdLanes() > 0
		if useDot {
			// The dot kernels reduce their accumulators once per chunk: keep
			// chunks at least dotBlock/2 columns long.
			nb = min(x.N, max(nb, (dotBlock/2+plane-1)/plane))
		}
		chunks := (x.N + nb - 1) / nb
		// Chunk ci accumulates into slot ci % slots, each slot's chunks in
		// order, and the slots are summed in order: the gradient does not
		// depend on the thread count or on scheduling, so training runs
		// (and resumed runs) reproduce bit for bit.
		slots := min(weightGradSlots, chunks)
		partial := getBuf(slots * len(dw))
		defer putBuf(partial)
		clear(*partial)
		parallel(&weightGradTasks, slots, weightGradTask{*x, *dy, *partial, len(dw), s, nb, chunks, slots, useDot})
		for slot := range slots {
			for i, v := range (*partial)[slot*len(dw) : (slot+1)*len(dw)] {
				dw[i] += v
			}
		}
	}
}

// biasGradTask adds channel c's sum of dy to dbias[c].
type biasGradTask struct {
	dbias []float32
	dy    Tensor
}

var biasGradTasks taskPool[biasGradTask]

func (t *biasGradTask) Run(_, c int) { t.dbias[c] += sum(t.dy.Channel(c)) }

// pointwiseGradTask adds the weight gradient of a 1x1 convolution's input
// channels [pi*step, (pi+1)*step) of one group to dw.
type pointwiseGradTask struct {
	dy, x, dw         []float32
	og, cg, cols, ldw int
	step              int
}

var pointwiseGradTasks taskPool[pointwiseGradTask]

func (t *pointwiseGradTask) Run(_, pi int) {
	j0 := pi * t.step
	j1 := min(t.cg, j0+t.step)
	dotAcc(t.og, j1-j0, t.cols, t.dy, t.cols, t.x[j0*t.cols:], t.cols, t.dw[j0:], t.ldw)
}

// weightGradTask accumulates the weight gradient of the im2col chunks
// slot, slot+slots, ... (nb images each) into partial gradient slot of
// partial (n floats per slot).
type weightGradTask struct {
	x, dy             Tensor
	partial           []float32
	n                 int
	s                 ConvSpec
	nb, chunks, slots int
	useDot            bool
}

var weightGradTasks taskPool[weightGradTask]

func (t *weightGradTask) Run(_, slot int) {
	x, dy, s, nb := &t.x, &t.dy, t.s, t.nb
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	plane := dy.H * dy.W
	cols := dy.N * plane
	acc := t.partial[slot*t.n : (slot+1)*t.n]
	for ci := slot; ci < t.chunks; ci += t.slots {
		n0 := ci * nb
		n1 := min(x.N, n0+nb)
		ccols := (n1 - n0) * plane
		buf := getBuf(k * ccols)
		for g := range s.Groups {
			im2col(*buf, x, g*cg, cg, n0, n1, s, dy.H, dy.W)
			dyg := dy.Data[g*og*cols+n0*plane:]
			if !t.useDot || !dotAcc(og, k, ccols, dyg, cols, *buf, ccols, acc[g*og*k:], k) {
				gemm.Sgemm(false, true, og, k, ccols, 1, dyg, cols, *buf, ccols, 1, acc[g*og*k:], k, 1)
			}
		}
		putBuf(buf)
	}
}

func sum(s []float32) float32 {
	var a0, a1, a2, a3 float32
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a0 += s[i]
		a1 += s[i+1]
		a2 += s[i+2]
		a3 += s[i+3]
	}
	for ; i < len(s); i++ {
		a0 += s[i]
	}
	return (a0 + a1) + (a2 + a3)
}

// validRange returns the output positions [lo, hi) whose input position
// o*stride - pad + kOff lies in [0, in).
func validRange(out, in, stride, pad, kOff int) (lo, hi int) {
	// o*stride >= pad - kOff
	num := pad - kOff
	if num > 0 {
		lo = (num + stride - 1) / stride
	}
	// o*stride <= in - 1 + pad - kOff
	top := in - 1 + pad - kOff
	if top < 0 {
		return 0, 0
	}
	hi = min(out, top/stride+1)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// im2col writes the columns of images [n0, n1) and channels
// [c0, c0+cg) of x into col, laid out [cg*KH*KW][(n1-n0)*ho*wo].
func im2col(col []float32, x *Tensor, c0, cg, n0, n1 int, s ConvSpec, ho, wo int) {
	if s.StrideH == 1 && s.StrideW == 1 && ho == x.H && wo == x.W {
		im2colSame(col, x, c0, cg, n0, n1, s)
		return
	}
	plane := ho * wo
	hw := x.H * x.W
	ld := (n1 - n0) * plane
	images := n1 - n0
	r := 0
	for ci := range cg {
		src := x.Data[((c0+ci)*x.N+n0)*hw : ((c0+ci)*x.N+n1)*hw]
		for ky := range s.KH {
			ohLo, ohHi := validRange(ho, x.H, s.StrideH, s.PadH, ky)
			for kx := range s.KW {
				owLo, owHi := validRange(wo, x.W, s.StrideW, s.PadW, kx)
				row := col[r*ld : (r+1)*ld]
				r++
				// Zero the outputs whose source lies in the padding.
				if ohLo > 0 || ohHi < ho {
					for n := range images {
						dst := row[n*plane : (n+1)*plane]
						clear(dst[:ohLo*wo])
						clear(dst[ohHi*wo:])
					}
				}
				for c := range owLo {
					zeroStrided(row[c:], wo)
				}
				for c := owHi; c < wo; c++ {
					zeroStrided(row[c:], wo)
				}
				if ohLo >= ohHi || owLo >= owHi {
					continue
				}
				ih0 := ohLo*s.StrideH - s.PadH + ky
				iw0 := owLo*s.StrideW - s.PadW + kx
				gatherStrided(row[ohLo*wo+owLo:], src[ih0*x.W+iw0:], images, ohHi-ohLo, owHi-owLo,
					s.StrideW, hw, s.StrideH*x.W, plane, wo)
			}
		}
	}
}

// gatherStrided sets dst[i*dstImg+r*dstRow+j] = src[i*srcImg+r*srcRow+j*stride]
// for i < images, r < rows, j < n.
func gatherStrided(dst, src []float32, images, rows, n, stride, srcImg, srcRow, dstImg, dstRow int) {
	if stride == 2 && gatherEvenVec(dst, src, images, rows, n, srcImg, srcRow, dstImg, dstRow) {
		return
	}
	for i := range images {
		for r := range rows {
			d := dst[i*dstImg+r*dstRow:][:n]
			sr := src[i*srcImg+r*srcRow:][:(n-1)*stride+1]
			if stride == 1 {
				copy(d, sr)
				continue
			}
			for j := range d {
				d[j] = sr[j*stride]
			}
		}
	}
}

// im2colSame is im2col for stride 1 and an output as large as the input:
// with CNHW, a column row of channel ci is the channel's contiguous slab of
// images shifted by (ky-PadH)*W + (kx-PadW), so it is one bulk copy
// followed by zeroing the positions whose source lies in the padding.
func im2colSame(col []float32, x *Tensor, c0, cg, n0, n1 int, s ConvSpec) {
	h, w := x.H, x.W
	plane := h * w
	ld := (n1 - n0) * plane
	r := 0
	for ci := range cg {
		src := x.Data[((c0+ci)*x.N+n0)*plane : ((c0+ci)*x.N+n1)*plane]
		for ky := range s.KH {
			ohLo, ohHi := validRange(h, h, 1, s.PadH, ky)
			for kx := range s.KW {
				owLo, owHi := validRange(w, w, 1, s.PadW, kx)
				row := col[r*ld : (r+1)*ld]
				r++
				shift := (ky-s.PadH)*w + (kx - s.PadW)
				switch {
				case shift >= ld || -shift >= ld:
					clear(row)
					continue
				case shift >= 0:
					copy(row[:ld-shift], src[shift:])
					clear(row[ld-shift:])
				default:
					copy(row[-shift:], src[:ld+shift])
					clear(row[:-shift])
				}
				if ohLo > 0 || ohHi < h {
					for n := range n1 - n0 {
						p := row[n*plane : (n+1)*plane]
						clear(p[:ohLo*w])
						clear(p[ohHi*w:])
					}
				}
				// Columns [0, owLo) and [owHi, w) of every image row: one
				// strided sweep per column over the whole chunk.
				for c := range owLo {
					zeroStrided(row[c:], w)
				}
				for c := owHi; c < w; c++ {
					zeroStrided(row[c:], w)
				}
			}
		}
	}
}

// zeroStrided sets s[0], s[stride], s[2*stride], ... to zero.
func zeroStrided(s []float32, stride int) {
	for i := 0; i < len(s); i += stride {
		s[i] = 0
	}
}

// col2im adds col (laid out as im2col's) into the images [n0, n1) and
// channels [c0, c0+cg) of dx.
func col2im(dx *Tensor, col []float32, c0, cg, n0, n1 int, s ConvSpec, ho, wo int) {
	plane := ho * wo
	hw := dx.H * dx.W
	ld := (n1 - n0) * plane
	r := 0
	for ci := range cg {
		dst := dx.Data[((c0+ci)*dx.N+n0)*hw : ((c0+ci)*dx.N+n1)*hw]
		for ky := range s.KH {
			ohLo, ohHi := validRange(ho, dx.H, s.StrideH, s.PadH, ky)
			for kx := range s.KW {
				owLo, owHi := validRange(wo, dx.W, s.StrideW, s.PadW, kx)
				row := col[r*ld : (r+1)*ld]
				r++
				if ohLo >= ohHi || owLo >= owHi {
					continue
				}
				ih0 := ohLo*s.StrideH - s.PadH + ky
				iw0 := owLo*s.StrideW - s.PadW + kx
				scatterAddStrided(dst[ih0*dx.W+iw0:], row[ohLo*wo+owLo:], n1-n0, ohHi-ohLo, owHi-owLo,
					s.StrideW, hw, s.StrideH*dx.W, plane, wo)
			}
		}
	}
}

// scatterAddStrided adds src[i*srcImg+r*srcRow+j] to
// dst[i*dstImg+r*dstRow+j*stride] for i < images, r < rows, j < n: the
// adjoint of gatherStrided.
func scatterAddStrided(dst, src []float32, images, rows, n, stride, dstImg, dstRow, srcImg, srcRow int) {
	if stride == 2 && scatterAddEvenVec(dst, src, images, rows, n, dstImg, dstRow, srcImg, srcRow) {
		return
	}
	for i := range images {
		for r := range rows {
			d := dst[i*dstImg+r*dstRow:][:(n-1)*stride+1]
			sr := src[i*srcImg+r*srcRow:][:n]
			for j, v := range sr {
				d[j*stride] += v
			}
		}
	}
}

// convDirect computes convolutions with one input channel per group
// (depthwise included): output channel co reads input channel co/mult;
// epi, if not nil, is applied to each output channel once computed.
func convDirect(y, x *Tensor, w []float32, s ConvSpec, epi epilogue) {
	parallel(&convDirectTasks, s.OutC, convDirectTask{*y, *x, w, s, epi})
}

// convDirectTask computes output channel co of a direct convolution.
type convDirectTask struct {
	y, x Tensor
	w    []float32
	s    ConvSpec
	epi  epilogue
}

var convDirectTasks taskPool[convDirectTask]

func (t *convDirectTask) Run(_, co int) {
	y, x, s := &t.y, &t.x, t.s
	kk := s.KH * s.KW
	ci := co / (s.OutC / s.InC)
	wc := t.w[co*kk : (co+1)*kk]
	for n := range x.N {
		src := x.Data[(ci*x.N+n)*x.H*x.W:][:x.H*x.W]
		dst := y.Data[(co*y.N+n)*y.H*y.W:][:y.H*y.W]
		clear(dst)
		directPlane(dst, src, wc, s, y.H, y.W, x.H, x.W)
	}
	if t.epi.bn != nil {
		t.epi.apply(y.Channel(co), co)
	}
}

// directPlane adds the correlation of one input plane with one kernel.
func directPlane(dst, src, wc []float32, s ConvSpec, ho, wo, h, w int) {
	for ky := range s.KH {
		ohLo, ohHi := validRange(ho, h, s.StrideH, s.PadH, ky)
		for kx := range s.KW {
			wv := wc[ky*s.KW+kx]
			owLo, owHi := validRange(wo, w, s.StrideW, s.PadW, kx)
			off := kx - s.PadW
			if s.StrideW == 1 && ohLo < ohHi && owLo < owHi {
				ih0 := ohLo*s.StrideH - s.PadH + ky
				if axpyRowsVec(dst[ohLo*wo+owLo:], src[ih0*w+owLo+off:], ohHi-ohLo, owHi-owLo, wo, s.StrideH*w, wv) {
					continue
				}
			}
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*s.StrideH - s.PadH + ky
				srow := src[ih*w : (ih+1)*w]
				drow := dst[oh*wo : (oh+1)*wo]
				if s.StrideW == 1 {
					d := drow[owLo:owHi]
					sr := srow[owLo+off : owHi+off]
					for i := range d {
						d[i] += wv * sr[i]
					}
				} else {
					for ow := owLo; ow < owHi; ow++ {
						drow[ow] += wv * srow[ow*s.StrideW+off]
					}
				}
			}
		}
	}
}

// convDirectBackwardData computes dx for convDirect, adding to it.
func convDirectBackwardData(dx, dy *Tensor, w []float32, s ConvSpec) {
	parallel(&convDirectDataTasks, s.InC, convDirectDataTask{*dx, *dy, w, s})
}

// convDirectDataTask adds the gradient of input channel ci to dx.
type convDirectDataTask struct {
	dx, dy Tensor
	w      []float32
	s      ConvSpec
}

var convDirectDataTasks taskPool[convDirectDataTask]

func (t *convDirectDataTask) Run(_, ci int) {
	dx, dy, w, s := &t.dx, &t.dy, t.w, t.s
	mult := s.OutC / s.InC
	kk := s.KH * s.KW
	for co := ci * mult; co < (ci+1)*mult; co++ {
		wc := w[co*kk : (co+1)*kk]
		for n := range dx.N {
			d := dx.Data[(ci*dx.N+n)*dx.H*dx.W:][:dx.H*dx.W]
			g := dy.Data[(co*dy.N+n)*dy.H*dy.W:][:dy.H*dy.W]
			for ky := range s.KH {
				ohLo, ohHi := validRange(dy.H, dx.H, s.StrideH, s.PadH, ky)
				for kx := range s.KW {
					wv := wc[ky*s.KW+kx]
					owLo, owHi := validRange(dy.W, dx.W, s.StrideW, s.PadW, kx)
					off := kx - s.PadW
					if s.StrideW == 1 && ohLo < ohHi && owLo < owHi {
						ih0 := ohLo*s.StrideH - s.PadH + ky
						if axpyRowsVec(d[ih0*dx.W+owLo+off:], g[ohLo*dy.W+owLo:], ohHi-ohLo, owHi-owLo, s.StrideH*dx.W, dy.W, wv) {
							continue
						}
					}
					for oh := ohLo; oh < ohHi; oh++ {
						ih := oh*s.StrideH - s.PadH + ky
						drow := d[ih*dx.W : (ih+1)*dx.W]
						grow := g[oh*dy.W : (oh+1)*dy.W]
						for ow := owLo; ow < owHi; ow++ {
							drow[ow*s.StrideW+off] += wv * grow[ow]
						}
					}
				}
			}
		}
	}
}

// convDirectBackwardWeight adds convDirect's weight gradient to dw.
func convDirectBackwardWeight(dw []float32, x, dy *Tensor, s ConvSpec) {
	parallel(&convDirectWeightTasks, s.OutC, convDirectWeightTask{dw, *x, *dy, s})
}

// convDirectWeightTask adds the weight gradient of output channel co to dw.
type convDirectWeightTask struct {
	dw    []float32
	x, dy Tensor
	s     ConvSpec
}

var convDirectWeightTasks taskPool[convDirectWeightTask]

func (t *convDirectWeightTask) Run(_, co int) {
	dw, x, dy, s := t.dw, &t.x, &t.dy, t.s
	mult := s.OutC / s.InC
	kk := s.KH * s.KW
	ci := co / mult
	for n := range x.N {
		src := x.Data[(ci*x.N+n)*x.H*x.W:][:x.H*x.W]
		g := dy.Data[(co*dy.N+n)*dy.H*dy.W:][:dy.H*dy.W]
		for ky := range s.KH {
			ohLo, ohHi := validRange(dy.H, x.H, s.StrideH, s.PadH, ky)
			for kx := range s.KW {
				owLo, owHi := validRange(dy.W, x.W, s.StrideW, s.PadW, kx)
				off := kx - s.PadW
				if s.StrideW == 1 && ohLo < ohHi && owLo < owHi {
					ih0 := ohLo*s.StrideH - s.PadH + ky
					if acc, ok := dotRowsVec(g[ohLo*dy.W+owLo:], src[ih0*x.W+owLo+off:], ohHi-ohLo, owHi-owLo, dy.W, s.StrideH*x.W); ok {
						dw[co*kk+ky*s.KW+kx] += acc
						continue
					}
				}
				var acc float32
				for oh := ohLo; oh < ohHi; oh++ {
					ih := oh*s.StrideH - s.PadH + ky
					srow := src[ih*x.W : (ih+1)*x.W]
					grow := g[oh*dy.W : (oh+1)*dy.W]
					for ow := owLo; ow < owHi; ow++ {
						acc += grow[ow] * srow[ow*s.StrideW+off]
					}
				}
				dw[co*kk+ky*s.KW+kx] += acc
			}
		}
	}
}
