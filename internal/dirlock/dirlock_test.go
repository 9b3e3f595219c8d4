package dirlock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// helperEnv, when set, makes the test binary a helper process that locks the directory
// the variable names, prints "locked" and waits for its standard input to close.
const helperEnv = "DIRLOCK_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		l, err := Acquire(dir, "dirlock helper")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		if err := l.Release(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAcquireInProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "msdx train")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	// A second Acquire opens the file again: a separate open file description, which
	// flock treats as another holder.
	_, err = Acquire(dir, "msdx eval")
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if held.Holder == nil {
		t.Fatalf("second Acquire: %v names no holder", err)
	}
	since := held.Holder.Since
	if time.Since(since) > time.Minute || time.Until(since) > time.Second {
		t.Errorf("holder since %v, not about now", since)
	}
	want := fmt.Sprintf("%s is in use by pid %d on host %s (msdx train since %s); wait for it or stop it",
		dir, os.Getpid(), host, since.Format(time.RFC3339))
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "msdx eval")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
	if !panics(func() { l2.Release() }) {
		t.Error("a second Release does not panic")
	}
}

func TestAcquireErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		dir  string
		want string
	}{
		{"missing directory", filepath.Join(dir, "missing"), "locking " + filepath.Join(dir, "missing") + ": "},
		{"not a directory", writeFile(t, filepath.Join(dir, "file")), "locking " + filepath.Join(dir, "file") + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Acquire(tt.dir, "test")
			if err == nil {
				l.Release()
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

// TestAcquireOtherProcess locks a directory in a helper process and checks that the
// error names it, and that its lock goes when it is killed.
func TestAcquireOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
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
	if !errors.As(err, &held) || held.Holder == nil {
		t.Fatalf("Acquire while the helper holds the lock: %v", err)
	}
	if held.Holder.PID != cmd.Process.Pid || held.Holder.What != "dirlock helper" {
		t.Errorf("holder %+v, want pid %d doing %q", held.Holder, cmd.Process.Pid, "dirlock helper")
	}
	if want := fmt.Sprintf("in use by pid %d on host ", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}

	// A killed holder leaves no stale lock where the kernel drops flocks; elsewhere the
	// lock file stays until removed.
	cmd.Process.Kill()
	cmd.Wait()
	if killLeavesLock {
		os.Remove(filepath.Join(dir, FileName))
	}
	l, err := Acquire(dir, "msdx eval")
	if err != nil {
		t.Fatalf("Acquire after the helper was killed: %v", err)
	}
	l.Release()
}

func writeFile(t *testing.T, name string) string {
	t.Helper()
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}
