package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// forEachPath runs f under every GEMM path the CPU supports and with one
// and three threads.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	savedPath, savedThreads := Path(), Threads()
	defer func() {
		if err := SetPath(savedPath); err != nil {
			t.Fatal(err)
		}
		SetThreads(savedThreads)
	}()
	for _, p := range Paths() {
		for _, th := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/threads=%d", p, th), func(t *testing.T) {
				if err := SetPath(p); err != nil {
					t.Fatal(err)
				}
				SetThreads(th)
				f(t)
			})
		}
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	nchw := make([]float32, 2*3*4*5)
	for i := range nchw {
		nchw[i] = float32(i)
	}
	x := FromNCHW(2, 3, 4, 5, nchw)
	// element (n=1, c=2, h=3, w=4) of NCHW sits at ((1*3+2)*4+3)*5+4.
	if got, want := x.Data[((2*2+1)*4+3)*5+4], nchw[((1*3+2)*4+3)*5+4]; got != want {
		t.Errorf("CNHW element = %v, want %v", got, want)
	}
	if diff := cmp.Diff(nchw, x.NCHW()); diff != "" {
		t.Errorf("NCHW round trip (-want +got):\n%s", diff)
	}
	v := x.Channels(1, 3)
	v.Data[0] = -1
	if x.Channel(1)[0] != -1 {
		t.Error("Channels view does not share storage")
	}
}

var convCases = []struct {
	name string
	spec ConvSpec
	in   shape
}{
	{"3x3s1p1", ConvSpec{InC: 5, OutC: 7, KH: 3, KW: 3, PadH: 1, PadW: 1}, shape{5, 3, 9, 8}},
	{"3x3s2p1", ConvSpec{InC: 4, OutC: 13, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, shape{4, 2, 9, 10}},
	{"1x1", ConvSpec{InC: 6, OutC: 3, KH: 1, KW: 1}, shape{6, 3, 5, 7}},
	{"1x1groups3", ConvSpec{InC: 6, OutC: 9, KH: 1, KW: 1, Groups: 3}, shape{6, 2, 4, 3}},
	{"1x1s2", ConvSpec{InC: 3, OutC: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, shape{3, 2, 7, 6}},
	{"5x5groups2", ConvSpec{InC: 4, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2, Groups: 2}, shape{4, 2, 6, 7}},
	{"1x3asym", ConvSpec{InC: 3, OutC: 2, KH: 1, KW: 3, PadW: 1, StrideH: 2}, shape{3, 2, 5, 6}},
	{"2x2s2", ConvSpec{InC: 2, OutC: 3, KH: 2, KW: 2, StrideH: 2, StrideW: 2}, shape{2, 2, 8, 8}},
	{"depthwise3x3", ConvSpec{InC: 5, OutC: 5, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 5}, shape{5, 3, 7, 6}},
	{"depthwise3x3s2", ConvSpec{InC: 4, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 4}, shape{4, 2, 9, 8}},
	{"depthwiseMult2", ConvSpec{InC: 3, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 3}, shape{3, 2, 5, 5}},
	{"inC1", ConvSpec{InC: 1, OutC: 4, KH: 3, KW: 3}, shape{1, 2, 6, 5}},
	{"bigPad", ConvSpec{InC: 2, OutC: 3, KH: 3, KW: 3, PadH: 2, PadW: 2}, shape{2, 1, 2, 3}},
}

func TestConv2D(t *testing.T) {
	saved, savedCols := colBudget, minChunkCols
	colBudget, minChunkCols = 200, 1 // several im2col chunks per batch
	defer func() { colBudget, minChunkCols = saved, savedCols }()
	forEachPath(t, func(t *testing.T) {
		for ci, tc := range convCases {
			t.Run(tc.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(ci), 7))
				s := tc.spec
				x := randTensor(r, tc.in)
				w, b := randVec(r, s.WeightLen()), randVec(r, s.OutC)
				ho, wo := s.OutSize(x.H, x.W)
				y := NewTensor(s.OutC, x.N, ho, wo)
				Conv2D(y, x, w, b, s)
				want, ys := refConv(to64(x.Data), tc.in, to64(w), to64(b), s)
				checkClose(t, "y", y.Data, want, 1e-5)

				dy := randTensor(r, ys)
				r64 := to64(dy.Data)
				dx := randTensor(r, tc.in) // overwritten
				Conv2DBackwardData(dx, dy, w, s, false)
				checkGrad(t, "dx", func(v []float64) float64 {
					out, _ := refConv(v, tc.in, to64(w), to64(b), s)
					return dot(out, r64)
				}, to64(x.Data), dx.Data, r, 40)

				dw, db := make([]float32, len(w)), make([]float32, len(b))
				Conv2DBackwardWeight(dw, db, x, dy, s)
				checkGrad(t, "dw", func(v []float64) float64 {
					out, _ := refConv(to64(x.Data), tc.in, v, to64(b), s)
					return dot(out, r64)
				}, to64(w), dw, r, 40)
				checkGrad(t, "db", func(v []float64) float64 {
					out, _ := refConv(to64(x.Data), tc.in, to64(w), v, s)
					return dot(out, r64)
				}, to64(b), db, r, 40)

				// accumulate adds on top of what is there.
				dx2 := tc.in.tensor()
				copy(dx2.Data, dx.Data)
				Conv2DBackwardData(dx2, dy, w, s, true)
				for i := range dx2.Data {
					dx2.Data[i] -= 2 * dx.Data[i]
				}
				checkClose(t, "accumulated dx - 2 dx", dx2.Data, make([]float64, len(dx2.Data)), 1e-5)
			})
		}
	})
}

