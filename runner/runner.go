// Package runner runs the trials of a study (package study) through an executor: local
// subprocesses or a Slurm job array. Every executor runs the same Worker (for msdx, "msdx
// trial run --study DIR --index N", package trial), which writes only inside its trial's
// directory; the coordinator (Run) is the only writer of the study's journal.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/msdx/msdx/study"
)

// Executor runs trials of a study.
type Executor interface {
	// Name names the executor in messages and the journal ("local", "slurm").
	Name() string
	// Execute runs the trials of dir with the given indices and returns when every one
	// has ended. A trial that fails is not an error of Execute (its status says so);
	// an error means the executor itself failed. When ctx is cancelled, Execute stops
	// the trials (they write resumable checkpoints), waits for them and returns
	// ctx.Err(). It calls update, from one goroutine at a time, as trials start and end.
	Execute(ctx context.Context, dir study.Dir, indices []int, update func(Update)) error
}

// Update reports a trial that started or ended.
type Update struct {
	Trial int
	// Started is true when the trial started, false when it ended.
	Started bool
	// Detail says how a trial ended when it left no status (e.g. "exit status 2",
	// "signal: killed"), or names the job that runs it.
	Detail string
}

// Worker is the program that runs one trial of a study in a process of its own, writing
// only inside the trial's directory. Executors know nothing else of it.
type Worker interface {
	// Command returns the argv that runs trial index of the study in dir with threads
	// kernel threads; index is ArrayTask where a Slurm array task runs it, which takes its
	// index from SLURM_ARRAY_TASK_ID.
	Command(dir string, index, threads int) []string
}

// ArrayTask is the index Worker.Command is given for a Slurm array task's trial.
const ArrayTask = -1

// Argv is a Worker that appends the trial to an argv prefix as "--study DIR --index N
// --threads T" (no --index for ArrayTask): the command line of msdx's trial worker,
// whatever the program and subcommand that the prefix names.
type Argv []string

// Command returns the prefix followed by the trial's flags.
func (a Argv) Command(dir string, index, threads int) []string {
	argv := append(append([]string(nil), a...), "--study", dir)
	if index != ArrayTask {
		argv = append(argv, "--index", strconv.Itoa(index))
	}
	return append(argv, "--threads", strconv.Itoa(threads))
}

// Outcome is how one trial of Run ended.
type Outcome struct {
	Trial  int
	Status string // study.StatusFinished, study.StatusFailed, "unfinished" or "skipped"
	Reason string
}

// Summary is what Run did.
type Summary struct {
	// Skipped were already finished; Finished, Failed and Unfinished are the trials run.
	Skipped, Finished int
	Failed            []Outcome
	Unfinished        []Outcome
}

// OK reports whether every trial has finished.
func (s *Summary) OK() bool { return len(s.Failed) == 0 && len(s.Unfinished) == 0 }

// Error describes the trials that did not finish, or returns "" when all did.
func (s *Summary) Error() string {
	if s.OK() {
		return ""
	}
	msg := ""
	for _, o := range append(slices.Clip(s.Failed), s.Unfinished...) {
		if msg != "" {
			msg += "; "
		}
		msg += fmt.Sprintf("trial %s %s: %s", study.TrialID(o.Trial), o.Status, o.Reason)
	}
	return msg
}

