//go:build unix

package data

import (
	"os"
	"syscall"
)

// mapFile maps the file read-only into memory: pages are read on first use and the kernel
// may drop them again, so a cache larger than RAM costs only its working set.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}
