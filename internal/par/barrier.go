package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Barrier makes the workers of one Do call meet between the phases of a task: a pass
// through a network whose phases each split among the workers, with serial work (combining
// what they computed) between one phase and the next.
//
// A worker that arrives early spins for up to SpinTime before it sleeps. Joining with Do
// after every phase parks the helpers between phases, and waking a parked helper takes
// 100-200 µs on a virtual machine (its core is halted and must be interrupted): on a
// network with a hundred phases per training step that cost a tenth of the second core. A
// spinning worker notices the release within microseconds. Each turn of the spin yields,
// to the process's other goroutines and (on Linux, sched_yield) to other processes'
// threads: when processes share the cores, the partner a worker waits for may be one that
// its spin would otherwise keep off the core (two 2-thread trainings on 2 cores lost 12 %
// to a spin without the second yield, and nothing with it). The spin is bounded, as
// OpenMP's active wait is, so that a worker whose partners are slow gives its core up.
type Barrier struct {
	n       int32
	arrived atomic.Int32
	gen     atomic.Uint32 // raised by each Release
	mu      sync.Mutex
	cond    sync.Cond
}

// SpinTime is how long Barrier.Wait spins before it sleeps.
const SpinTime = time.Millisecond

// Reset readies the barrier for n workers; it must not be called while any waits.
func (b *Barrier) Reset(n int) {
	b.n = int32(n)
	b.arrived.Store(0)
	if b.cond.L == nil {
		b.cond.L = &b.mu
	}
}

// Wait waits for all n workers. The last to arrive returns true at once: it must do the
// work that comes between the phases and then call Release. The others return false after
// that Release.
func (b *Barrier) Wait() bool {
	gen := b.gen.Load()
	if b.arrived.Add(1) == b.n {
		return true
	}
	start := time.Now()
	for i := 1; b.gen.Load() == gen; i++ {
		if i%64 == 0 && time.Since(start) > SpinTime {
			b.mu.Lock()
			for b.gen.Load() == gen {
				b.cond.Wait()
			}
			b.mu.Unlock()
			break
		}
		runtime.Gosched()
		osYield()
	}
	return false
}

// Release lets the workers waiting in Wait go on to the next phase; only the worker to
// which Wait returned true calls it.
func (b *Barrier) Release() {
	b.arrived.Store(0)
	b.mu.Lock()
	b.gen.Add(1)
	b.cond.Broadcast()
	b.mu.Unlock()
}
