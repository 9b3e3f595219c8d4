package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/msdx/msdx/study"
)

// Slurm runs trials as the tasks of one Slurm job array, at most Jobs at a time
// (sbatch --array=LIST%Jobs). Each task runs the worker with its index from
// SLURM_ARRAY_TASK_ID, in the submitting directory with the submitting environment
// (sbatch's defaults), and appends its output to its trial's worker.log. The study
// directory and the data must be on a filesystem that the nodes share.
type Slurm struct {
	Worker Worker
	// Jobs caps how many tasks run at once; Threads are each trial's kernel threads.
	Jobs, Threads int
	// CPUs per task (default Threads); Partition, Time (sbatch --time) and Memory
	// (sbatch --mem) are passed on when set.
	CPUs                    int
	Partition, Time, Memory string
	// Poll is how often squeue is asked; 0 means 5 seconds.
	Poll time.Duration
	// StopGrace is how long cancelled tasks have to checkpoint after SIGTERM before
	// scancel kills them; 0 means a minute.
	StopGrace time.Duration
	// Sbatch, Squeue and Scancel are the commands (default: found on PATH).
	Sbatch, Squeue, Scancel string
	// Env ("KEY=VALUE", no commas) is added to the tasks' environment, which is
	// otherwise the submitting one (sbatch --export=ALL,Env...).
	Env []string
}

// Name returns "slurm".
func (s *Slurm) Name() string { return "slurm" }

func (s *Slurm) cmd(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

// Script returns the batch script of a job array running worker for the study in dir
// (an absolute path) with threads threads. Every word is quoted for the shell: nothing
// from the study is ever interpreted by it.
func Script(worker Worker, dir string, threads int) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by msdx: one task of a study's job array; the task's index is the trial's.\n")
	b.WriteString("exec")
	for _, w := range worker.Command(dir, ArrayTask, threads) {
		b.WriteString(" " + shellQuote(w))
	}
	b.WriteString("\n")
	return b.String()
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Execute submits the trials as one job array and follows it until every task has left
// the queue; cancelling ctx cancels the job (SIGTERM first, so that trials checkpoint).
func (s *Slurm) Execute(ctx context.Context, dir study.Dir, indices []int, update func(Update)) error {
	if s.Worker == nil || s.Jobs < 1 || s.Threads < 1 {
		panic("runner: Slurm needs a Worker, Jobs and Threads")
	}
	abs, err := filepath.Abs(string(dir))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(abs, "slurm"), 0o755); err != nil {
		return err
	}
	script := filepath.Join(abs, "slurm", "array-"+time.Now().UTC().Format("20060102T150405.000000000")+".sh")
	if err := os.WriteFile(script, []byte(Script(s.Worker, abs, s.Threads)), 0o755); err != nil {
		return err
	}
	cpus := s.CPUs
	if cpus == 0 {
		cpus = s.Threads
	}
	argv := []string{
		"--parsable",
		"--job-name=msdx-" + study.SafeName(filepath.Base(abs)),
		fmt.Sprintf("--array=%s%%%d", indexList(indices), s.Jobs),
		"--cpus-per-task=" + strconv.Itoa(cpus),
		"--output=" + filepath.Join(abs, study.TrialsDir, "%4a", study.WorkerLog),
		"--open-mode=append",
	}
	if s.Partition != "" {
		argv = append(argv, "--partition="+s.Partition)
	}
	if s.Time != "" {
		argv = append(argv, "--time="+s.Time)
	}
	if s.Memory != "" {
		argv = append(argv, "--mem="+s.Memory)
	}
	if len(s.Env) > 0 {
		for _, kv := range s.Env {
			if strings.Contains(kv, ",") || !strings.Contains(kv, "=") {
				return fmt.Errorf("environment %q cannot be passed to sbatch --export (want KEY=VALUE without commas)", kv)
			}
		}
		argv = append(argv, "--export=ALL,"+strings.Join(s.Env, ","))
	}
	argv = append(argv, script)
	out, err := run(ctx, s.cmd(s.Sbatch, "sbatch"), argv...)
	if err != nil {
		return fmt.Errorf("sbatch: %w", err)
	}
	// --parsable prints "jobid" or "jobid;cluster".
	job, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(job); err != nil {
		return fmt.Errorf("sbatch printed %q, not a job id", out)
	}
	return s.follow(ctx, dir, job, indices, update)
}

// follow polls squeue until no task of job is queued, reporting starts and ends.
func (s *Slurm) follow(ctx context.Context, dir study.Dir, job string, indices []int, update func(Update)) error {
	poll := s.Poll
	if poll == 0 {
		poll = 5 * time.Second
	}
	ended := map[int]bool{}
	started := map[int]bool{}
	want := map[int]bool{}
	for _, i := range indices {
		want[i] = true
	}
	failures := 0
	cancelled := false
	var killAt time.Time
	for {
		queued, err := s.queue(job)
		if err != nil {
			// squeue fails now and then on busy clusters; give up only when it keeps failing.
			failures++
			if failures >= 5 {
				return fmt.Errorf("squeue: %w", err)
			}
		} else {
			failures = 0
			for i, state := range queued {
				if want[i] && !started[i] && state != "PENDING" {
					started[i] = true
					update(Update{Trial: i, Started: true, Detail: "(slurm job " + job + "_" + strconv.Itoa(i) + ")"})
				}
			}
			for _, i := range indices {
				if _, ok := queued[i]; !ok && !ended[i] {
					ended[i] = true
					detail := ""
					if cancelled {
						detail = "cancelled"
					} else if !started[i] {
						detail = "left the Slurm queue before it was seen running"
					}
					update(Update{Trial: i, Detail: detail})
				}
			}
			if len(ended) == len(indices) {
				if cancelled {
					return ctx.Err()
				}
				return nil
			}
		}
		select {
		case <-time.After(poll):
		case <-ctx.Done():
			if !cancelled {
				cancelled = true
				grace := s.StopGrace
				if grace == 0 {
					grace = time.Minute
				}
				killAt = time.Now().Add(grace)
				// --full signals the batch step too, where the worker runs.
				if _, err := run(context.Background(), s.cmd(s.Scancel, "scancel"), "--signal=TERM", "--full", job); err != nil {
					return fmt.Errorf("scancel: %w", err)
				}
			}
			time.Sleep(min(poll, time.Second))
		}
		if cancelled && !killAt.IsZero() && time.Now().After(killAt) {
			killAt = time.Time{}
			if _, err := run(context.Background(), s.cmd(s.Scancel, "scancel"), job); err != nil {
				return fmt.Errorf("scancel: %w", err)
			}
		}
	}
}

// queue returns the state of every task of job still in the queue, by array index.
func (s *Slurm) queue(job string) (map[int]string, error) {
	out, err := run(context.Background(), s.cmd(s.Squeue, "squeue"), "--noheader", "--array", "--jobs="+job, "--format=%K %T")
	if err != nil {
		// squeue rejects a job id that has left the controller's memory: the job is over.
		if strings.Contains(err.Error(), "Invalid job id") {
			return map[int]string{}, nil
		}
		return nil, err
	}
	q := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		// A pending array not yet split prints its index range ("2-5%2"); every index
		// in it is pending.
		for _, i := range parseIndexList(f[0]) {
			q[i] = f[1]
		}
	}
	return q, nil
}

// parseIndexList parses "3", "2-5" or "1,3-4%2" into indices; it returns nil for
// anything else.
func parseIndexList(s string) []int {
	s, _, _ = strings.Cut(s, "%")
	s = strings.Trim(s, "[]")
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}

// run runs a command and returns its standard output; a failure carries its stderr.
func run(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
