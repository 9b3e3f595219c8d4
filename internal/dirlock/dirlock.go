// Package dirlock keeps two processes from working in the same directory at once: a run
// directory being trained, resumed or evaluated, or a trial directory of a runner.
//
// Acquire takes an exclusive lock on the file DIR/.lock and writes the holder (pid, host,
// what it does and since when) into it, so that a second Acquire, in this process or any
// other, fails at once with an error naming the holder. Release gives the lock up.
//
// On Linux, macOS and the BSDs the lock is an advisory flock(2) on the open file: the
// kernel drops it when the holder exits, however it exits, so a killed process never
// leaves a stale lock. The file itself stays (and must stay: removing it would let two
// processes lock two different files of the same name). Elsewhere, and on file systems
// that do not support flock (Lustre mounted with noflock, NFS without locking: flock
// fails with ENOSYS or EOPNOTSUPP), the lock is the file's existence (created with O_EXCL
// and removed by Release), so a killed holder leaves a stale lock that the error tells
// the user to remove.
package dirlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// FileName is the name of the lock file inside a locked directory.
const FileName = ".lock"

// Lock is a held lock on a directory.
type Lock struct {
	dir string
	f   *os.File
	// exclusive says that the lock is the file's existence, not a flock.
	exclusive bool
}

// Holder describes the process that holds a lock, as it wrote it into the lock file.
type Holder struct {
	// PID and Host identify the process.
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// What says what the process does, e.g. "msdx train".
	What string `json:"what"`
	// Since is when it took the lock.
	Since time.Time `json:"since"`
}

// HeldError is the error of Acquire when the directory is locked already.
type HeldError struct {
	// Dir is the directory that is in use.
	Dir string
	// Holder is what the lock file says about its holder; nil when it says nothing
	// readable (the holder may have locked it a moment ago and not written it yet).
	Holder *Holder
	// Stale tells the user how to clear a lock that a killed holder left behind; empty
	// where the kernel drops locks of exited processes.
	Stale string
}

// Error says who holds the directory and what to do about it.
func (e *HeldError) Error() string {
	hint := "wait for it or stop it"
	if e.Stale != "" {
		hint += "; " + e.Stale
	}
	h := e.Holder
	if h == nil {
		return fmt.Sprintf("%s is in use by another process (%s names no holder); %s", e.Dir, filepath.Join(e.Dir, FileName), hint)
	}
	return fmt.Sprintf("%s is in use by pid %d on host %s (%s since %s); %s",
		e.Dir, h.PID, h.Host, h.What, h.Since.UTC().Format(time.RFC3339), hint)
}

// Acquire locks dir, which must exist, for the calling process, recording what as what
// it does. It does not wait: when dir is locked already, by another process or by another
// Lock of this one, it returns a *HeldError.
func Acquire(dir, what string) (*Lock, error) {
	name := filepath.Join(dir, FileName)
	f, exclusive, err := lockFile(name)
	if err != nil {
		var held *HeldError
		if errors.As(err, &held) {
			held.Dir = dir
			held.Holder = readHolder(name)
			return nil, held
		}
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	h := Holder{PID: os.Getpid(), Host: host, What: what, Since: time.Now().UTC().Truncate(time.Second)}
	b, err := json.Marshal(h)
	if err != nil {
		panic(err) // a Holder always marshals
	}
	// The file is written in place, never replaced: the lock belongs to this inode.
	if err := writeHolder(f, append(b, '\n')); err != nil {
		unlockFile(f, name, exclusive)
		return nil, fmt.Errorf("locking %s: writing %s: %w", dir, name, err)
	}
	return &Lock{dir: dir, f: f, exclusive: exclusive}, nil
}

// Dir returns the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Release gives the lock up. It panics if the lock was released already.
func (l *Lock) Release() error {
	if l.f == nil {
		panic("dirlock: lock of " + l.dir + " released twice")
	}
	f := l.f
	l.f = nil
	return unlockFile(f, filepath.Join(l.dir, FileName), l.exclusive)
}

// staleHint tells the user how to clear an exclusive-create lock whose holder is gone.
func staleHint(name string) string {
	return "if that process is gone, remove " + name
}

// unlockExclusive closes and removes the lock file of an exclusive-create lock.
func unlockExclusive(f *os.File, name string) error {
	cerr := f.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	return cerr
}

func writeHolder(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads the holder from the lock file name, retrying briefly while it is empty:
// a holder writes it just after taking the lock.
func readHolder(name string) *Holder {
	for try := 0; try < 10; try++ {
		if try > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil
		}
		var h Holder
		if json.Unmarshal(b, &h) == nil && h.PID > 0 {
			return &h
		}
	}
	return nil
}
