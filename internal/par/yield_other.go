//go:build !linux

package par

// osYield does nothing where msdx has no system call for it: the spin still yields to
// the process's other goroutines.
func osYield() {}