func TestBatchNorm(t *testing.T) {
	for _, act := range []Activation{ActNone, ActReLU, ActGELU} {
		t.Run(act.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(act)))
			xs := shape{3, 4, 3, 5}
			x := randTensor(r, xs)
			for i := range x.Data {
				x.Data[i] = 2*x.Data[i] + 1
			}
			bn := NewBatchNorm(xs.c)
			bn.Gamma, bn.Beta = randVec(r, xs.c), randVec(r, xs.c)
			mean, invStd := make([]float32, xs.c), make([]float32, xs.c)
			y := xs.tensor()
			bn.Train(y, x, mean, invStd, act)
			g64, b64 := to64(bn.Gamma), to64(bn.Beta)
			checkClose(t, "y", y.Data, refBatchNorm(to64(x.Data), xs, g64, b64, 1e-5, act), 1e-5)

			// Running statistics after one step from (0, 1), momentum 0.1.
			m := xs.n * xs.h * xs.w
			for c := range xs.c {
				var s, ss float64
				for _, v := range x.Channel(c) {
					s += float64(v)
				}
				mu := s / float64(m)
				for _, v := range x.Channel(c) {
					ss += (float64(v) - mu) * (float64(v) - mu)
				}
				checkClose(t, "running mean", bn.RunMean[c:c+1], []float64{0.1 * mu}, 1e-6)
				checkClose(t, "running var", bn.RunVar[c:c+1], []float64{0.9 + 0.1*ss/float64(m-1)}, 1e-6)
			}

			dy := randTensor(r, xs)
			r64 := to64(dy.Data)
			dx := xs.tensor()
			dg, db := make([]float32, xs.c), make([]float32, xs.c)
			bn.Backward(dx, dy, x, mean, invStd, dg, db, act, false)
			checkGrad(t, "dx", func(v []float64) float64 {
				return dot(refBatchNorm(v, xs, g64, b64, 1e-5, act), r64)
			}, to64(x.Data), dx.Data, r, 60)
			checkGrad(t, "dgamma", func(v []float64) float64 {
				return dot(refBatchNorm(to64(x.Data), xs, v, b64, 1e-5, act), r64)
			}, g64, dg, r, 10)
			checkGrad(t, "dbeta", func(v []float64) float64 {
				return dot(refBatchNorm(to64(x.Data), xs, g64, v, 1e-5, act), r64)
			}, b64, db, r, 10)

			// Inference uses the running statistics.
			bn.Inference(y, x, act)
			for c := range xs.c {
				a := float64(bn.Gamma[c]) / sqrt64(float64(bn.RunVar[c])+1e-5)
				want := make([]float64, m)
				for i, v := range x.Channel(c) {
					want[i] = refAct(act, a*(float64(v)-float64(bn.RunMean[c]))+float64(bn.Beta[c]))
				}
				checkClose(t, "inference", y.Channel(c), want, 1e-5)
			}
		})
	}
}

