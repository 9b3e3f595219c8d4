//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dirlock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// noFlockEnv, when set to an errno number, makes flock fail with it in the helper process.
const noFlockEnv = "DIRLOCK_TEST_NOFLOCK"

func init() {
	if v := os.Getenv(noFlockEnv); v != "" {
		var errno int
		fmt.Sscan(v, &errno)
		flock = func(int, int) error { return syscall.Errno(errno) }
	}
}

// forceNoFlock makes flock fail with errno, as on a file system without flock, until the
// test ends.
func forceNoFlock(t *testing.T, errno syscall.Errno) {
	t.Helper()
	saved := flock
	flock = func(int, int) error { return errno }
	t.Cleanup(func() { flock = saved })
}

// TestFallbackInProcess locks a directory where flock is not supported: the lock is the
// lock file's existence, a second Acquire names the holder and how to clear a stale
// lock, and Release removes the file.
func TestFallbackInProcess(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSYS, syscall.EOPNOTSUPP} {
		t.Run(errno.Error(), func(t *testing.T) {
			forceNoFlock(t, errno)
			dir := t.TempDir()
			name := filepath.Join(dir, FileName)
			l, err := Acquire(dir, "msdx train")
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			_, err = Acquire(dir, "msdx eval")
			var held *HeldError
			if !errors.As(err, &held) || held.Holder == nil || held.Holder.PID != os.Getpid() {
				t.Fatalf("second Acquire: %v, want a *HeldError naming this process", err)
			}
			if want := "; wait for it or stop it; if that process is gone, remove " + name; !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %q, want it to end with %q", err, want)
			}
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Release, %s: %v, want it removed", name, err)
			}
			l, err = Acquire(dir, "msdx eval")
			if err != nil {
				t.Fatalf("Acquire after Release: %v", err)
			}
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFallbackLeftover: an empty lock file, as a released flock leaves it (a run directory
// copied from a local disk to a file system without flock), is taken for a lock that names
// no holder, and the error says how to clear it.
func TestFallbackLeftover(t *testing.T) {
	forceNoFlock(t, syscall.ENOSYS)
	dir := t.TempDir()
	name := writeFile(t, filepath.Join(dir, FileName))
	_, err := Acquire(dir, "msdx eval")
	want := fmt.Sprintf("%s is in use by another process (%s names no holder); wait for it or stop it; if that process is gone, remove %s", dir, name, name)
	if err == nil || err.Error() != want {
		t.Fatalf("Acquire: %v, want %q", err, want)
	}
	os.Remove(name)
	l, err := Acquire(dir, "msdx eval")
	if err != nil {
		t.Fatalf("Acquire after removing the file: %v", err)
	}
	l.Release()
}

// TestOtherErrorsFail: flock errors other than "not supported" are errors, not a fallback.
func TestOtherErrorsFail(t *testing.T) {
	forceNoFlock(t, syscall.ENOLCK)
	dir := t.TempDir()
	l, err := Acquire(dir, "msdx eval")
	if err == nil {
		l.Release()
		t.Fatal("Acquire succeeded when flock failed with ENOLCK")
	}
	var held *HeldError
	if errors.As(err, &held) || !errors.Is(err, syscall.ENOLCK) {
		t.Errorf("Acquire: %v, want an error wrapping ENOLCK", err)
	}
}

// TestFallbackOtherProcess locks a directory in a helper process where flock is not
// supported: this process sees the lock, and a killed helper leaves it, stale, until
// the file is removed.
func TestFallbackOtherProcess(t *testing.T) {
	forceNoFlock(t, syscall.ENOSYS)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir, fmt.Sprintf("%s=%d", noFlockEnv, int(syscall.ENOSYS)))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper printed %q (%v), stderr %q", line, err, stderr.String())
	}
	_, err = Acquire(dir, "msdx eval")
	var held *HeldError
	if !errors.As(err, &held) || held.Holder == nil || held.Holder.PID != cmd.Process.Pid {
		t.Fatalf("Acquire while the helper holds the lock: %v, want it to name pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	_, err = Acquire(dir, "msdx eval")
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "if that process is gone, remove ") {
		t.Fatalf("Acquire after the helper was killed: %v, want a stale lock", err)
	}
	os.Remove(filepath.Join(dir, FileName))
	l, err := Acquire(dir, "msdx eval")
	if err != nil {
		t.Fatalf("Acquire after removing the stale lock: %v", err)
	}
	l.Release()
}
