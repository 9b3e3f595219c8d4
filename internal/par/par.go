// Package par runs indexed work on a persistent set of helper goroutines,
// so that a parallel kernel call, or a phase of package nn's data-parallel
// passes, allocates nothing in steady state.
//
// Starting goroutines per call (sync.WaitGroup.Go) allocated a goroutine
// and the closure it ran, several times per layer; a network's forward
// pass made hundreds of such calls. Here helpers, once started, wait for
// work on their own channel and put themselves back on an idle list when
// done; the work is a Task (usually a pooled struct with a Run method)
// instead of a closure, which would escape to the heap because helpers
// run it.
//
// Do keeps the scheduling of the code it replaces: the calling goroutine
// is worker 0, the others are workers 1..workers-1, all of them running at
// once (a Task may wait for its other workers, as Starter tasks do), and
// each takes the next index from a shared atomic counter. Which worker
// runs which index is left to the scheduler, as before, so tasks whose
// results must not depend on it are written that way already.
//
// A task that runs in phases, with serial work between them, runs as one Do
// whose workers meet at a Barrier between phases rather than as a Do per
// phase: the barrier keeps them spinning briefly instead of parking them.
package par

import (
	"sync"
	"sync/atomic"

	"github.com/msdx/msdx/internal/freelist"
)

// Task is work split into parts 0..n-1.
type Task interface {
	// Run does part i on worker (0 is the goroutine that called Do).
	Run(worker, i int)
}

// Starter is a Task whose every worker calls Start once, before taking its
// first part. All workers run concurrently, so Start may wait for the
// others (a barrier sized by the workers passed to Do).
type Starter interface {
	Task
	Start(worker int)
}

// Do runs t.Run(w, i) for every i in [0, n) on exactly max(workers, 1)
// goroutines: the caller and workers-1 helpers, started the first time
// they are needed and reused afterwards. It returns when every part is
// done. Nested and concurrent calls are allowed: a call that finds no
// idle helper starts one, so the set of helpers grows to the largest
// number of concurrent workers the program has asked for.
func Do(workers, n int, t Task) {
	if workers <= 1 {
		if s, ok := t.(Starter); ok {
			s.Start(0)
		}
		for i := range n {
			t.Run(0, i)
		}
		return
	}
	g := groups.Get()
	g.task, g.n = t, int64(n)
	g.next.Store(0)
	g.done.Add(workers - 1)
	for w := 1; w < workers; w++ {
		idle().wake <- job{g, w}
	}
	g.work(0)
	g.done.Wait()
	g.task = nil // do not keep the task's tensors alive from the pool
	groups.Put(g)
}

// group is one Do call's shared state.
type group struct {
	task Task
	n    int64
	next atomic.Int64
	done sync.WaitGroup // the helpers' parts of the work
}

// groups is a free list rather than a sync.Pool, which allocates in steady
// state (see package freelist).
var groups freelist.List[group]

func (g *group) work(w int) {
	if s, ok := g.task.(Starter); ok {
		s.Start(w)
	}
	for i := g.next.Add(1) - 1; i < g.n; i = g.next.Add(1) - 1 {
		g.task.Run(w, int(i))
	}
}

// job is what a helper is woken with: a group and its worker index there.
type job struct {
	g *group
	w int
}

// helper is a goroutine waiting for jobs.
type helper struct {
	// wake has room for one job so that the caller that takes this helper
	// from the idle list never blocks, even while the helper is still
	// finishing its previous job after putting itself back.
	wake chan job
}

var (
	mu      sync.Mutex
	helpers []*helper // idle helpers, used last in, first out (warm caches)
)

// idle returns an idle helper, starting one if there is none.
func idle() *helper {
	mu.Lock()
	if k := len(helpers); k > 0 {
		h := helpers[k-1]
		helpers = helpers[:k-1]
		mu.Unlock()
		return h
	}
	mu.Unlock()
	h := &helper{wake: make(chan job, 1)}
	go h.loop()
	return h
}

func (h *helper) loop() {
	for j := range h.wake {
		j.g.work(j.w)
		// Back on the idle list before reporting done: the caller may
		// return and call Do again at once, and must find this helper
		// idle rather than start another one.
		mu.Lock()
		helpers = append(helpers, h)
		mu.Unlock()
		j.g.done.Done()
	}
}