// Run runs the planned trials of dir with the given indices through exec, skipping those
// that have finished with their current key, and records what happens in the journal.
// log, when not nil, receives one line per event for people.
func Run(ctx context.Context, dir study.Dir, exec Executor, indices []int, log func(string)) (*Summary, error) {
	if log == nil {
		log = func(string) {}
	}
	sum := &Summary{}
	var todo []int
	var events []study.Event
	for _, i := range indices {
		t, err := dir.ReadTrial(i)
		if err != nil {
			return nil, err
		}
		done, err := dir.Done(t)
		if err != nil {
			return nil, err
		}
		if done {
			sum.Skipped++
			events = append(events, study.Event{Event: "skipped", Trial: ptr(i), Detail: "finished before"})
			continue
		}
		todo = append(todo, i)
	}
	if sum.Skipped > 0 {
		log(fmt.Sprintf("%d of %d trials finished before; running %d", sum.Skipped, len(indices), len(todo)))
	}
	if err := dir.AppendJournal(events...); err != nil {
		return nil, err
	}
	if len(todo) == 0 {
		return sum, nil
	}
	if err := dir.AppendJournal(study.Event{Event: "submitted", Detail: fmt.Sprintf("%s executor, trials %s", exec.Name(), indexList(todo))}); err != nil {
		return nil, err
	}
	start := time.Now()
	ended := 0
	var journalErr error
	update := func(u Update) {
		if u.Started {
			log(fmt.Sprintf("trial %s started %s", study.TrialID(u.Trial), u.Detail))
			return
		}
		ended++
		o := outcome(dir, u)
		switch o.Status {
		case study.StatusFinished:
			sum.Finished++
		case study.StatusFailed:
			sum.Failed = append(sum.Failed, o)
		default:
			sum.Unfinished = append(sum.Unfinished, o)
		}
		line := fmt.Sprintf("trial %s %s", study.TrialID(u.Trial), o.Status)
		if o.Reason != "" {
			line += ": " + o.Reason
		}
		log(progressPrefix(ended, len(todo), time.Since(start)) + " " + line)
		if err := dir.AppendJournal(study.Event{Event: o.Status, Trial: ptr(u.Trial), Detail: o.Reason}); err != nil && journalErr == nil {
			journalErr = err
		}
	}
	err := exec.Execute(ctx, dir, todo, update)
	if ctx.Err() != nil {
		_ = dir.AppendJournal(study.Event{Event: "cancelled", Detail: fmt.Sprintf("%d of %d trials ended", ended, len(todo))})
		return sum, ctx.Err()
	}
	if err != nil {
		return sum, fmt.Errorf("%s executor: %w", exec.Name(), err)
	}
	if journalErr != nil {
		return sum, journalErr
	}
	detail := fmt.Sprintf("%d finished, %d failed, %d unfinished, %d skipped in %s",
		sum.Finished, len(sum.Failed), len(sum.Unfinished), sum.Skipped, time.Since(start).Round(time.Second))
	return sum, dir.AppendJournal(study.Event{Event: "done", Detail: detail})
}

// progressPrefix says how many of total trials have ended after elapsed, and estimates
// the time the others need from the rate so far (trials ending in parallel count as such).
func progressPrefix(ended, total int, elapsed time.Duration) string {
	s := fmt.Sprintf("[%d/%d, %s", ended, total, elapsed.Round(time.Second))
	if ended > 0 && ended < total {
		left := time.Duration(float64(elapsed) / float64(ended) * float64(total-ended))
		s += ", ETA " + left.Round(time.Second).String()
	}
	return s + "]"
}

// outcome reads how the trial of u ended from its status file.
func outcome(dir study.Dir, u Update) Outcome {
	o := Outcome{Trial: u.Trial, Status: "unfinished", Reason: u.Detail}
	t, err := dir.ReadTrial(u.Trial)
	if err != nil {
		o.Reason = err.Error()
		return o
	}
	s, err := dir.ReadStatus(u.Trial)
	switch {
	case err != nil:
		o.Reason = err.Error()
	case s == nil:
		if o.Reason == "" {
			o.Reason = "ended without writing " + study.StatusFile
		} else {
			o.Reason = "ended without writing " + study.StatusFile + " (" + o.Reason + ")"
		}
		if last := lastLine(dir.TrialPath(u.Trial, study.WorkerLog)); last != "" {
			o.Reason += "; its log ends: " + last
		}
	case s.Status == study.StatusFinished && s.Key != t.Key:
		o.Reason = "its status is for another key"
	default:
		o.Status, o.Reason = s.Status, s.Reason
	}
	return o
}

// lastLine returns the last non-empty line of a worker's log (at most its last 4 KiB).
func lastLine(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 4096)
	size, _ := f.Seek(0, io.SeekEnd)
	off := max(0, size-int64(len(buf)))
	n, _ := f.ReadAt(buf, off)
	lines := strings.Split(strings.TrimRight(string(buf[:n]), "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// ErrOversubscribed is returned when trials × threads exceed the cores.
var ErrOversubscribed = errors.New("more threads than cores")

// CheckCores checks that jobs trials of threads threads each fit in cores, unless
// allowed.
func CheckCores(jobs, threads, cores int, allowed bool) error {
	if jobs < 1 || threads < 1 {
		return fmt.Errorf("want at least 1 job and 1 thread, not %d and %d", jobs, threads)
	}
	if jobs*threads > cores && !allowed {
		return fmt.Errorf("%w: %d trials at once × %d threads each = %d, but this machine has %d cores (lower --jobs or --threads, or pass --oversubscribe)",
			ErrOversubscribed, jobs, threads, jobs*threads, cores)
	}
	return nil
}

func ptr(i int) *int { return &i }

// indexList formats indices as Slurm's --array does: "0-3,5,7-8".
func indexList(idx []int) string {
	s := ""
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if s != "" {
			s += ","
		}
		s += strconv.Itoa(idx[i])
		if j > i {
			s += "-" + strconv.Itoa(idx[j])
		}
		i = j + 1
	}
	return s
}
