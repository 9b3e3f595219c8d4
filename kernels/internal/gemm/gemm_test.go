package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive computes alpha*op(A)*op(B) + beta*C in float64.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			s *= float64(alpha)
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// withPath runs f once per path the CPU supports, restoring the active one.
func withPath(t *testing.T, f func(t *testing.T)) {
	saved := active
	defer func() { active = saved }()
	for _, name := range Paths() {
		t.Run(name, func(t *testing.T) {
			if err := SetPath(name); err != nil {
				t.Fatal(err)
			}
			f(t)
		})
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	dims := []struct{ m, n, k int }{
		{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {6, 64, 256}, {7, 65, 257}, {13, 129, 31},
		{2, 1000, 17}, {48, 130, 300}, {97, 61, 53}, {6, 3, 600}, {127, 513, 5}, {16, 1031, 144},
	}
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0}}
	withPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, d := range dims {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for si, s := range scalars {
					for _, threads := range []int{1, 3} {
						name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_s%d_t%d", d.m, d.n, d.k, tr[0], tr[1], si, threads)
						lda, ldb, ldc := d.k+2, d.n+1, d.n+3
						if tr[0] {
							lda = d.m + 1
						}
						if tr[1] {
							ldb = d.k + 3
						}
						rowsA, rowsB := d.m, d.k
						if tr[0] {
							rowsA = d.k
						}
						if tr[1] {
							rowsB = d.n
						}
						a := randSlice(r, rowsA*lda)
						b := randSlice(r, rowsB*ldb)
						c := randSlice(r, d.m*ldc)
						if s.beta == 0 {
							for i := range c {
								c[i] = float32(math.NaN()) // must not be read
							}
						}
						want := naive(tr[0], tr[1], d.m, d.n, d.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc)
						before := append([]float32(nil), c...)
						Sgemm(tr[0], tr[1], d.m, d.n, d.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc, threads)
						tol := 1e-5 * math.Sqrt(float64(d.k+1)) * 4
						for i := range d.m {
							for j := range ldc {
								got := c[i*ldc+j]
								if j >= d.n {
									if math.Float32bits(got) != math.Float32bits(before[i*ldc+j]) {
										t.Fatalf("%s: padding C[%d][%d] changed", name, i, j)
									}
									continue
								}
								w := want[i*d.n+j]
								if math.Abs(float64(got)-w) > tol*(1+math.Abs(w)) {
									t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i, j, got, w)
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestSgemmKZero(t *testing.T) {
	withPath(t, func(t *testing.T) {
		c := []float32{1, 2, 3, 4}
		Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2, 1)
		want := []float32{0.5, 1, 1.5, 2}
		for i := range c {
			if c[i] != want[i] {
				t.Fatalf("k=0, beta=0.5: got %v, want %v", c, want)
			}
		}
	})
}

func TestSgemmPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Sgemm with a short C did not panic")
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2, 1)
}

func TestSetPathRejectsUnknown(t *testing.T) {
	if err := SetPath("sse9"); err == nil {
		t.Error("SetPath(\"sse9\") returned nil error")
	}
}

func benchSgemm(b *testing.B, m, n, k, threads int) {
	r := rand.New(rand.NewPCG(1, 2))
	a, bm, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	b.ResetTimer()
	for b.Loop() {
		Sgemm(false, false, m, n, k, 1, a, k, bm, n, 0, c, n, threads)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm1024(b *testing.B) {
	for _, name := range Paths() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(b *testing.B) {
				saved := active
				defer func() { active = saved }()
				if err := SetPath(name); err != nil {
					b.Fatal(err)
				}
				benchSgemm(b, 1024, 1024, 1024, threads)
			})
		}
	}
}

// BenchmarkSgemmConvShapes times the products of 1x1 and im2col'ed 3x3
// convolutions at MSDNet CIFAR shapes (M = Cout, K = Cin*k*k, N = batch 64 * H*W).
func BenchmarkSgemmConvShapes(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{6, 65536, 54}, {16, 65536, 144}, {24, 16384, 64}, {64, 65536, 576}} {
		b.Run(fmt.Sprintf("m%d_n%d_k%d", s.m, s.n, s.k), func(b *testing.B) { benchSgemm(b, s.m, s.n, s.k, 1) })
	}
}

// BenchmarkScalarBaseline times a plain i-k-j triple loop at 256^3, the bar
// the generic path must clear (compare with BenchmarkSgemm256/generic).
func BenchmarkScalarBaseline256(b *testing.B) {
	const n = 256
	r := rand.New(rand.NewPCG(1, 2))
	a, bm, c := randSlice(r, n*n), randSlice(r, n*n), make([]float32, n*n)
	for b.Loop() {
		clear(c)
		for i := range n {
			ci := c[i*n : i*n+n]
			for p := range n {
				av := a[i*n+p]
				bp := bm[p*n : p*n+n]
				for j := range ci {
					ci[j] += av * bp[j]
				}
			}
		}
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSgemm256(b *testing.B) {
	for _, name := range Paths() {
		b.Run(name, func(b *testing.B) {
			saved := active
			defer func() { active = saved }()
			if err := SetPath(name); err != nil {
				b.Fatal(err)
			}
			benchSgemm(b, 256, 256, 256, 1)
		})
	}
}
