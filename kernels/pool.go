package kernels

import (
	"fmt"
	"math"
)

// PoolSpec describes a 2-D max or average pooling window with PyTorch's
// floor-mode output size (H + 2*PadH - KH)/StrideH + 1. Zero strides mean
// the kernel size (PyTorch's default).
type PoolSpec struct {
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
}

func (p PoolSpec) norm() PoolSpec {
	if p.StrideH == 0 {
		p.StrideH = p.KH
	}
	if p.StrideW == 0 {
		p.StrideW = p.KW
	}
	if p.KH <= 0 || p.KW <= 0 || p.StrideH <= 0 || p.StrideW <= 0 || p.PadH < 0 || p.PadW < 0 || 2*p.PadH > p.KH || 2*p.PadW > p.KW {
		panic(fmt.Sprintf("kernels: invalid pool spec %+v", p))
	}
	return p
}

// OutSize returns the output height and width for an h x w input.
func (p PoolSpec) OutSize(h, w int) (int, int) {
	p = p.norm()
	return (h+2*p.PadH-p.KH)/p.StrideH + 1, (w+2*p.PadW-p.KW)/p.StrideW + 1
}

func (p PoolSpec) check(op string, x, y *Tensor) PoolSpec {
	p = p.norm()
	checkLen(op, x)
	checkLen(op, y)
	ho, wo := p.OutSize(x.H, x.W)
	if y.C != x.C || y.N != x.N || y.H != ho || y.W != wo {
		panic(fmt.Sprintf("kernels: %s: input %v, output %v do not fit %+v", op, x.String(), y.String(), p))
	}
	return p
}

// planeOp is a pooling or resizing op applied plane by plane: plane writes
// the (channel, image) plane yp of y from the plane xp of x.
type planeOp interface {
	plane(x, y *Tensor, xp, yp []float32)
}

// planesTask applies op to every image of channel c. It holds tensor
// headers by value, as every task does: a task outlives the call on the
// heap (in its pool), so pointers to the caller's tensors would make
// tensors built on the caller's stack (views, scratch) escape.
type planesTask[O planeOp] struct {
	x, y Tensor
	op   O
}

func (t *planesTask[O]) Run(_, c int) {
	x, y := &t.x, &t.y
	xs, ys := x.H*x.W, y.H*y.W
	for n := range x.N {
		i := c*x.N + n
		t.op.plane(x, y, x.Data[i*xs:(i+1)*xs], y.Data[i*ys:(i+1)*ys])
	}
}

// planes applies op to every (channel, image) plane of x and y, channels in
// parallel; pool is the op's own task pool.
func planes[O planeOp](pool *taskPool[planesTask[O]], x, y *Tensor, op O) {
	parallel(pool, x.C, planesTask[O]{*x, *y, op})
}

// MaxPool2D writes the window maxima of x into y; padding never wins.
func MaxPool2D(y, x *Tensor, spec PoolSpec) {
	p := spec.check("MaxPool2D", x, y)
	planes(&maxPoolTasks, x, y, maxPoolOp{p})
}

// maxPoolOp is MaxPool2D's work on one plane.
type maxPoolOp struct{ p PoolSpec }

var maxPoolTasks taskPool[planesTask[maxPoolOp]]

func (o maxPoolOp) plane(x, y *Tensor, xp, yp []float32) {
	p := o.p
	for oh := range y.H {
		for ow := range y.W {
			_, v := maxWindow(xp, x.H, x.W, p, oh, ow)
			yp[oh*y.W+ow] = v
		}
	}
}

// maxWindow returns the index and value of the first maximum of a window
// (PyTorch's choice among ties); NaN wins as in PyTorch.
func maxWindow(xp []float32, h, w int, p PoolSpec, oh, ow int) (int, float32) {
	best, bestV := -1, float32(math.Inf(-1))
	for ky := range p.KH {
		ih := oh*p.StrideH - p.PadH + ky
		if ih < 0 || ih >= h {
			continue
		}
		for kx := range p.KW {
			iw := ow*p.StrideW - p.PadW + kx
			if iw < 0 || iw >= w {
				continue
			}
			v := xp[ih*w+iw]
			if best < 0 || v > bestV || v != v {
				best, bestV = ih*w+iw, v
				if v != v {
					return best, bestV
				}
			}
		}
	}
	return best, bestV
}

// MaxPool2DBackward writes dx: each dy goes to its window's first maximum
// in x (recomputed, so no index buffer is kept).
func MaxPool2DBackward(dx, dy, x *Tensor, spec PoolSpec) {
	p := spec.check("MaxPool2DBackward", x, dy)
	mustSameShape("MaxPool2DBackward", x, dx)
	parallel(&maxPoolBackwardTasks, x.C, maxPoolBackwardTask{*dx, *dy, *x, p})
}

// maxPoolBackwardTask is MaxPool2DBackward's work on channel c.
type maxPoolBackwardTask struct {
	dx, dy, x Tensor
	p         PoolSpec
}

var maxPoolBackwardTasks taskPool[maxPoolBackwardTask]

