// Package freelist provides List, a mutex-guarded stack of reusable objects
// for the kernels' per-call state (tasks, GEMM workspaces, scratch buffers).
//
// sync.Pool, which these used before, is not allocation-free in steady
// state: its per-P chains allocate new segments as they drain and refill
// when objects move between goroutines, as they do between the workers of
// a parallel call, and it drops every object when GOMAXPROCS changes and
// at garbage collections. A List never allocates once it has held as many
// objects as are in use at once, and never drops them; the objects it
// holds here are either small or reused by every training step, so
// keeping them costs little memory.
package freelist

import "sync"

// List is a stack of *T; the zero List is empty and ready to use.
type List[T any] struct {
	mu    sync.Mutex
	items []*T
}

// Get returns the most recently put object (its caches are the warmest),
// or a new zero T if the list is empty.
func (l *List[T]) Get() *T {
	l.mu.Lock()
	if k := len(l.items); k > 0 {
		t := l.items[k-1]
		l.items[k-1] = nil
		l.items = l.items[:k-1]
		l.mu.Unlock()
		return t
	}
	l.mu.Unlock()
	return new(T)
}

// Put adds t to the list.
func (l *List[T]) Put(t *T) {
	l.mu.Lock()
	l.items = append(l.items, t)
	l.mu.Unlock()
}
