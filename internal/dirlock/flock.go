//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dirlock

import (
	"errors"
	"os"
	"syscall"
)

// killLeavesLock reports whether a killed holder leaves its lock behind.
const killLeavesLock = false

// flock is syscall.Flock; tests replace it to force the exclusive-create fallback.
var flock = syscall.Flock

// flockUnsupported reports whether err says that the file system does not do flock(2):
// Lustre mounted with noflock, NFS without lock support.
func flockUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP)
}

// lockFile locks the lock file name, or returns a *HeldError when another process or
// open file holds it. The lock is a flock on the file (which stays after unlockFile);
// where the file system does not support flock, it is the file's existence, as
// excl.go has it on other systems.
//
// The file is first created exclusively: when that succeeds and flock turns out to be
// unsupported, this process already holds the exclusive-create lock. When the file
// exists and flock is unsupported, another process holds it that way (or left it behind
// when it was killed, or the directory was copied from a file system with flock along
// with its emptied lock file; the error says to remove it).
func lockFile(name string) (*os.File, bool, error) {
	created := true
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		created = false
		f, err = os.OpenFile(name, os.O_RDWR, 0o644)
	}
	if err != nil {
		return nil, false, err
	}
	for {
		err = flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return f, false, nil
	case flockUnsupported(err) && created:
		return f, true, nil
	}
	f.Close()
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, false, &HeldError{}
	}
	if flockUnsupported(err) {
		return nil, false, &HeldError{Stale: staleHint(name)}
	}
	return nil, false, err
}

// unlockFile drops the lock: it removes the lock file of an exclusive-create lock;
// otherwise it empties the file, so that it names no holder, and closes it, which drops
// the flock. That file stays: see the package documentation.
func unlockFile(f *os.File, name string, exclusive bool) error {
	if exclusive {
		return unlockExclusive(f, name)
	}
	terr := f.Truncate(0)
	if err := f.Close(); err != nil {
		return err
	}
	return terr
}
