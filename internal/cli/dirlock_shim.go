package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// TEMPORARY until internal/dirlock lands from the lock branch.
type dirLock struct{ f *os.File }

func (l *dirLock) Release() { l.f.Close() }

func acquireDir(dir, what string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use (%s): %w", dir, what, err)
	}
	return &dirLock{f}, nil
}
