package par

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countTask counts the calls of each part and checks worker indices.
type countTask struct {
	t       *testing.T
	workers int
	calls   []atomic.Int32
	started atomic.Int32
	barrier sync.WaitGroup
}

func (c *countTask) Start(int) {
	c.started.Add(1)
	c.barrier.Done()
	c.barrier.Wait() // deadlocks unless all workers run at once
}

func (c *countTask) Run(w, i int) {
	if w < 0 || w >= max(c.workers, 1) {
		c.t.Errorf("worker %d out of [0,%d)", w, c.workers)
	}
	c.calls[i].Add(1)
}

func check(t *testing.T, workers, n int) {
	c := &countTask{t: t, workers: workers, calls: make([]atomic.Int32, n)}
	c.barrier.Add(max(workers, 1))
	Do(workers, n, c)
	for i := range c.calls {
		if got := c.calls[i].Load(); got != 1 {
			t.Errorf("workers=%d n=%d: part %d ran %d times", workers, n, i, got)
		}
	}
	if got := c.started.Load(); got != int32(max(workers, 1)) {
		t.Errorf("workers=%d n=%d: %d Start calls", workers, n, got)
	}
}

func TestDo(t *testing.T) {
	for _, workers := range []int{0, 1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 7, 100} {
			check(t, workers, n)
		}
	}
}

// TestDoConcurrent runs Do from several goroutines at once, each call with
// more workers than there are idle helpers.
func TestDoConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				check(t, 3, 20)
			}
		})
	}
	wg.Wait()
}

type nopTask struct{}

func (nopTask) Run(int, int) {}

func TestDoAllocatesNothing(t *testing.T) {
	task := &nopTask{}
	Do(4, 16, task) // start the helpers
	if n := testing.AllocsPerRun(100, func() { Do(4, 16, task) }); n != 0 {
		t.Errorf("Do allocated %v times per call, want 0", n)
	}
}

// phasedTask runs phases on every worker; between phases the last to arrive at the barrier
// advances done, which every worker must then see.
type phasedTask struct {
	t       *testing.T
	phases  int
	slow    time.Duration // how long worker 1 works in each phase, outlasting the spin
	barrier Barrier
	done    int // phases finished, written only between phases
	lasts   atomic.Int32
}

func (p *phasedTask) Run(w, _ int) {
	for i := range p.phases {
		if w == 1 {
			time.Sleep(p.slow)
		}
		if p.barrier.Wait() {
			p.lasts.Add(1)
			p.done++
			p.barrier.Release()
		}
		if p.done != i+1 {
			p.t.Errorf("worker %d after phase %d sees %d phases done", w, i, p.done)
			return
		}
	}
}

func TestBarrier(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 5} {
		for _, slow := range []time.Duration{0, 3 * SpinTime} {
			p := &phasedTask{t: t, phases: 20, slow: slow}
			if slow > 0 {
				p.phases = 3
			}
			p.barrier.Reset(workers)
			Do(workers, workers, p)
			if got := p.lasts.Load(); got != int32(p.phases) {
				t.Errorf("workers=%d slow=%v: %d workers were last, want one per phase (%d)", workers, slow, got, p.phases)
			}
		}
	}
}
