package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// MSDNet CIFAR convolution shapes at batch 64, plus the 64->64 3x3 layer
// used to compare with PyTorch (~158 GFLOP/s on one thread).
var benchConvs = []struct {
	name string
	spec ConvSpec
	h, w int
}{
	{"3x3_16to16_32x32", ConvSpec{InC: 16, OutC: 16, KH: 3, KW: 3, PadH: 1, PadW: 1}, 32, 32},
	{"3x3_6to6_32x32", ConvSpec{InC: 6, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1}, 32, 32},
	{"1x1_64to24_16x16", ConvSpec{InC: 64, OutC: 24, KH: 1, KW: 1}, 16, 16},
	{"3x3s2_12to12_32x32", ConvSpec{InC: 12, OutC: 12, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, 32, 32},
	{"3x3s2_128to128_8x8", ConvSpec{InC: 128, OutC: 128, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, 8, 8},
	{"dw3x3_16_16x16", ConvSpec{InC: 16, OutC: 16, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 16}, 16, 16},
	{"3x3_64to64_32x32", ConvSpec{InC: 64, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1}, 32, 32},
}

func BenchmarkConv2D(b *testing.B) {
	const batch = 64
	saved := Threads()
	defer SetThreads(saved)
	for _, bc := range benchConvs {
		for _, pass := range []string{"forward", "backwardData", "backwardWeight"} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/threads=%d", bc.name, pass, th), func(b *testing.B) {
					SetThreads(th)
					r := rand.New(rand.NewPCG(1, 1))
					s := bc.spec
					x := randTensor(r, shape{s.InC, batch, bc.h, bc.w})
					ho, wo := s.OutSize(bc.h, bc.w)
					y := randTensor(r, shape{s.OutC, batch, ho, wo})
					w, dw := randVec(r, s.WeightLen()), make([]float32, s.WeightLen())
					for b.Loop() {
						switch pass {
						case "forward":
							Conv2D(y, x, w, nil, s)
						case "backwardData":
							Conv2DBackwardData(x, y, w, s, false)
						default:
							Conv2DBackwardWeight(dw, nil, x, y, s)
						}
					}
					b.ReportMetric(2*float64(s.MACs(batch, bc.h, bc.w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func BenchmarkBatchNormReLU(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	xs := shape{16, 64, 32, 32}
	x, y, dx := randTensor(r, xs), xs.tensor(), xs.tensor()
	bn := NewBatchNorm(16)
	mean, inv, dg, db := make([]float32, 16), make([]float32, 16), make([]float32, 16), make([]float32, 16)
	b.Run("train", func(b *testing.B) {
		for b.Loop() {
			bn.Train(y, x, mean, inv, ActReLU)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			bn.Backward(dx, y, x, mean, inv, dg, db, ActReLU, false)
		}
	})
}

// BenchmarkGELU runs GELU and GELUBackward on 1M floats.
func BenchmarkGELU(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, dy := randVec(r, 1<<20), randVec(r, 1<<20)
	y := make([]float32, len(x))
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			GELU(y, x)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			GELUBackward(y, dy, x)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	})
}

func BenchmarkBatchNormGELU(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	xs := shape{16, 64, 32, 32}
	x, y, dx := randTensor(r, xs), xs.tensor(), xs.tensor()
	bn := NewBatchNorm(16)
	mean, inv, dg, db := make([]float32, 16), make([]float32, 16), make([]float32, 16), make([]float32, 16)
	b.Run("train", func(b *testing.B) {
		for b.Loop() {
			bn.Train(y, x, mean, inv, ActGELU)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			bn.Backward(dx, y, x, mean, inv, dg, db, ActGELU, false)
		}
	})
}
