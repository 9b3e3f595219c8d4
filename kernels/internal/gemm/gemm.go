// Package gemm implements single-precision general matrix multiplication
// for the msdx CPU kernels: C = alpha*op(A)*op(B) + beta*C on row-major
// matrices, with packing, cache blocking and a register-blocked microkernel.
//
// The microkernel computes an MR x NR tile of C with NR along the SIMD lanes
// (64 floats with AVX-512, 16 with AVX2): convolutions call it with
// M = output channels (often 6..48) and N = N*H*W (often 65536), so the long
// dimension fills the vectors and a short M costs no padding, thanks to one
// kernel per row count 1..MR.
//
// Loop order (BLIS-like, with the two inner loops swapped so that the small
// A micro-panel stays in L1 and B slivers stream from L2):
//
//	for pc in K by KC:  pack alpha*A[:, pc] (all of M)
//	  for jc in N by NC:  pack B[pc, jc] (KC x NC, L2-resident)
//	    for ir in M by MR:  for jr in NC by NR:  microkernel
//
// When M fits one register panel, or the KC x N block of B fits in L2, B is
// not packed: strided microkernels read its rows in place (packing would
// copy data that is then read once, or that stays in cache anyway). Each
// microkernel prefetches its C tile before the k loop. Multi-threaded
// calls split the longer dimension into several parts per thread, taken
// dynamically; a column split packs A once, shared by all parts. Strided
// reads of B in place are limited to a few row panels: a tall A re-reads
// the block once per panel, and with a power-of-two ldb those strided
// reads thrash the caches (1024^3 on two threads ran at 1.45x one thread
// that way, 1.7x packed).
//
// The path (AVX-512, AVX2+FMA or portable Go) is chosen at start-up from
// CPUID and may be lowered with the environment variable MSDX_KERNELS
// (generic or avx2) or with SetPath.
package gemm

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/msdx/msdx/internal/freelist"
	"github.com/msdx/msdx/internal/par"
	"unsafe"
)

// Blocking parameters: KC*NC floats of packed B fit in L2 (512 KiB), a
// packed MR x KC micro-panel of A fits in L1.
const (
	kc = 256
	nc = 512
)

// kernelFunc computes the rows x NR tile c (+)= a*b over kc steps, where a
// holds rows floats per step and b holds NR floats per step. ldc is in
// elements. With accumulate false the tile is overwritten.
type kernelFunc func(kc int, a, b, c *float32, ldc int, accumulate bool)

// stridedKernelFunc is a kernelFunc reading B unpacked: step k's NR
// floats start at b + k*ldb.
type stridedKernelFunc func(kc int, a, b *float32, ldb int, c *float32, ldc int, accumulate bool)

// path is one implementation of the microkernel.
type path struct {
	name string
	mr   int
	nr   int
	// kern[r] computes r-row tiles; a nil entry means r-row panels are
	// zero-padded to mr rows and computed through a scratch tile.
	kern []kernelFunc
	// strided[r], if the path has it, is kern[r] reading B in place.
	strided []stridedKernelFunc
}

var (
	genericPath = &path{name: "generic", mr: 4, nr: 4, kern: []kernelFunc{nil, nil, nil, nil, kernGeneric4x4}}
	// paths lists the paths usable on this CPU, best first.
	paths  []*path
	active *path
)

func init() {
	paths = append(simdPaths(), genericPath)
	active = paths[0]
	if want := os.Getenv("MSDX_KERNELS"); want != "" {
		if err := SetPath(want); err != nil {
			fmt.Fprintf(os.Stderr, "msdx: MSDX_KERNELS: %v; using %s\n", err, active.name)
		}
	}
}

// Path returns the name of the active microkernel path: "avx512", "avx2"
// or "generic".
func Path() string { return active.name }

// Paths returns the names of the paths this CPU supports, best first.
func Paths() []string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p.name
	}
	return names
}

// SetPath selects the microkernel path by name. It returns an error if the
// CPU does not support it. SetPath must not run concurrently with Sgemm.
func SetPath(name string) error {
	for _, p := range paths {
		if p.name == name {
			active = p
			return nil
		}
	}
	return fmt.Errorf("kernel path %q not available on this CPU (have %v)", name, Paths())
}

// Tile returns the register tile MR x NR of the active path. Callers use NR
// to size work chunks along N.
func Tile() (mr, nr int) { return active.mr, active.nr }

