//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dirlock

import (
	"errors"
	"os"
	"syscall"
)

// killLeavesLock reports whether a killed holder leaves its lock behind.
const killLeavesLock = false

// lockFile opens (creating it if need be) and flocks the lock file name, or returns a
// *HeldError when another open file holds the lock.
func lockFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{}
		}
		return nil, err
	}
	return f, nil
}

// unlockFile empties the lock file, so that it names no holder, and closes it, which
// drops the lock. The file stays: see the package documentation.
func unlockFile(f *os.File, _ string) error {
	terr := f.Truncate(0)
	if err := f.Close(); err != nil {
		return err
	}
	return terr
}
