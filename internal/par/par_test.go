package par

import (
	"sync"
	"sync/atomic"
	"testing"
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