type workspace struct {
	a, b, tile []float32
}

// workspaces, rowTasks, colTasks and packedPool are free lists rather than
// sync.Pools, which allocate in steady state (see package freelist).
var workspaces freelist.List[workspace]

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// minParallelWork is the m*n*k below which Sgemm stays on one goroutine:
// smaller products finish before goroutines pay off.
const minParallelWork = 1 << 18

// Sgemm computes C = alpha*op(A)*op(B) + beta*C where op(A) is m x k and
// op(B) is k x n, all matrices row-major with leading dimensions lda, ldb,
// ldc (in elements). transA means A is stored k x m (op(A) = A^T), likewise
// transB. With beta == 0, C is not read (NaNs in C do not propagate). It
// uses up to threads goroutines. Sgemm panics if a dimension is negative or
// a slice is too short for its dimensions.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) {
	checkDims(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	p := active
	if threads < 1 {
		threads = 1
	}
	if threads == 1 || m*n*k < minParallelWork {
		serial(p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Split the longer of m and n into parts several times more numerous
	// than the threads, taken dynamically: on a shared machine a thread
	// whose core is busy does less of the work instead of holding up the
	// others at the join.
	const partsPerThread = 4
	if n < m {
		step := roundUp((m+threads*partsPerThread-1)/(threads*partsPerThread), p.mr)
		parts := (m + step - 1) / step
		t := rowTasks.Get()
		*t = rowTask{p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, step}
		par.Do(min(threads, parts), parts, t)
		*t = rowTask{}
		rowTasks.Put(t)
		return
	}
	// Columns: A is packed once, its k-blocks shared by every part (each
	// part packing all of A would repeat that work parts times; for a
	// square product it is a third of the time on two threads). The
	// workers first pack the k-blocks between them, wait for one another
	// once, then take the column parts. Every element of C is computed
	// exactly as serial computes it.
	step := roundUp(max((n+threads*partsPerThread-1)/(threads*partsPerThread), minPartCols), p.nr)
	parts := (n + step - 1) / step
	workers := min(threads, parts)
	if workers == 1 {
		serial(p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	blocks := (k + kc - 1) / kc
	blockLen := roundUp(m, p.mr) * min(k, kc)
	shared := getPacked(blocks * blockLen)
	defer packedPool.Put(shared)
	t := colTasks.Get()
	t.rowTask = rowTask{p, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, step}
	t.shared, t.blocks, t.blockLen = *shared, blocks, blockLen
	t.nextBlock.Store(0)
	t.packed.Add(workers)
	par.Do(workers, parts, t)
	t.rowTask, t.shared = rowTask{}, nil // keep no matrices alive from the pool
	colTasks.Put(t)
}

// rowTask computes rows [i*step, (i+1)*step) of C as serial would. The
// parallel products are tasks, not closures, so that they allocate
// nothing: par's helpers run them, which would make a closure escape.
type rowTask struct {
	p              *path
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	step           int
}

var rowTasks freelist.List[rowTask]

func (t *rowTask) Run(_, i int) {
	i0 := i * t.step
	i1 := min(t.m, i0+t.step)
	ao := i0 * t.lda
	if t.transA {
		ao = i0
	}
	serial(t.p, t.transA, t.transB, i1-i0, t.n, t.k, t.alpha, t.a[ao:], t.lda, t.b, t.ldb, t.beta, t.c[i0*t.ldc:], t.ldc)
}

// colTask computes columns [j*step, (j+1)*step) of C from A packed once
// into shared (blocks k-blocks of blockLen floats), which its workers
// pack between them in Start before any takes a column part.
type colTask struct {
	rowTask
	shared           []float32
	blocks, blockLen int
	nextBlock        atomic.Int64
	packed           sync.WaitGroup // a barrier: every worker has packed its blocks
}

var colTasks freelist.List[colTask]

// Start packs k-blocks of A, then waits for the other workers to pack
// theirs. par.Do runs all workers at once, so the barrier is reached.
func (t *colTask) Start(int) {
	for bi := int(t.nextBlock.Add(1)) - 1; bi < t.blocks; bi = int(t.nextBlock.Add(1)) - 1 {
		pc := bi * kc
		packA(t.p, t.shared[bi*t.blockLen:], t.transA, t.a, t.lda, t.m, pc, min(kc, t.k-pc), t.alpha)
	}
	t.packed.Done()
	t.packed.Wait()
}

func (t *colTask) Run(_, i int) {
	m, n, k := t.m, t.n, t.k
	j0 := i * t.step
	j1 := min(n, j0+t.step)
	bo := j0
	if t.transB {
		bo = j0 * t.ldb
	}
	ws := workspaces.Get()
	defer workspaces.Put(ws)
	sub := t.c[j0:]
	if !scaleC(j1-j0, m, k, t.alpha, t.beta, sub, t.ldc) {
		return
	}
	for bi := range t.blocks {
		pc := bi * kc
		block(t.p, ws, t.shared[bi*t.blockLen:], t.transB, m, j1-j0, n, min(kc, k-pc), t.b[bo:], t.ldb, pc, sub, t.ldc, t.beta != 0 || pc > 0)
	}
}

// packedPool holds the shared packed A of multi-threaded products.
var packedPool freelist.List[[]float32]

func getPacked(n int) *[]float32 {
	s := packedPool.Get()
	*s = grow(*s, n)
	return s
}

// minPartCols is the fewest columns a parallel part gets: narrower parts
// would repack A too often for the work they do.
const minPartCols = 256

func roundUp(x, to int) int { return (x + to - 1) / to * to }

func checkDims(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("gemm: ld%s=%d < %d columns", name, ld, cols))
		}
		if need := (rows-1)*ld + cols; len(s) < need {
			panic(fmt.Sprintf("gemm: len(%s)=%d < %d", name, len(s), need))
		}
	}
	if transA {
		check("a", a, k, m, lda)
	} else {
		check("a", a, m, k, lda)
	}
	if transB {
		check("b", b, n, k, ldb)
	} else {
		check("b", b, k, n, ldb)
	}
	check("c", c, m, n, ldc)
}

// serial runs the blocked product on the calling goroutine.
func serial(p *path, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !scaleC(n, m, k, alpha, beta, c, ldc) {
		return
	}
	ws := workspaces.Get()
	defer workspaces.Put(ws)
	ws.a = grow(ws.a, roundUp(m, p.mr)*min(k, kc))
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		packA(p, ws.a, transA, a, lda, m, pc, kb, alpha)
		block(p, ws, ws.a, transB, m, n, n, kb, b, ldb, pc, c, ldc, beta != 0 || pc > 0)
	}
}

