package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/msdx/msdx/study"
)

// Local runs trials as subprocesses of this machine, Jobs at a time. A trial that
// crashes takes only its own process down.
type Local struct {
	Worker Worker
	// Jobs is how many trials run at once, Threads the kernel threads of each.
	Jobs, Threads int
	// Env is added to the workers' environment.
	Env []string
	// StopGrace is how long a cancelled worker has to checkpoint after SIGTERM before
	// it is killed; 0 means a minute.
	StopGrace time.Duration
}

// Name returns "local".
func (l *Local) Name() string { return "local" }

// Execute runs the trials, each with its output appended to its worker.log.
func (l *Local) Execute(ctx context.Context, dir study.Dir, indices []int, update func(Update)) error {
	if l.Worker == nil || l.Jobs < 1 || l.Threads < 1 {
		panic("runner: Local needs a Worker, Jobs and Threads")
	}
	var mu sync.Mutex // serialises update
	sem := make(chan struct{}, l.Jobs)
	var wg sync.WaitGroup
	var firstErr error
	for _, i := range indices {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			detail, err := l.runOne(ctx, dir, i, func() {
				mu.Lock()
				update(Update{Trial: i, Started: true, Detail: "(local)"})
				mu.Unlock()
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if ctx.Err() == nil || err == nil {
				update(Update{Trial: i, Detail: detail})
			}
		}(i)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// runOne runs trial i and returns how its process ended when it did not succeed.
func (l *Local) runOne(ctx context.Context, dir study.Dir, i int, started func()) (string, error) {
	logFile, err := os.OpenFile(dir.TrialPath(i, study.WorkerLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	argv := l.Worker.Command(string(dir), i, l.Threads)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), l.Env...)
	// A process group of its own: Ctrl-C in the terminal reaches the coordinator only,
	// which stops the workers itself (SIGTERM, then a grace period to checkpoint).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(logFile, "msdx: %s: %q\n", time.Now().UTC().Format(time.RFC3339), argv)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting trial %s: %w", study.TrialID(i), err)
	}
	started()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		grace := l.StopGrace
		if grace == 0 {
			grace = time.Minute
		}
		select {
		case werr = <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			werr = <-done
		}
	}
	if werr != nil {
		return werr.Error(), nil
	}
	return "", nil
}
