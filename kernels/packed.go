package kernels

import (
	"fmt"

	"github.com/msdx/msdx/kernels/internal/gemm"
)

// ConvWeights is a convolution with its weights packed for the matrix products of its
// forward pass (PackForward) or its backward-data pass (PackBackward). Package nn runs a
// batch as chunks of a few images, each chunk a separate kernel call with the same
// weights: packing them once per pass instead of once per call saves what every chunk
// would repeat (on small maps, with few columns per product, a sixth of the time).
// Its methods compute the same bits as Conv2D, Conv2DBatchNorm and Conv2DBackwardData
// given the weights themselves.
//
// A ConvWeights refers to the weights it packed: after they change, it must be packed
// again. Depthwise convolutions have nothing to pack (their direct kernel reads the
// weights). The zero ConvWeights is empty, ready to pack.
type ConvWeights struct {
	w        []float32
	spec     ConvSpec
	fwd, bwd []gemm.PackedA // per group; nil when not packed, or nothing to pack
}

// PackForward packs w, the weights of spec, for Forward and ForwardBatchNorm.
func (cw *ConvWeights) PackForward(w []float32, spec ConvSpec) {
	s := cw.set(w, spec)
	cw.fwd = cw.fwd[:0]
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	if cg == 1 {
		return // convDirect
	}
	k := cg * s.KH * s.KW
	cw.fwd = growPacked(cw.fwd, s.Groups)
	for g := range s.Groups {
		cw.fwd[g].Pack(false, og, k, 1, w[g*og*k:], k)
	}
}

// PackBackward packs w, the weights of spec, for BackwardData.
func (cw *ConvWeights) PackBackward(w []float32, spec ConvSpec) {
	s := cw.set(w, spec)
	cw.bwd = cw.bwd[:0]
	cg, og := s.InC/s.Groups, s.OutC/s.Groups
	k := cg * s.KH * s.KW
	switch t, turned := transposedConv(s); {
	case s.isPointwise():
		cw.bwd = growPacked(cw.bwd, s.Groups)
		for g := range s.Groups {
			cw.bwd[g].Pack(true, cg, og, 1, w[g*og*k:], k)
		}
	case cg > 1 && turned && og > 1: // the forward pass of t, by GEMM (og == 1: direct)
		wt := transposedWeights(s, w)
		kt := og * s.KH * s.KW
		cw.bwd = growPacked(cw.bwd, s.Groups)
		for g := range t.Groups {
			cw.bwd[g].Pack(false, cg, kt, 1, (*wt)[g*cg*kt:], kt)
		}
		putBuf(wt)
	case cg > 1 && !turned:
		cw.bwd = growPacked(cw.bwd, s.Groups)
		for g := range s.Groups {
			cw.bwd[g].Pack(true, k, og, 1, w[g*og*k:], k)
		}
	}
}

func (cw *ConvWeights) set(w []float32, spec ConvSpec) ConvSpec {
	s := spec.norm()
	if len(w) != s.WeightLen() {
		panic(fmt.Sprintf("kernels: ConvWeights: len(w)=%d, want %d", len(w), s.WeightLen()))
	}
	if len(cw.w) != len(w) || len(w) > 0 && &cw.w[0] != &w[0] || cw.spec != s {
		cw.fwd, cw.bwd = cw.fwd[:0], cw.bwd[:0] // other weights: what was packed is stale
	}
	cw.w, cw.spec = w, s
	return s
}

func growPacked(p []gemm.PackedA, n int) []gemm.PackedA {
	if cap(p) < n {
		return make([]gemm.PackedA, n)
	}
	return p[:n]
}

// packedOrNil returns p, or nil if nothing is packed.
func packedOrNil(p []gemm.PackedA) []gemm.PackedA {
	if len(p) == 0 {
		return nil
	}
	return p
}

// checkSpec checks the tensors of op (a full name: a concatenation would allocate).
func (cw *ConvWeights) checkSpec(op string, x, y *Tensor) ConvSpec {
	if cw.w == nil {
		panic("kernels: " + op + ": nothing packed")
	}
	return cw.spec.check(op, x, y, cw.w)
}

// Forward computes Conv2D(y, x, w, bias, spec) for the packed w and spec.
func (cw *ConvWeights) Forward(y, x *Tensor, bias []float32) {
	s := cw.checkSpec("ConvWeights.Forward", x, y)
	if bias != nil && len(bias) != s.OutC {
		panic(fmt.Sprintf("kernels: ConvWeights.Forward: len(bias)=%d, want %d", len(bias), s.OutC))
	}
	convForward(y, x, cw.w, s, false, epilogue{}, packedOrNil(cw.fwd))
	addBias(y, bias)
}

// ForwardBatchNorm computes Conv2DBatchNorm(y, x, w, spec, bn, act) for the packed w and
// spec.
func (cw *ConvWeights) ForwardBatchNorm(y, x *Tensor, bn *BatchNorm, act Activation) {
	s := cw.checkSpec("ConvWeights.ForwardBatchNorm", x, y)
	bn.check("ConvWeights.ForwardBatchNorm", y, y)
	convForward(y, x, cw.w, s, false, epilogue{bn, act}, packedOrNil(cw.fwd))
}

// BackwardData computes Conv2DBackwardData(dx, dy, w, spec, accumulate) for the packed w
// and spec.
func (cw *ConvWeights) BackwardData(dx, dy *Tensor, accumulate bool) {
	s := cw.checkSpec("ConvWeights.BackwardData", dx, dy)
	convBackwardData(dx, dy, cw.w, s, accumulate, packedOrNil(cw.bwd))
}