func (t *maxPoolBackwardTask) Run(_, c int) {
	dx, dy, x, p := &t.dx, &t.dy, &t.x, t.p
	xs, ys := x.H*x.W, dy.H*dy.W
	for n := range x.N {
		i := c*x.N + n
		xp, gp, dp := x.Data[i*xs:(i+1)*xs], dy.Data[i*ys:(i+1)*ys], dx.Data[i*xs:(i+1)*xs]
		clear(dp)
		for oh := range dy.H {
			for ow := range dy.W {
				j, _ := maxWindow(xp, x.H, x.W, p, oh, ow)
				dp[j] += gp[oh*dy.W+ow]
			}
		}
	}
}

// AvgPool2D writes window means into y, counting padding as zeros in the
// divisor (PyTorch's count_include_pad=True).
func AvgPool2D(y, x *Tensor, spec PoolSpec) {
	p := spec.check("AvgPool2D", x, y)
	inv := 1 / float32(p.KH*p.KW)
	planes(&avgPoolTasks, x, y, avgPoolOp{p, inv})
}

// avgPoolOp is AvgPool2D's work on one plane.
type avgPoolOp struct {
	p   PoolSpec
	inv float32
}

var avgPoolTasks taskPool[planesTask[avgPoolOp]]

func (o avgPoolOp) plane(x, y *Tensor, xp, yp []float32) {
	p, inv := o.p, o.inv
	for oh := range y.H {
		for ow := range y.W {
			var s float32
			for ky := range p.KH {
				ih := oh*p.StrideH - p.PadH + ky
				if ih < 0 || ih >= x.H {
					continue
				}
				for kx := range p.KW {
					if iw := ow*p.StrideW - p.PadW + kx; iw >= 0 && iw < x.W {
						s += xp[ih*x.W+iw]
					}
				}
			}
			yp[oh*y.W+ow] = s * inv
		}
	}
}

// AvgPool2DBackward writes dx from dy for AvgPool2D.
func AvgPool2DBackward(dx, dy *Tensor, spec PoolSpec) {
	p := spec.check("AvgPool2DBackward", dx, dy)
	inv := 1 / float32(p.KH*p.KW)
	planes(&avgPoolBackwardTasks, dx, dy, avgPoolBackwardOp{p, inv})
}

// avgPoolBackwardOp is AvgPool2DBackward's work on one plane.
type avgPoolBackwardOp struct {
	p   PoolSpec
	inv float32
}

var avgPoolBackwardTasks taskPool[planesTask[avgPoolBackwardOp]]

func (o avgPoolBackwardOp) plane(dx, dy *Tensor, dp, gp []float32) {
	p, inv := o.p, o.inv
	clear(dp)
	for oh := range dy.H {
		for ow := range dy.W {
			g := gp[oh*dy.W+ow] * inv
			for ky := range p.KH {
				ih := oh*p.StrideH - p.PadH + ky
				if ih < 0 || ih >= dx.H {
					continue
				}
				for kx := range p.KW {
					if iw := ow*p.StrideW - p.PadW + kx; iw >= 0 && iw < dx.W {
						dp[ih*dx.W+iw] += g
					}
				}
			}
		}
	}
}

// adaptiveRange returns PyTorch's adaptive pooling window [start, end) of
// output index o for in inputs and out outputs.
func adaptiveRange(o, in, out int) (int, int) {
	return o * in / out, ((o+1)*in + out - 1) / out
}

// AdaptiveAvgPool2D averages x into y's H x W grid as PyTorch's
// AdaptiveAvgPool2d (window [floor(o*H/Ho), ceil((o+1)*H/Ho))).
func AdaptiveAvgPool2D(y, x *Tensor) {
	checkAdaptive("AdaptiveAvgPool2D", x, y)
	planes(&adaptiveAvgPoolTasks, x, y, adaptiveAvgPoolOp{})
}

// adaptiveAvgPoolOp is AdaptiveAvgPool2D's work on one plane.
type adaptiveAvgPoolOp struct{}

var adaptiveAvgPoolTasks taskPool[planesTask[adaptiveAvgPoolOp]]

func (o adaptiveAvgPoolOp) plane(x, y *Tensor, xp, yp []float32) {
	for oh := range y.H {
		h0, h1 := adaptiveRange(oh, x.H, y.H)
		for ow := range y.W {
			w0, w1 := adaptiveRange(ow, x.W, y.W)
			var s float32
			for ih := h0; ih < h1; ih++ {
				s += sum(xp[ih*x.W+w0 : ih*x.W+w1])
			}
			yp[oh*y.W+ow] = s / float32((h1-h0)*(w1-w0))
		}
	}
}

// AdaptiveAvgPool2DBackward writes dx from dy for AdaptiveAvgPool2D.
func AdaptiveAvgPool2DBackward(dx, dy *Tensor) {
	checkAdaptive("AdaptiveAvgPool2DBackward", dx, dy)
	planes(&adaptiveAvgPoolBackwardTasks, dx, dy, adaptiveAvgPoolBackwardOp{})
}

// adaptiveAvgPoolBackwardOp is AdaptiveAvgPool2DBackward's work on one plane.
type adaptiveAvgPoolBackwardOp struct{}

