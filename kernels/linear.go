package kernels

import (
	"fmt"
	"math"

	"github.com/msdx/msdx/kernels/internal/gemm"
)

// Flatten writes x (CNHW) into y as a feature-major matrix
// [C*H*W][N] (a tensor with y.C = C*H*W, H = W = 1), features in PyTorch's
// x.view(N, -1) order (c, h, w).
func Flatten(y, x *Tensor) {
	checkFlatten("Flatten", x, y)
	hw := x.H * x.W
	for c := range x.C {
		for n := range x.N {
			src := x.Data[(c*x.N+n)*hw : (c*x.N+n+1)*hw]
			for i, v := range src {
				y.Data[(c*hw+i)*x.N+n] = v
			}
		}
	}
}

// Unflatten is the inverse of Flatten: it writes y back into x's shape.
func Unflatten(x, y *Tensor) {
	checkFlatten("Unflatten", x, y)
	hw := x.H * x.W
	for c := range x.C {
		for n := range x.N {
			dst := x.Data[(c*x.N+n)*hw : (c*x.N+n+1)*hw]
			for i := range dst {
				dst[i] = y.Data[(c*hw+i)*x.N+n]
			}
		}
	}
}

func checkFlatten(op string, x, y *Tensor) {
	checkLen(op, x)
	checkLen(op, y)
	if y.C != x.C*x.H*x.W || y.N != x.N || y.H != 1 || y.W != 1 {
		panic(fmt.Sprintf("kernels: %s: %v vs flat %v", op, x.String(), y.String()))
	}
}

func checkLinear(op string, x, y *Tensor, w []float32) {
	checkLen(op, x)
	checkLen(op, y)
	if x.H != 1 || x.W != 1 || y.H != 1 || y.W != 1 || y.N != x.N || len(w) != x.C*y.C {
		panic(fmt.Sprintf("kernels: %s: input %v, output %v, %d weights", op, x.String(), y.String(), len(w)))
	}
}

// Linear computes y = W x + b on feature-major tensors (x: in x N, y:
// out x N, both with H = W = 1); w is [out][in] as in PyTorch, b (length
// out) may be nil.
func Linear(y, x *Tensor, w, b []float32) {
	checkLinear("Linear", x, y, w)
	gemm.Sgemm(false, false, y.C, x.N, x.C, 1, w, x.C, x.Data, x.N, 0, y.Data, x.N, kernelThreads())
	if b != nil {
		for o, bv := range b[:y.C] {
			row := y.Channel(o)
			for i := range row {
				row[i] += bv
			}
		}
	}
}

// LinearBackward computes dx (added if accumulate, else overwritten; skipped
// if dx is nil) and adds the weight and bias gradients to dw and db (db may
// be nil; both skipped if dw is nil).
func LinearBackward(dx, dy, x *Tensor, w, dw, db []float32, accumulate bool) {
	checkLinear("LinearBackward", x, dy, w)
	n := x.N
	if dx != nil {
		mustSameShape("LinearBackward", x, dx)
		var beta float32
		if accumulate {
			beta = 1
		}
		gemm.Sgemm(true, false, x.C, n, dy.C, 1, w, x.C, dy.Data, n, beta, dx.Data, n, kernelThreads())
	}
	if dw == nil {
		return
	}
	gemm.Sgemm(false, true, dy.C, x.C, n, 1, dy.Data, n, x.Data, n, 1, dw, x.C, kernelThreads())
	if db != nil {
		for o := range dy.C {
			db[o] += sum(dy.Channel(o))
		}
	}
}

// Add writes y = a + b; y may alias a or b.
func Add(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// AddTo adds x into y.
func AddTo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += v
	}
}

