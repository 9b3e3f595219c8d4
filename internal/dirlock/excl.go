//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dirlock

import (
	"errors"
	"os"
)

// killLeavesLock reports whether a killed holder leaves its lock behind.
const killLeavesLock = true

// lockFile creates the lock file name, which must not exist, or returns a *HeldError
// when it does.
func lockFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, &HeldError{Stale: "if that process is gone, remove " + name}
	}
	return f, err
}

// unlockFile closes and removes the lock file.
func unlockFile(f *os.File, name string) error {
	cerr := f.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	return cerr
}
