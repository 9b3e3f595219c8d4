package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/tensorfile"
	"github.com/msdx/msdx/train"
)

// tinyTrain are the arguments of a run that trains in a second or two: a 2-exit MSDNet
// of width 8 on synthetic images, 2 epochs.
func tinyTrain(images string, extra ...string) []string {
	args := []string{"train", "msdnet-cifar10-small", "--data", "synthetic:train=" + images + ",test=100",
		"--set", "channels=8", "--set", "head.channels=16", "--set", "blocks.count=2",
		"--recipe-set", "batch_size=16", "--epochs", "2"}
	return append(args, extra...)
}

func TestTrainCommandErrors(t *testing.T) {
	notRun := t.TempDir()
	if err := os.WriteFile(filepath.Join(notRun, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no spec", []string{"train", "--out", out}, ExitUsage, "accepts 1 arg"},
		{"no out", []string{"train", "msdnet-cifar10-small"}, ExitUsage, "--out RUN_DIR is required"},
		{"resume with data", []string{"train", "--resume", notRun, "--data", "synthetic"}, ExitUsage, "--data cannot be changed"},
		{"resume with spec", []string{"train", "msdnet-cifar10-small", "--resume", notRun}, ExitUsage, "accepts 0 arg"},
		{"negative seed", tinyTrain("200", "--out", out, "--seed", "-3"), ExitUsage, "--seed -3"},
		{"negative epochs", tinyTrain("200", "--out", out, "--epochs", "-1"), ExitUsage, "--epochs -1: want 1 or more"},
		{"own warm-up longer than --epochs", tinyTrain("200", "--out", out, "--epochs", "1", "--recipe-set", "schedule.warmup_epochs=1"), ExitError,
			"--recipe-set:2: schedule.warmup_epochs: must be in [0, epochs) = [0, 1), not 1 (--epochs 1) (--recipe-set schedule.warmup_epochs=1)"},
		{"bad checkpoint interval", append(tinyTrain("200", "--out", out), "--checkpoint-every", "-1"), ExitUsage, "--checkpoint-every"},
		{"bad data", tinyTrain("200", "--out", out, "--data", "cifar10:/nonexistent/c10"), ExitError, "/nonexistent/c10"},
		{"classes mismatch", tinyTrain("200", "--out", out, "--set", "classes=100"), ExitError, "--set classes=10"},
		{"unknown recipe", tinyTrain("200", "--out", out, "--recipe", "slow"), ExitError, "slow"},
		{"non-run directory", tinyTrain("200", "--out", notRun), ExitError, "not an msdx run directory"},
		{"resume non-run directory", []string{"train", "--resume", notRun}, ExitError, "not an msdx run directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, false, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and a message containing %q", code, stderr, tt.code, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("failed commands created %s", out)
	}
}

// TestTrainCommand runs a tiny training and checks its output: one progress line per
// epoch on stderr when piped, the per-exit test table on stdout.
func TestTrainCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, code := run(t, false, tinyTrain("300", "--out", out, "--threads", "1", "--seed", "7")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"\nepoch 1: lr ", "\nepoch 2: lr ", "val top-1 by exit", "test (100 images) top-1 by exit:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("piped progress redraws lines:\n%q", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || lines[0] != "exit\ttop1\ttop5\tloss\tbest_top1" || !strings.HasPrefix(lines[2], "2\t") {
		t.Errorf("stdout:\n%s\nwant a header and one row per exit", stdout)
	}
	r, err := train.OpenRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Status != train.StatusFinished || r.Info.Threads != 1 || r.Info.Seed != 7 || r.Recipe.Seed != 7 || r.Info.Recipe != "quick" || r.Info.Data != "synthetic:train=300,test=100" {
		t.Errorf("run.json: %+v", r.Info)
	}
	// Quiet prints nothing on stderr; --json prints a summary of the run.
	q := filepath.Join(t.TempDir(), "q")
	stdout, stderr, code = run(t, false, tinyTrain("300", "--out", q, "--quiet", "--json", "--epochs", "1", "--recipe-set", "schedule.warmup_epochs=0")...)
	if code != ExitOK || stderr != "" {
		t.Fatalf("--quiet --json: exit %d, stderr %q", code, stderr)
	}
	var sum TrainSummary
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("--json: %v in %q", err, stdout)
	}
	if sum.Run != q || sum.Status != train.StatusFinished || sum.Spec != "msdnet-cifar10-small" || sum.EpochsDone != 1 || sum.Epochs != 1 ||
		sum.Test == nil || len(sum.Test.Final) != 2 || sum.Test.Images != 100 || sum.Session == nil || sum.Session.Kernels != kernels.Path() {
		t.Errorf("--json summary: %s", stdout)
	}
}

