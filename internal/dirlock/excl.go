//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dirlock

import (
	"errors"
	"os"
)

// killLeavesLock reports whether a killed holder leaves its lock behind.
const killLeavesLock = true

// lockFile creates the lock file name, which must not exist, or returns a *HeldError
// when it does. The lock is always an exclusive-create one.
func lockFile(name string) (*os.File, bool, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, false, &HeldError{Stale: staleHint(name)}
	}
	return f, true, err
}

// unlockFile closes and removes the lock file.
func unlockFile(f *os.File, name string, _ bool) error {
	return unlockExclusive(f, name)
}