var adaptiveAvgPoolBackwardTasks taskPool[planesTask[adaptiveAvgPoolBackwardOp]]

func (o adaptiveAvgPoolBackwardOp) plane(dx, dy *Tensor, dp, gp []float32) {
	clear(dp)
	for oh := range dy.H {
		h0, h1 := adaptiveRange(oh, dx.H, dy.H)
		for ow := range dy.W {
			w0, w1 := adaptiveRange(ow, dx.W, dy.W)
			g := gp[oh*dy.W+ow] / float32((h1-h0)*(w1-w0))
			for ih := h0; ih < h1; ih++ {
				row := dp[ih*dx.W+w0 : ih*dx.W+w1]
				for i := range row {
					row[i] += g
				}
			}
		}
	}
}

func checkAdaptive(op string, x, y *Tensor) {
	checkLen(op, x)
	checkLen(op, y)
	if y.C != x.C || y.N != x.N || y.H <= 0 || y.W <= 0 {
		panic(fmt.Sprintf("kernels: %s: input %v, output %v", op, x.String(), y.String()))
	}
}

// bilinearTaps returns, for output index o, the two source indices and
// their weights as PyTorch's bilinear interpolation with an explicit output
// size computes them: with align_corners=False the source coordinate is
// (o+0.5)·in/out − 0.5 (clamped at 0), with align_corners=True it is
// o·(in−1)/(out−1), so that the corner pixels of input and output align.
func bilinearTaps(o, in, out int, alignCorners bool) (i0, i1 int, l0, l1 float32) {
	var src float32
	switch {
	case alignCorners && out > 1:
		src = float32(in-1) / float32(out-1) * float32(o)
	case alignCorners:
		src = 0
	default:
		scale := float32(in) / float32(out)
		src = (float32(o)+0.5)*scale - 0.5
		if src < 0 {
			src = 0
		}
	}
	i0 = int(src)
	if i0 < in-1 {
		i1 = i0 + 1
	} else {
		i1 = i0
	}
	l1 = src - float32(i0)
	return i0, i1, 1 - l1, l1
}

// ResizeBilinear resamples x to y's H x W as
// F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False).
func ResizeBilinear(y, x *Tensor) {
	checkAdaptive("ResizeBilinear", x, y)
	planes(&resizeTasks, x, y, resizeOp{})
}

// ResizeBilinearAlignCorners resamples x to y's H x W as
// F.interpolate(x, size=(H, W), mode="bilinear", align_corners=True), which RANet uses.
func ResizeBilinearAlignCorners(y, x *Tensor) {
	checkAdaptive("ResizeBilinearAlignCorners", x, y)
	planes(&resizeTasks, x, y, resizeOp{alignCorners: true})
}

// resizeOp is ResizeBilinear's work on one plane.
type resizeOp struct{ alignCorners bool }

var resizeTasks taskPool[planesTask[resizeOp]]

func (o resizeOp) plane(x, y *Tensor, xp, yp []float32) {
	for oh := range y.H {
		h0, h1, a0, a1 := bilinearTaps(oh, x.H, y.H, o.alignCorners)
		for ow := range y.W {
			w0, w1, b0, b1 := bilinearTaps(ow, x.W, y.W, o.alignCorners)
			yp[oh*y.W+ow] = a0*(b0*xp[h0*x.W+w0]+b1*xp[h0*x.W+w1]) + a1*(b0*xp[h1*x.W+w0]+b1*xp[h1*x.W+w1])
		}
	}
}

// ResizeBilinearBackward writes dx from dy for ResizeBilinear.
func ResizeBilinearBackward(dx, dy *Tensor) {
	checkAdaptive("ResizeBilinearBackward", dx, dy)
	planes(&resizeBackwardTasks, dx, dy, resizeBackwardOp{})
}

// ResizeBilinearAlignCornersBackward writes dx from dy for ResizeBilinearAlignCorners.
func ResizeBilinearAlignCornersBackward(dx, dy *Tensor) {
	checkAdaptive("ResizeBilinearAlignCornersBackward", dx, dy)
	planes(&resizeBackwardTasks, dx, dy, resizeBackwardOp{alignCorners: true})
}

// resizeBackwardOp is ResizeBilinearBackward's work on one plane.
type resizeBackwardOp struct{ alignCorners bool }

var resizeBackwardTasks taskPool[planesTask[resizeBackwardOp]]

func (o resizeBackwardOp) plane(dx, dy *Tensor, dp, gp []float32) {
	clear(dp)
	for oh := range dy.H {
		h0, h1, a0, a1 := bilinearTaps(oh, dx.H, dy.H, o.alignCorners)
		for ow := range dy.W {
			w0, w1, b0, b1 := bilinearTaps(ow, dx.W, dy.W, o.alignCorners)
			g := gp[oh*dy.W+ow]
			dp[h0*dx.W+w0] += a0 * b0 * g
			dp[h0*dx.W+w1] += a0 * b1 * g
			dp[h1*dx.W+w0] += a1 * b0 * g
			dp[h1*dx.W+w1] += a1 * b1 * g
		}
	}
}