func TestBatchNormFold(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	s := ConvSpec{InC: 3, OutC: 4, KH: 3, KW: 3, PadH: 1, PadW: 1}
	x := randTensor(r, shape{3, 2, 5, 5})
	w, b := randVec(r, s.WeightLen()), randVec(r, s.OutC)
	bn := NewBatchNorm(4)
	bn.Gamma, bn.Beta, bn.RunMean = randVec(r, 4), randVec(r, 4), randVec(r, 4)
	for i := range bn.RunVar {
		bn.RunVar[i] = 0.5 + r.Float32()
	}
	y := NewTensor(4, 2, 5, 5)
	Conv2D(y, x, w, b, s)
	bn.Inference(y, y, ActNone)
	fb := bn.Fold(w, b)
	y2 := NewTensor(4, 2, 5, 5)
	Conv2D(y2, x, w, fb, s)
	checkClose(t, "folded", y2.Data, to64(y.Data), 1e-5)
}

func TestActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	x := randVec(r, 200)
	g := randVec(r, 200)
	r64 := to64(g)
	for _, act := range []Activation{ActReLU, ActGELU} {
		t.Run(act.String(), func(t *testing.T) {
			y, dx := make([]float32, len(x)), make([]float32, len(x))
			ref := func(v []float64) []float64 {
				out := make([]float64, len(v))
				for i, e := range v {
					out[i] = refAct(act, e)
				}
				return out
			}
			if act == ActReLU {
				ReLU(y, x)
				ReLUBackward(dx, g, y)
			} else {
				GELU(y, x)
				GELUBackward(dx, g, x)
			}
			checkClose(t, "y", y, ref(to64(x)), 1e-6)
			checkGrad(t, "dx", func(v []float64) float64 { return dot(ref(v), r64) }, to64(x), dx, r, 200)
		})
	}
}

func TestPooling(t *testing.T) {
	cases := []struct {
		name string
		spec PoolSpec
		in   shape
	}{
		{"2x2", PoolSpec{KH: 2, KW: 2}, shape{3, 2, 8, 6}},
		{"3x3s2p1", PoolSpec{KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, shape{2, 2, 9, 8}},
		{"3x3s1p1", PoolSpec{KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}, shape{2, 1, 5, 5}},
		{"2x2odd", PoolSpec{KH: 2, KW: 2}, shape{2, 2, 7, 5}},
	}
	for ci, tc := range cases {
		for _, isMax := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/max=%v", tc.name, isMax), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(ci), 11))
				x := randTensor(r, tc.in)
				want, ys := refPool(to64(x.Data), tc.in, tc.spec, isMax)
				y := ys.tensor()
				dy := randTensor(r, ys)
				dx := randTensor(r, tc.in)
				if isMax {
					MaxPool2D(y, x, tc.spec)
					MaxPool2DBackward(dx, dy, x, tc.spec)
				} else {
					AvgPool2D(y, x, tc.spec)
					AvgPool2DBackward(dx, dy, tc.spec)
				}
				checkClose(t, "y", y.Data, want, 1e-6)
				r64 := to64(dy.Data)
				checkGrad(t, "dx", func(v []float64) float64 {
					out, _ := refPool(v, tc.in, tc.spec, isMax)
					return dot(out, r64)
				}, to64(x.Data), dx.Data, r, 100)
			})
		}
	}
}

func TestAdaptiveAvgPoolAndResize(t *testing.T) {
	cases := []struct {
		name   string
		in     shape
		ho, wo int
	}{
		{"same", shape{2, 2, 5, 6}, 5, 6},
		{"to1x1", shape{3, 2, 4, 4}, 1, 1},
		{"down", shape{2, 2, 8, 8}, 4, 4},
		{"downOdd", shape{2, 1, 7, 5}, 3, 2},
		{"up2", shape{2, 2, 4, 4}, 8, 8},
		{"upNonInteger", shape{2, 1, 3, 5}, 7, 8},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(ci), 13))
			x := randTensor(r, tc.in)
			ys := shape{tc.in.c, tc.in.n, tc.ho, tc.wo}
			dy := randTensor(r, ys)
			r64 := to64(dy.Data)
			for _, op := range []string{"adaptive", "bilinear", "bilinear-align-corners"} {
				if op == "adaptive" && (tc.ho > tc.in.h || tc.wo > tc.in.w) {
					continue
				}
				ref := func(v []float64) []float64 {
					if op == "adaptive" {
						return refAdaptive(v, tc.in, tc.ho, tc.wo)
					}
					return refBilinear(v, tc.in, tc.ho, tc.wo, op == "bilinear-align-corners")
				}
				y, dx := ys.tensor(), tc.in.tensor()
				switch op {
				case "adaptive":
					AdaptiveAvgPool2D(y, x)
					AdaptiveAvgPool2DBackward(dx, dy)
				case "bilinear":
					ResizeBilinear(y, x)
					ResizeBilinearBackward(dx, dy)
				default:
					ResizeBilinearAlignCorners(y, x)
					ResizeBilinearAlignCornersBackward(dx, dy)
				}
				checkClose(t, op+" y", y.Data, ref(to64(x.Data)), 1e-6)
				checkGrad(t, op+" dx", func(v []float64) float64 { return dot(ref(v), r64) }, to64(x.Data), dx.Data, r, 100)
			}
		})
	}
}

func TestBilinearSameSizeIsIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(r, shape{2, 2, 5, 7})
	y := NewTensor(2, 2, 5, 7)
	ResizeBilinear(y, x)
	if diff := cmp.Diff(x.Data, y.Data); diff != "" {
		t.Errorf("same-size resize changed data (-want +got):\n%s", diff)
	}
	ResizeBilinearAlignCorners(y, x)
	if diff := cmp.Diff(x.Data, y.Data); diff != "" {
		t.Errorf("same-size resize with aligned corners changed data (-want +got):\n%s", diff)
	}
}

func TestFlattenLinear(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(2, 3))
		xs := shape{3, 5, 2, 2}
		x := randTensor(r, xs)
		flat := NewTensor(12, 5, 1, 1)
		Flatten(flat, x)
		// Flattened features follow PyTorch's x.view(N, -1): (c, h, w).
		if got, want := flat.Data[(2*4+3)*5+4], x.Data[xs.at(2, 4, 1, 1)]; got != want {
			t.Errorf("flat feature (c=2,h=1,w=1) of sample 4 = %v, want %v", got, want)
		}
		back := xs.tensor()
		Unflatten(back, flat)
		if diff := cmp.Diff(x.Data, back.Data); diff != "" {
			t.Errorf("Unflatten(Flatten(x)) (-want +got):\n%s", diff)
		}
		out := 7
		w, b := randVec(r, out*12), randVec(r, out)
		y := NewTensor(out, 5, 1, 1)
		Linear(y, flat, w, b)
		ref := func(xv, wv, bv []float64) []float64 {
			o := make([]float64, out*5)
			for j := range out {
				for n := range 5 {
					s := bv[j]
					for i := range 12 {
						s += wv[j*12+i] * xv[i*5+n]
					}
					o[j*5+n] = s
				}
			}
			return o
		}
		x64, w64, b64 := to64(flat.Data), to64(w), to64(b)
		checkClose(t, "y", y.Data, ref(x64, w64, b64), 1e-5)
		dy := randTensor(r, shape{out, 5, 1, 1})
		r64 := to64(dy.Data)
		dx := NewTensor(12, 5, 1, 1)
		dw, db := make([]float32, len(w)), make([]float32, out)
		LinearBackward(dx, dy, flat, w, dw, db, false)
		checkGrad(t, "dx", func(v []float64) float64 { return dot(ref(v, w64, b64), r64) }, x64, dx.Data, r, 60)
		checkGrad(t, "dw", func(v []float64) float64 { return dot(ref(x64, v, b64), r64) }, w64, dw, r, 60)
		checkGrad(t, "db", func(v []float64) float64 { return dot(ref(x64, w64, v), r64) }, b64, db, r, 60)
	})
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	const classes, batch = 5, 4
	r := rand.New(rand.NewPCG(4, 4))
	z := randVec(r, classes*batch)
	labels := []int{0, 4, 2, 2}
	hard := make([]float64, classes*batch)
	for n, l := range labels {
		hard[l*batch+n] = 1
	}
	mix := make([]float32, classes*batch) // mixup of two labels per sample
	for n := range batch {
		mix[labels[n]*batch+n] += 0.7
		mix[((labels[n]+1)%classes)*batch+n] += 0.3
	}
	for _, smoothing := range []float32{0, 0.1} {
		for _, tc := range []struct {
			name   string
			labels []int
			soft   []float32
			ref    []float64
		}{{"labels", labels, nil, hard}, {"soft", nil, mix, to64(mix)}} {
			t.Run(fmt.Sprintf("%s/smoothing=%v", tc.name, smoothing), func(t *testing.T) {
				dz := make([]float32, len(z))
				loss := SoftmaxCrossEntropy(dz, z, classes, batch, tc.labels, tc.soft, smoothing)
				f := func(v []float64) float64 { return refCrossEntropy(v, tc.ref, classes, batch, float64(smoothing)) }
				checkClose(t, "loss", []float32{float32(loss)}, []float64{f(to64(z))}, 1e-6)
				checkGrad(t, "dlogits", f, to64(z), dz, r, classes*batch)
			})
		}
	}
	p := make([]float32, len(z))
	Softmax(p, z, classes, batch)
	for n := range batch {
		var s float64
		for c := range classes {
			s += float64(p[c*batch+n])
		}
		checkClose(t, "softmax column sum", []float32{float32(s)}, []float64{1}, 1e-6)
	}
}

