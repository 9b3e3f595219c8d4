// Package kernels holds the float32 CPU kernels that msdx networks run on:
// convolution, batch normalisation, activations, pooling, bilinear resize,
// linear layers, concatenation and softmax cross-entropy, each with the
// backward pass training needs. Semantics follow PyTorch's (NCHW
// cross-correlation, biased batch variance for normalising, unbiased for the
// running variance, exact-erf GELU, align_corners=False bilinear, floor-mode
// pooling with count_include_pad) so networks match PyTorch to rounding.
//
// # Layout
//
// Tensors are channel-major, CNHW: element (n, c, h, w) lives at
// Data[((c*N+n)*H+h)*W+w]. This was chosen over NCHW and NHWC because
//
//   - a 1x1 convolution is a plain GEMM, out[Cout][N*H*W] = W[Cout][Cin] x
//     X[Cin][N*H*W], with no im2col and no transposition, and a kxk
//     convolution is the same GEMM on an im2col buffer built one chunk of
//     images at a time, writing straight into the output's columns;
//   - the GEMM's long dimension N*H*W (65536 at CIFAR size, batch 64) goes
//     along the SIMD lanes, so the small channel counts of MSDNet (6..48
//     outputs) waste no vector lanes;
//   - a channel concatenation is a contiguous slab: dense layers write their
//     new channels in place into a preallocated tensor (Tensor.Channels
//     returns such a view) instead of copying;
//   - batch norm reduces and scales contiguous per-channel rows.
//
// Depthwise (and any one-input-channel-per-group) convolutions use a direct
// kernel, since their GEMMs would be K = k*k, too short to pay for packing.
//
// Weights keep PyTorch's layouts ([Cout][Cin/groups][kh][kw] for
// convolutions, [out][in] for linear layers), so parameter files match.
// Feature vectors (linear layer inputs and outputs, logits) are
// feature-major too: [features][batch], which is a CNHW tensor with H = W = 1.
//
// # Threads and scratch
//
// Kernels use up to Threads goroutines (SetThreads; default GOMAXPROCS).
// Scratch memory comes from internal pools, so steady-state training does
// not allocate in the hot paths.
//
// Programmer errors (mismatched shapes, short slices) panic.
package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/msdx/msdx/kernels/internal/gemm"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets the number of goroutines kernels may use; n < 1 means
// runtime.GOMAXPROCS(0).
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads returns the number of goroutines kernels may use.
func Threads() int { return int(threads.Load()) }

// Path returns the name of the active GEMM microkernel path: "avx512",
// "avx2" or "generic". The environment variable MSDX_KERNELS=generic|avx2
// forces a lower path at start-up.
func Path() string { return gemm.Path() }

// Paths returns the GEMM paths this CPU supports, best first.
func Paths() []string { return gemm.Paths() }

// SetPath selects a GEMM path by name (see Paths); it returns an error if
// the CPU lacks it. It must not be called while kernels run.
func SetPath(name string) error { return gemm.SetPath(name) }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices
// (op(A) is m x k, op(B) is k x n; transA means A is stored k x m) using
// Threads goroutines. With beta == 0, C is not read.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Threads())
}

// Tensor is a float32 tensor in CNHW layout: element (n, c, h, w) is
// Data[((c*N+n)*H+h)*W+w].
type Tensor struct {
	C, N, H, W int
	Data       []float32
}

// NewTensor returns a zeroed tensor with c channels, n images of h x w.
func NewTensor(c, n, h, w int) *Tensor {
	if c < 0 || n < 0 || h < 0 || w < 0 {
		panic(fmt.Sprintf("kernels: negative tensor shape %dx%dx%dx%d", c, n, h, w))
	}
	return &Tensor{C: c, N: n, H: h, W: w, Data: make([]float32, c*n*h*w)}
}

// Len returns the number of elements, C*N*H*W.
func (t *Tensor) Len() int { return t.C * t.N * t.H * t.W }

// SameShape reports whether t and u have equal C, N, H and W.
func (t *Tensor) SameShape(u *Tensor) bool {
	return t.C == u.C && t.N == u.N && t.H == u.H && t.W == u.W
}

// Channel returns the contiguous N*H*W slab of channel c.
func (t *Tensor) Channel(c int) []float32 {
	p := t.N * t.H * t.W
	return t.Data[c*p : (c+1)*p]
}

// Channels returns a view of channels [c0, c1) sharing t's storage; writing
// a layer's output into such a view is an in-place concatenation.
func (t *Tensor) Channels(c0, c1 int) *Tensor {
	if c0 < 0 || c1 < c0 || c1 > t.C {
		panic(fmt.Sprintf("kernels: channel range [%d,%d) out of [0,%d)", c0, c1, t.C))
	}
	p := t.N * t.H * t.W
	return &Tensor{C: c1 - c0, N: t.N, H: t.H, W: t.W, Data: t.Data[c0*p : c1*p]}
}

// String returns the shape as "CxNxHxW".
func (t *Tensor) String() string { return fmt.Sprintf("%dx%dx%dx%d (CNHW)", t.C, t.N, t.H, t.W) }

// FromNCHW returns a CNHW tensor holding data given in NCHW order.
func FromNCHW(n, c, h, w int, data []float32) *Tensor {
	t := NewTensor(c, n, h, w)
	if len(data) != t.Len() {
		panic(fmt.Sprintf("kernels: FromNCHW: len(data)=%d, want %d", len(data), t.Len()))
	}
	hw := h * w
	for in := range n {
		for ic := range c {
			copy(t.Data[(ic*n+in)*hw:(ic*n+in+1)*hw], data[(in*c+ic)*hw:(in*c+ic+1)*hw])
		}
	}
	return t
}

// NCHW returns t's elements in NCHW order.
func (t *Tensor) NCHW() []float32 {
	out := make([]float32, t.Len())
	hw := t.H * t.W
	for in := range t.N {
		for ic := range t.C {
			copy(out[(in*t.C+ic)*hw:(in*t.C+ic+1)*hw], t.Data[(ic*t.N+in)*hw:(ic*t.N+in+1)*hw])
		}
	}
	return out
}

func mustSameShape(op string, a, b *Tensor) {
	if !a.SameShape(b) {
		panic(fmt.Sprintf("kernels: %s: shape %v != %v", op, a, b))
	}
	checkLen(op, a)
	checkLen(op, b)
}

func checkLen(op string, t *Tensor) {
	if len(t.Data) != t.Len() {
		panic(fmt.Sprintf("kernels: %s: tensor %v has %d elements", op, t, len(t.Data)))
	}
}

// parallel runs f(i) for i in [0, n) on up to Threads goroutines, each
// taking the next index; worker is the goroutine's index in [0, workers).
func parallel(n int, f func(worker, i int)) int {
	workers := min(Threads(), n)
	if workers <= 1 {
		for i := range n {
			f(0, i)
		}
		return 1
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(w, i)
			}
		})
	}
	wg.Wait()
	return workers
}

// scratch pools float32 buffers.
var scratch sync.Pool

func getBuf(n int) *[]float32 {
	if p, ok := scratch.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

func putBuf(p *[]float32) { scratch.Put(p) }