// CopyChannels copies src into dst's channels [c0, c0+src.C); with CNHW
// this is one contiguous copy, the concatenation used when a layer cannot
// write into a Channels view directly.
func CopyChannels(dst *Tensor, c0 int, src *Tensor) {
	// Checked by hand rather than on a Channels view, which would be allocated on
	// every call (a concatenation per dense layer).
	checkLen("CopyChannels", dst)
	checkLen("CopyChannels", src)
	if c0 < 0 || c0+src.C > dst.C || src.N != dst.N || src.H != dst.H || src.W != dst.W {
		panic(fmt.Sprintf("kernels: CopyChannels: %v into channels [%d,%d) of %v", src.String(), c0, c0+src.C, dst.String()))
	}
	p := dst.N * dst.H * dst.W
	copy(dst.Data[c0*p:(c0+src.C)*p], src.Data)
}

// Softmax writes per-sample softmax probabilities of feature-major logits
// ([classes][batch]) into probs (same layout).
func Softmax(probs, logits []float32, classes, batch int) {
	checkLogits("Softmax", logits, classes, batch)
	probs = probs[:len(logits)]
	for n := range batch {
		mx := float32(math.Inf(-1))
		for c := range classes {
			mx = max(mx, logits[c*batch+n])
		}
		var s float64
		for c := range classes {
			e := math.Exp(float64(logits[c*batch+n] - mx))
			probs[c*batch+n] = float32(e)
			s += e
		}
		inv := float32(1 / s)
		for c := range classes {
			probs[c*batch+n] *= inv
		}
	}
}

func checkLogits(op string, logits []float32, classes, batch int) {
	if classes <= 0 || batch <= 0 || len(logits) != classes*batch {
		panic(fmt.Sprintf("kernels: %s: %d logits for %d classes x %d samples", op, len(logits), classes, batch))
	}
}

// SoftmaxCrossEntropy returns the batch-mean cross-entropy of feature-major
// logits ([classes][batch]) against targets and writes its gradient into
// dlogits (same layout). Targets are either labels (one class index per
// sample) or soft, per-class probabilities in [classes][batch] layout (for
// mixup and cutmix); exactly one must be non-nil. Label smoothing eps mixes
// the targets with the uniform distribution as PyTorch's
// CrossEntropyLoss(label_smoothing=eps): t' = (1-eps)*t + eps/classes.
func SoftmaxCrossEntropy(dlogits, logits []float32, classes, batch int, labels []int, soft []float32, smoothing float32) float64 {
	checkLogits("SoftmaxCrossEntropy", logits, classes, batch)
	if (labels == nil) == (soft == nil) {
		panic("kernels: SoftmaxCrossEntropy: give exactly one of labels and soft targets")
	}
	if labels != nil && len(labels) != batch || soft != nil && len(soft) != classes*batch {
		panic("kernels: SoftmaxCrossEntropy: targets do not match the batch")
	}
	dlogits = dlogits[:len(logits)]
	Softmax(dlogits, logits, classes, batch)
	eps := float64(smoothing)
	invB := 1 / float64(batch)
	var loss float64
	for n := range batch {
		mx := float32(math.Inf(-1))
		for c := range classes {
			mx = max(mx, logits[c*batch+n])
		}
		var s float64
		for c := range classes {
			s += math.Exp(float64(logits[c*batch+n] - mx))
		}
		logZ := float64(mx) + math.Log(s)
		// d/dz of -sum t*log p is p*sum(t) - t; soft targets need not sum to 1.
		var sumT float64
		for c := range classes {
			sumT += target(labels, soft, c, n, batch, classes, eps)
		}
		for c := range classes {
			t := target(labels, soft, c, n, batch, classes, eps)
			i := c*batch + n
			loss -= t * (float64(logits[i]) - logZ)
			dlogits[i] = float32((float64(dlogits[i])*sumT - t) * invB)
		}
	}
	return loss * invB
}

// target returns the smoothed target probability of class c for sample n.
func target(labels []int, soft []float32, c, n, batch, classes int, eps float64) float64 {
	var t float64
	if labels != nil {
		if l := labels[n]; l < 0 || l >= classes {
			panic(fmt.Sprintf("kernels: SoftmaxCrossEntropy: label %d out of [0,%d)", l, classes))
		} else if l == c {
			t = 1
		}
	} else {
		t = float64(soft[c*batch+n])
	}
	return (1-eps)*t + eps/float64(classes)
}