func TestAddAndCopyChannels(t *testing.T) {
	a := []float32{1, 2, 3}
	b := []float32{10, 20, 30}
	y := make([]float32, 3)
	Add(y, a, b)
	AddTo(y, a)
	if diff := cmp.Diff([]float32{12, 24, 36}, y); diff != "" {
		t.Errorf("Add then AddTo (-want +got):\n%s", diff)
	}
	dst := NewTensor(3, 2, 1, 1)
	src := &Tensor{C: 1, N: 2, H: 1, W: 1, Data: []float32{7, 8}}
	CopyChannels(dst, 1, src)
	if diff := cmp.Diff([]float32{0, 0, 7, 8, 0, 0}, dst.Data); diff != "" {
		t.Errorf("CopyChannels (-want +got):\n%s", diff)
	}
}

func TestShapeMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Conv2D with a wrong output shape did not panic")
		}
	}()
	s := ConvSpec{InC: 2, OutC: 2, KH: 3, KW: 3}
	Conv2D(NewTensor(2, 1, 4, 4), NewTensor(2, 1, 4, 4), make([]float32, s.WeightLen()), nil, s)
}

// TestConv2DBackwardWeightDeterministic checks that the weight gradient is
// bit-identical whatever the thread count and scheduling: training must
// reproduce exactly (a resumed run equals an uninterrupted one).
func TestConv2DBackwardWeightDeterministic(t *testing.T) {
	savedPath, savedThreads := Path(), Threads()
	defer func() {
		if err := SetPath(savedPath); err != nil {
			t.Fatal(err)
		}
		SetThreads(savedThreads)
	}()
	s := ConvSpec{InC: 4, OutC: 5, KH: 3, KW: 3, PadH: 1, PadW: 1}
	for _, p := range Paths() {
		t.Run(p, func(t *testing.T) {
			if err := SetPath(p); err != nil {
				t.Fatal(err)
			}
			// 160 images of 8x8 make more chunks than partial-sum slots.
			r := rand.New(rand.NewPCG(3, 4))
			x := randTensor(r, shape{4, 160, 8, 8})
			dy := randTensor(r, shape{5, 160, 8, 8})
			var want []float32
			for _, th := range []int{1, 2, 3, 2, 3} {
				SetThreads(th)
				dw := make([]float32, s.WeightLen())
				Conv2DBackwardWeight(dw, nil, x, dy, s)
				if want == nil {
					want = dw
					continue
				}
				if diff := cmp.Diff(want, dw); diff != "" {
					t.Fatalf("threads=%d: gradient differs from threads=1 (-want +got):\n%s", th, diff)
				}
			}
		})
	}
}