// scaleC applies beta to the m x n matrix c ahead of the product, and
// reports whether a product remains to be added (k > 0 and alpha != 0).
func scaleC(n, m, k int, alpha, beta float32, c []float32, ldc int) bool {
	if beta != 0 && beta != 1 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if k == 0 || alpha == 0 {
		if beta == 0 {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return false
	}
	return true
}

// block computes c (+)= A[:, pc:pc+kb] * op(B)[pc:pc+kb, 0:n] from apk,
// that k-block of alpha*A packed by packA, using ws for B and the tile.
// The columns are part of a product wholeN wide, which decides whether B
// is read in place: splitting a product among threads must not turn its
// packed reads of B into strided ones (at ldb = 65536, the strided kernel
// ran at half speed).
func block(p *path, ws *workspace, apk []float32, transB bool, m, n, wholeN, kb int, b []float32, ldb, pc int, c []float32, ldc int, accumulate bool) {
	ws.tile = grow(ws.tile, p.mr*p.nr)
	if !transB && p.strided != nil && readBInPlace(m, wholeN, kb, p) {
		ws.b = grow(ws.b, kb*p.nr)
		inPlaceB(p, ws, apk, m, n, kb, b[pc*ldb:], ldb, c, ldc, accumulate)
		return
	}
	ws.b = grow(ws.b, kb*min(roundUp(n, p.nr), nc))
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		packB(p, ws.b, transB, b, ldb, pc, kb, jc, nb)
		for ir := 0; ir < m; ir += p.mr {
			mr := min(p.mr, m-ir)
			ap := &apk[ir*kb]
			kern, rows := p.kern[mr], mr
			if kern == nil {
				kern, rows = p.kern[p.mr], p.mr
			}
			for jr := 0; jr < nb; jr += p.nr {
				nr := min(p.nr, nb-jr)
				bp := &ws.b[jr*kb]
				co := ir*ldc + jc + jr
				if nr == p.nr && rows == mr {
					kern(kb, ap, bp, &c[co], ldc, accumulate)
					continue
				}
				kern(kb, ap, bp, &ws.tile[0], p.nr, false)
				addTile(c[co:], ldc, ws.tile, p.nr, mr, nr, accumulate)
			}
		}
	}
}