// TestTrainEpochsShortensWarmup checks that "--epochs 1" with the quick recipe, whose
// warm-up is one epoch, trains with the warm-up shortened and says so once on stderr
// (issue 12), and that --quiet drops the note.
func TestTrainEpochsShortensWarmup(t *testing.T) {
	note := "msdx: recipe quick: schedule.warmup_epochs: presets/quick.toml:20 writes 1, too long for --epochs 1: warming up for 0 epochs instead (choose with --recipe-set schedule.warmup_epochs=N)\n"
	tests := []struct {
		name  string
		extra []string
		notes int
	}{
		{"note", nil, 1},
		{"quiet", []string{"--quiet"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			args := append(tinyTrain("200", "--out", out, "--threads", "1", "--epochs", "1"), tc.extra...)
			_, stderr, code := run(t, false, args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if diff := cmp.Diff(tc.notes, strings.Count(stderr, note)); diff != "" {
				t.Errorf("warm-up notes (-want +got):\n%s\nstderr:\n%s", diff, stderr)
			}
			r, err := train.OpenRun(out)
			if err != nil {
				t.Fatal(err)
			}
			got := [2]int{r.Recipe.Epochs, r.Recipe.Schedule.WarmupEpochs}
			if diff := cmp.Diff([2]int{1, 0}, got); diff != "" {
				t.Errorf("recorded epochs and warm-up (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTrainInterruptExitCode checks that an interrupted run asks for exit code 130 and
// records a resumable state.
func TestTrainInterruptExitCode(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errOut bytes.Buffer
	opts := &TrainOptions{IO: &IOStreams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Spec: "msdnet-cifar10-small",
		Sets: []string{"channels=8", "head.channels=16", "blocks.count=2"}, Data: "synthetic:train=200,test=50",
		Recipe: "quick", RecipeSets: []string{"batch_size=16"}, Epochs: 2, Seed: -1, Threads: 1, Out: out, Quiet: true, Context: ctx}
	err := trainRun(opts)
	var ec exitCodeError
	if !errors.As(err, &ec) || ec.ExitCode() != ExitInterrupted || !strings.Contains(err.Error(), "--resume "+out) {
		t.Fatalf("got %v, want an interruption asking for exit code %d and naming --resume", err, ExitInterrupted)
	}
	r, err := train.OpenRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Status != train.StatusInterrupted {
		t.Errorf("status %q, want %q", r.Info.Status, train.StatusInterrupted)
	}
	_, stderr, code := run(t, false, "train", "--resume", out, "--quiet")
	if code != ExitOK {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
}

// buildMsdx builds the msdx command into dir for the tests that run it as a process.
func buildMsdx(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "msdx")
	if out, err := exec.Command("go", "build", "-o", path, "github.com/msdx/msdx/cmd/msdx").CombinedOutput(); err != nil {
		t.Fatalf("building msdx: %v\n%s", err, out)
	}
	return path
}

// TestTrainProcess runs msdx train as a process and stops it with signals.
func TestTrainProcess(t *testing.T) {
	msdx := buildMsdx(t, t.TempDir())
	t.Run("SIGKILL and resume", func(t *testing.T) { testKillResume(t, msdx) })
	t.Run("SIGINT", func(t *testing.T) { testSIGINT(t, msdx) })
}

// checkpointPosition returns the (0-based) epoch and next batch of a run's latest
// checkpoint, or -1, -1 when there is none yet.
func checkpointPosition(dir string) (epoch, batch int) {
	f, err := tensorfile.ReadFile(filepath.Join(dir, train.LatestFile))
	if err != nil {
		return -1, -1
	}
	var pos struct{ Epoch, Batch int }
	if json.Unmarshal([]byte(f.Metadata["msdx.train_state"]), &pos) != nil {
		return -1, -1
	}
	return pos.Epoch, pos.Batch
}

// testKillResume kills a training process with SIGKILL after its first mid-epoch
// checkpoint of the second epoch, resumes it, and checks that the final weights equal
// an uninterrupted run's bit for bit.
func testKillResume(t *testing.T, msdx string) {
	args := tinyTrain("800", "--threads", "2", "--checkpoint-every", "3", "--quiet")
	tmp := t.TempDir()
	ref, killed := filepath.Join(tmp, "ref"), filepath.Join(tmp, "killed")
	if out, err := exec.Command(msdx, append(args, "--out", ref)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	cmd := exec.Command(msdx, append(args, "--out", killed)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
poll:
	for {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before a mid-epoch checkpoint of epoch 2 was seen", err)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("no mid-epoch checkpoint of epoch 2 within 60 s")
		case <-time.After(2 * time.Millisecond):
			if e, b := checkpointPosition(killed); e == 1 && b > 0 {
				break poll
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	if e, b := checkpointPosition(killed); e != 1 || b == 0 {
		t.Fatalf("after the kill the checkpoint is at epoch %d batch %d, want mid-epoch 2", e+1, b)
	}
	if _, err := os.Stat(filepath.Join(killed, train.FinalFile)); err == nil {
		t.Fatal("the run finished before it was killed")
	}
	if out, err := exec.Command(msdx, "train", "--resume", killed, "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(ref, train.FinalFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(killed, train.FinalFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Error("final.safetensors of the killed and resumed run differs from the uninterrupted run's")
	}
}

// testSIGINT interrupts a training process as Ctrl-C does and checks that it
// stops with a resumable checkpoint.
func testSIGINT(t *testing.T, msdx string) {
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(msdx, tinyTrain("800", "--threads", "1", "--quiet", "--out", out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until training has started (run.json exists), then interrupt.
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(out, train.RunFile)); err == nil {
			break
		}
		if i > 30000 {
			cmd.Process.Kill()
			t.Fatal("the run did not start")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("got %v, stderr %q; want a failed exit saying interrupted", err, stderr.String())
	}
	r, err := train.OpenRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Status != train.StatusInterrupted {
		t.Errorf("status %q, want %q", r.Info.Status, train.StatusInterrupted)
	}
	if e, _ := checkpointPosition(out); e < 0 {
		t.Error("no checkpoint after the interruption")
	}
}