// TestConv2DBatchNorm checks the fused evaluation-mode conv + batch norm + activation
// against Conv2D followed by BatchNorm.Inference, bit for bit, on every conv path.
func TestConv2DBatchNorm(t *testing.T) {
	saved := colBudget
	defer func() { colBudget = saved }()
	colBudget = 1 << 10 // several im2col chunks
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []ConvSpec{
		{InC: 5, OutC: 7, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{InC: 6, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{InC: 9, OutC: 5, KH: 1, KW: 1},
		{InC: 6, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 6},
		{InC: 4, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2},
	} {
		for _, act := range []Activation{ActNone, ActReLU, ActGELU} {
			x := randTensor(r, shape{s.InC, 3, 9, 8})
			ho, wo := s.OutSize(9, 8)
			w := randVec(r, s.WeightLen())
			bn := NewBatchNorm(s.OutC)
			for c := range s.OutC {
				bn.Gamma[c], bn.Beta[c] = float32(r.NormFloat64()), float32(r.NormFloat64())
				bn.RunMean[c], bn.RunVar[c] = float32(r.NormFloat64()), float32(0.5+r.Float64())
			}
			want, got := NewTensor(s.OutC, 3, ho, wo), NewTensor(s.OutC, 3, ho, wo)
			Conv2D(want, x, w, nil, s)
			bn.Inference(want, want, act)
			Conv2DBatchNorm(got, x, w, s, bn, act)
			for i := range want.Data {
				if got.Data[i] != want.Data[i] {
					t.Fatalf("%+v %v: element %d = %v, want %v", s, act, i, got.Data[i], want.Data[i])
				}
			}
		}
	}
}

// TestErf32 checks the float32 erf that GELU uses against math.Erf.
func TestErf32(t *testing.T) {
	worst := 0.0
	for i := -60000; i <= 60000; i++ {
		x := float32(i) / 10000
		d := math.Abs(float64(erf32(x)) - math.Erf(float64(x)))
		worst = max(worst, d)
	}
	if worst > 5e-7 {
		t.Errorf("erf32 is %g from math.Erf", worst)
	}
	t.Logf("largest difference %g", worst)
}

// TestExp32 checks the float32 exponential of geluGrad against math.Exp on x <= 0.
func TestExp32(t *testing.T) {
	worst := 0.0
	for i := -870000; i <= 0; i++ {
		x := float32(i) / 10000
		want := math.Exp(float64(x))
		if d := math.Abs(float64(exp32(x))-want) / want; d > worst {
			worst = d
		}
	}
	if worst > 3e-7 {
		t.Errorf("exp32 is %g (relative) from math.Exp", worst)
	}
	t.Logf("largest relative difference %g", worst)
}

// TestConvWeights checks that a packed convolution gives the bits of Conv2D,
// Conv2DBatchNorm and Conv2DBackwardData on every conv path, on one and two threads.
func TestConvWeights(t *testing.T) {
	saved := colBudget
	defer func() { colBudget = saved }()
	colBudget = 1 << 10 // several im2col chunks
	defer SetThreads(Threads())
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range []ConvSpec{
		{InC: 5, OutC: 7, KH: 3, KW: 3, PadH: 1, PadW: 1},                         // turned backward
		{InC: 6, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, // strided
		{InC: 9, OutC: 5, KH: 1, KW: 1},                                           // pointwise
		{InC: 12, OutC: 4, KH: 1, KW: 1, Groups: 2},
		{InC: 6, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 6}, // depthwise
		{InC: 4, OutC: 6, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2},
		{InC: 4, OutC: 1, KH: 3, KW: 3, PadH: 1, PadW: 1}, // one output channel: direct backward
		{InC: 300, OutC: 3, KH: 1, KW: 1},                 // k beyond one GEMM k-block
	} {
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			x := randTensor(r, shape{s.InC, 3, 9, 8})
			ho, wo := s.OutSize(9, 8)
			w := randVec(r, s.WeightLen())
			bias := randVec(r, s.OutC)
			bn := NewBatchNorm(s.OutC)
			for c := range s.OutC {
				bn.Gamma[c], bn.Beta[c] = float32(r.NormFloat64()), float32(r.NormFloat64())
			}
			var cw ConvWeights
			cw.PackForward(w, s)
			cw.PackBackward(w, s)
			want, got := NewTensor(s.OutC, 3, ho, wo), NewTensor(s.OutC, 3, ho, wo)
			Conv2D(want, x, w, bias, s)
			cw.Forward(got, x, bias)
			if diff := cmp.Diff(want.Data, got.Data); diff != "" {
				t.Fatalf("%+v, %d threads: Forward differs from Conv2D:\n%s", s, threads, diff)
			}
			Conv2DBatchNorm(want, x, w, s, bn, ActReLU)
			cw.ForwardBatchNorm(got, x, bn, ActReLU)
			if diff := cmp.Diff(want.Data, got.Data); diff != "" {
				t.Fatalf("%+v, %d threads: ForwardBatchNorm differs from Conv2DBatchNorm:\n%s", s, threads, diff)
			}
			dy := randTensor(r, shape{s.OutC, 3, ho, wo})
			for _, acc := range []bool{false, true} {
				dxWant, dxGot := randTensor(r, shape{s.InC, 3, 9, 8}), NewTensor(s.InC, 3, 9, 8)
				copy(dxGot.Data, dxWant.Data)
				Conv2DBackwardData(dxWant, dy, w, s, acc)
				cw.BackwardData(dxGot, dy, acc)
				if diff := cmp.Diff(dxWant.Data, dxGot.Data); diff != "" {
					t.Fatalf("%+v, %d threads, accumulate %v: BackwardData differs from Conv2DBackwardData:\n%s", s, threads, acc, diff)
				}
			}
		}
	}
}