// inPlaceBMaxFloats bounds the kb x n block of B that the strided kernels
// read in place when A has several row panels: every panel re-reads the
// block, which must therefore stay in L2.
const inPlaceBMaxFloats = 1 << 17

// readBInPlace reports whether the microkernels should read the kb x n
// block of B unpacked. Packing copies B once to read it contiguously
// afterwards; that pays only when the packed sliver is reused by several
// row panels and the unpacked block would not stay in cache.
func readBInPlace(m, n, kb int, p *path) bool {
	return m <= p.mr || (kb*n <= inPlaceBMaxFloats && m <= 16*p.mr)
}

// inPlaceB computes c (+)= A*B[0:kb, 0:n] from the packed A in apk with
// the strided kernels reading B in place; only a last partial sliver of
// fewer than NR columns is packed (zero-padded).
func inPlaceB(p *path, ws *workspace, apk []float32, m, n, kb int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	full := n / p.nr * p.nr
	if full < n {
		packB(p, ws.b, false, b, ldb, 0, kb, full, n-full)
	}
	for ir := 0; ir < m; ir += p.mr {
		mr := min(p.mr, m-ir)
		ap := &apk[ir*kb]
		rows := mr
		if p.kern[mr] == nil {
			rows = p.mr
		}
		skern := p.strided[rows]
		for jr := 0; jr < full; jr += p.nr {
			co := ir*ldc + jr
			if rows == mr {
				skern(kb, ap, &b[jr], ldb, &c[co], ldc, accumulate)
				continue
			}
			skern(kb, ap, &b[jr], ldb, &ws.tile[0], p.nr, false)
			addTile(c[co:], ldc, ws.tile, p.nr, mr, p.nr, accumulate)
		}
		if full < n {
			co := ir*ldc + full
			p.kern[rows](kb, ap, &ws.b[0], &ws.tile[0], p.nr, false)
			addTile(c[co:], ldc, ws.tile, p.nr, mr, n-full, accumulate)
		}
	}
}

// addTile adds (or copies) the rows x cols top-left corner of tile into c.
func addTile(c []float32, ldc int, tile []float32, ldt, rows, cols int, accumulate bool) {
	for i := range rows {
		dst := c[i*ldc : i*ldc+cols]
		src := tile[i*ldt : i*ldt+cols]
		if accumulate {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}

// packA writes alpha*op(A)[0:m, pc:pc+kb] as micro-panels of p.mr rows
// (k-major, rows contiguous); the last panel has its exact row count when
// the path has a kernel for it and is zero-padded otherwise.
func packA(p *path, dst []float32, transA bool, a []float32, lda, m, pc, kb int, alpha float32) {
	o := 0
	for ir := 0; ir < m; ir += p.mr {
		mr := min(p.mr, m-ir)
		rows := mr
		if p.kern[mr] == nil {
			rows = p.mr
		}
		panel := dst[o : o+rows*kb]
		if rows != mr {
			clear(panel)
		}
		if transA {
			for kk := range kb {
				src := a[(pc+kk)*lda+ir : (pc+kk)*lda+ir+mr]
				d := panel[kk*rows : kk*rows+mr]
				for i, v := range src {
					d[i] = alpha * v
				}
			}
		} else {
			for i := range mr {
				src := a[(ir+i)*lda+pc : (ir+i)*lda+pc+kb]
				for kk, v := range src {
					panel[kk*rows+i] = alpha * v
				}
			}
		}
		o += rows * kb
	}
}

// packB writes op(B)[pc:pc+kb, jc:jc+nb] as slivers of p.nr columns
// (k-major, columns contiguous), zero-padding the last sliver.
func packB(p *path, dst []float32, transB bool, b []float32, ldb, pc, kb, jc, nb int) {
	nr := p.nr
	for jr := 0; jr < nb; jr += nr {
		w := min(nr, nb-jr)
		sliver := dst[jr*kb : jr*kb+nr*kb]
		if w < nr {
			clear(sliver)
		}
		if transB {
			// Transpose 4 source rows at a time: 4 read streams, 4
			// contiguous floats written per step (one stream per row
			// conflicts in L1 when ldb is a power of two).
			j := 0
			for ; j+4 <= w; j += 4 {
				o := (jc+jr+j)*ldb + pc
				r0 := b[o : o+kb]
				r1 := b[o+ldb : o+ldb+kb]
				r2 := b[o+2*ldb : o+2*ldb+kb]
				r3 := b[o+3*ldb : o+3*ldb+kb]
				for kk := range r0 {
					d := sliver[kk*nr+j : kk*nr+j+4 : kk*nr+j+4]
					d[0], d[1], d[2], d[3] = r0[kk], r1[kk], r2[kk], r3[kk]
				}
			}
			for ; j < w; j++ {
				src := b[(jc+jr+j)*ldb+pc : (jc+jr+j)*ldb+pc+kb]
				for kk, v := range src {
					sliver[kk*nr+j] = v
				}
			}
		} else {
			for kk := range kb {
				o := (pc+kk)*ldb + jc + jr
				copy(sliver[kk*nr:kk*nr+w], b[o:o+w])
			}
		}
	}
}

// kernGeneric4x4 is the portable microkernel: a 4 x 4 tile held in sixteen
// scalar accumulators, which keeps it well ahead of a naive triple loop.
func kernGeneric4x4(kb int, ap, bp, cp *float32, ldc int, accumulate bool) {
	a := unsafe.Slice(ap, 4*kb)
	b := unsafe.Slice(bp, 4*kb)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for k := 0; k < kb; k++ {
		av := a[4*k : 4*k+4 : 4*k+4]
		bv := b[4*k : 4*k+4 : 4*k+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	c := unsafe.Slice(cp, 3*ldc+4)
	r0, r1, r2, r3 := c[0:4:4], c[ldc:ldc+4:ldc+4], c[2*ldc:2*ldc+4:2*ldc+4], c[3*ldc:3*ldc+4:3*ldc+4]
	if accumulate {
		c00 += r0[0]
		c01 += r0[1]
		c02 += r0[2]
		c03 += r0[3]
		c10 += r1[0]
		c11 += r1[1]
		c12 += r1[2]
		c13 += r1[3]
		c20 += r2[0]
		c21 += r2[1]
		c22 += r2[2]
		c23 += r2[3]
		c30 += r3[0]
		c31 += r3[1]
		c32 += r3[2]
		c33 += r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}

// PackedA is a matrix A packed for the microkernels once, for several products by the
// same A (package nn multiplies every chunk of a batch by the same weights): products
// from it compute exactly what Sgemm computes from A. The zero PackedA is empty.
type PackedA struct {
	p        *path
	m, k     int
	alpha    float32
	blockLen int
	data     []float32
}

// Pack packs alpha*op(A), an m x k matrix (stored k x m if transA), reusing pa's storage.
func (pa *PackedA) Pack(transA bool, m, k int, alpha float32, a []float32, lda int) {
	checkDims(transA, false, m, 0, k, a, lda, nil, 0, nil, 0)
	p := active
	blocks := (k + kc - 1) / kc
	pa.p, pa.m, pa.k, pa.alpha = p, m, k, alpha
	pa.blockLen = roundUp(m, p.mr) * min(k, kc)
	pa.data = grow(pa.data, blocks*pa.blockLen)
	for bi := range blocks {
		pc := bi * kc
		packA(p, pa.data[bi*pa.blockLen:], transA, a, lda, m, pc, min(kc, k-pc), alpha)
	}
}

// Rows returns the number of rows of the packed matrix (0 if empty).
func (pa *PackedA) Rows() int { return pa.m }

// SgemmPacked computes C = A*op(B) + beta*C on the calling goroutine from A packed in
// pa (alpha applied), op(B) being k x n, with the same bits as Sgemm.
func SgemmPacked(pa *PackedA, transB bool, n int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	m, k := pa.m, pa.k
	checkDims(false, transB, m, n, k, pa.data, k, b, ldb, c, ldc) // A: packed, at least m*k floats
	if m == 0 || n == 0 || !scaleC(n, m, k, pa.alpha, beta, c, ldc) {
		return
	}
	ws := workspaces.Get()
	defer workspaces.Put(ws)
	for pc := 0; pc < k; pc += kc {
		block(pa.p, ws, pa.data[pc/kc*pa.blockLen:], transB, m, n, n, min(kc, k-pc), b, ldb, pc, c, ldc, beta != 0 || pc > 0)
	}
}
