package runner

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/study"
)

// TestMain doubles as a fake trial worker when FAKE_WORKER is set: it writes a finished
// status for its trial, a failed one when its index is in FAKE_FAIL, exits 3 without a
// status when it is in FAKE_CRASH, and sleeps FAKE_SLEEP first.
func TestMain(m *testing.M) {
	if os.Getenv("FAKE_WORKER") != "" {
		os.Exit(fakeWorker(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeWorker(args []string) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	dirName := fs.String("study", "", "")
	index := fs.Int("index", -1, "")
	threads := fs.Int("threads", 0, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *index < 0 {
		*index, _ = strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_ID"))
	}
	in := func(env string) bool {
		return slices.Contains(strings.Split(os.Getenv(env), ","), strconv.Itoa(*index))
	}
	fmt.Printf("fake worker: trial %d, %d threads\n", *index, *threads)
	if d, err := time.ParseDuration(os.Getenv("FAKE_SLEEP")); err == nil {
		time.Sleep(d)
	}
	if in("FAKE_CRASH") {
		return 3
	}
	dir := study.Dir(*dirName)
	t, err := dir.ReadTrial(*index)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	st := &study.Status{Key: t.Key, Status: study.StatusFinished, Threads: *threads}
	if in("FAKE_FAIL") {
		st.Status, st.Reason = study.StatusFailed, "loss is NaN at epoch 1"
	}
	if err := dir.WriteStatus(*index, st); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// newStudy writes n trials with distinct keys into a new study directory.
func newStudy(t *testing.T, n int) study.Dir {
	t.Helper()
	dir := study.Dir(t.TempDir())
	for i := range n {
		if err := dir.WriteTrial(&study.Trial{Index: i, Key: study.Key{SpecHash: "s", Seed: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testWorker(t *testing.T) Worker {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Argv{exe}
}

func outcomes(s *Summary) []string {
	var out []string
	for _, o := range append(slices.Clip(s.Failed), s.Unfinished...) {
		out = append(out, fmt.Sprintf("%d %s %s", o.Trial, o.Status, o.Reason))
	}
	return out
}

func TestLocalCrashIsolationAndResume(t *testing.T) {
	dir := newStudy(t, 5)
	exec := &Local{Worker: testWorker(t), Jobs: 2, Threads: 1,
		Env: []string{"FAKE_WORKER=1", "FAKE_FAIL=1", "FAKE_CRASH=3"}}
	var lines []string
	sum, err := Run(context.Background(), dir, exec, []int{0, 1, 2, 3, 4}, func(s string) { lines = append(lines, s) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 failed loss is NaN at epoch 1",
		"3 unfinished ended without writing status.json (exit status 3); its log ends: fake worker: trial 3, 1 threads",
	}
	if diff := cmp.Diff(want, outcomes(sum)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if sum.Finished != 3 || sum.OK() {
		t.Errorf("finished %d, OK %v; want 3 and false", sum.Finished, sum.OK())
	}
	// The lines of trials that ended before the last estimate the time left.
	etas := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "[") && strings.Contains(l, ", ETA ") {
			etas++
		}
	}
	if etas != 4 {
		t.Errorf("%d lines with an ETA, want 4: %q", etas, lines)
	}
	log, err := os.ReadFile(dir.TrialPath(3, study.WorkerLog))
	if err != nil || !strings.Contains(string(log), "fake worker: trial 3, 1 threads") {
		t.Errorf("worker.log of trial 3 = %q, %v", log, err)
	}

	// The rerun skips the finished trials and completes the others.
	exec.Env = []string{"FAKE_WORKER=1"}
	sum, err = Run(context.Background(), dir, exec, []int{0, 1, 2, 3, 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 3 || sum.Finished != 2 || !sum.OK() {
		t.Errorf("rerun: %+v; want 3 skipped, 2 finished", sum)
	}
	events, err := dir.ReadJournal()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event)
	}
	if n := strings.Count(strings.Join(kinds, " "), "skipped"); n != 3 {
		t.Errorf("journal %v has %d skipped events, want 3", kinds, n)
	}
}

func TestLocalChangedKeyReruns(t *testing.T) {
	dir := newStudy(t, 1)
	exec := &Local{Worker: testWorker(t), Jobs: 1, Threads: 1, Env: []string{"FAKE_WORKER=1"}}
	if _, err := Run(context.Background(), dir, exec, []int{0}, nil); err != nil {
		t.Fatal(err)
	}
	tr, _ := dir.ReadTrial(0)
	tr.Key.RecipeHash = "other"
	if err := dir.WriteTrial(tr); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), dir, exec, []int{0}, nil)
	if err != nil || sum.Skipped != 0 || sum.Finished != 1 {
		t.Errorf("after a key change: %+v, %v; want the trial run again", sum, err)
	}
}

func TestLocalCancel(t *testing.T) {
	dir := newStudy(t, 4)
	exec := &Local{Worker: testWorker(t), Jobs: 2, Threads: 1, StopGrace: 5 * time.Second,
		Env: []string{"FAKE_WORKER=1", "FAKE_SLEEP=30s"}}
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	go func() {
		for started.Load() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	begin := time.Now()
	sum, err := Run(ctx, dir, exec, []int{0, 1, 2, 3}, func(s string) {
		if strings.HasSuffix(s, "started (local)") {
			started.Add(1)
		}
	})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if sum.Finished != 0 {
		t.Errorf("%d trials finished, want none", sum.Finished)
	}
	events, _ := dir.ReadJournal()
	if len(events) == 0 || events[len(events)-1].Event != "cancelled" {
		t.Errorf("journal ends with %+v, want a cancelled event", events)
	}
}

func TestCheckCores(t *testing.T) {
	if err := CheckCores(2, 1, 2, false); err != nil {
		t.Error(err)
	}
	if err := CheckCores(2, 2, 2, false); err == nil || !strings.Contains(err.Error(), "--oversubscribe") {
		t.Errorf("CheckCores(2, 2, 2) = %v, want an error naming --oversubscribe", err)
	}
	if err := CheckCores(2, 2, 2, true); err != nil {
		t.Error(err)
	}
}

func TestIndexList(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{0, 2, 3, 5, 7, 8}, "0,2-3,5,7-8"},
	} {
		if got := indexList(tc.in); got != tc.want {
			t.Errorf("indexList(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if got := parseIndexList(tc.want); !slices.Equal(got, tc.in) {
			t.Errorf("parseIndexList(%q) = %v, want %v", tc.want, got, tc.in)
		}
	}
	if got := parseIndexList("[2-5%2]"); !slices.Equal(got, []int{2, 3, 4, 5}) {
		t.Errorf("parseIndexList of a pending range = %v", got)
	}
}

func TestScriptQuotes(t *testing.T) {
	got := Script(Argv{"/opt/ms dx/msdx", "trial", "run"}, "/data/it's; rm -rf $HOME", 2)
	want := "exec '/opt/ms dx/msdx' 'trial' 'run' '--study' '/data/it'\\''s; rm -rf $HOME' '--threads' '2'\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("script:\n%s\nwant it to end with\n%s", got, want)
	}
}

// fakeSlurm writes fake sbatch, squeue and scancel commands into a directory: sbatch
// runs the array's tasks in the background, Jobs at a time as --array's %K asks, and
// records their states in files that squeue prints; scancel kills them.
func fakeSlurm(t *testing.T) (bin string) {
	t.Helper()
	bin = t.TempDir()
	state := filepath.Join(bin, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"sbatch": `#!/bin/bash
echo "$@" > "` + bin + `/sbatch.args"
for a in "$@"; do
  case "$a" in
    --array=*) spec="${a#--array=}" ;;
    --output=*) out="${a#--output=}" ;;
  esac
  script="$a"
done
list="${spec%\%*}"; cap="${spec#*%}"
idx=()
IFS=, read -ra parts <<< "$list"
for p in "${parts[@]}"; do
  if [[ "$p" == *-* ]]; then for ((i=${p%-*}; i<=${p#*-}; i++)); do idx+=("$i"); done; else idx+=("$p"); fi
done
for i in "${idx[@]}"; do echo "$i PENDING" > "` + state + `/$i"; done
(
  for i in "${idx[@]}"; do
    while [ "$(grep -l RUNNING ` + state + `/* 2>/dev/null | wc -l)" -ge "$cap" ]; do sleep 0.05; done
    echo "$i RUNNING" > "` + state + `/$i"
    log=$(printf "${out/\%4a/%04d}" "$i")
    ( SLURM_ARRAY_TASK_ID=$i "$script" >> "$log" 2>&1; rm -f "` + state + `/$i" ) &
    echo $! > "` + state + `/$i.pid"
  done
  wait
) > /dev/null 2>&1 &
echo 77
`,
		"squeue": `#!/bin/bash
cat ` + state + `/[0-9] ` + state + `/[0-9][0-9] 2>/dev/null
exit 0
`,
		"scancel": `#!/bin/bash
echo "$@" >> "` + bin + `/scancel.args"
for f in ` + state + `/*.pid; do [ -e "$f" ] && pkill -TERM -P "$(cat "$f")"; done
rm -f ` + state + `/*
exit 0
`,
	}
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(src), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

func TestSlurmFake(t *testing.T) {
	bin := fakeSlurm(t)
	dir := newStudy(t, 4)
	t.Setenv("FAKE_WORKER", "1")
	t.Setenv("FAKE_FAIL", "2")
	exec := &Slurm{Worker: testWorker(t), Jobs: 2, Threads: 1, Poll: 50 * time.Millisecond, Partition: "cpu", Time: "1:00:00",
		Sbatch: filepath.Join(bin, "sbatch"), Squeue: filepath.Join(bin, "squeue"), Scancel: filepath.Join(bin, "scancel")}
	sum, err := Run(context.Background(), dir, exec, []int{0, 1, 2, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2 failed loss is NaN at epoch 1"}, outcomes(sum)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if sum.Finished != 3 {
		t.Errorf("%d finished, want 3", sum.Finished)
	}
	args, _ := os.ReadFile(filepath.Join(bin, "sbatch.args"))
	for _, want := range []string{"--array=0-3%2", "--cpus-per-task=1", "--partition=cpu", "--time=1:00:00", "--parsable"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("sbatch args %q lack %q", args, want)
		}
	}
	log, err := os.ReadFile(dir.TrialPath(3, study.WorkerLog))
	if err != nil || !strings.Contains(string(log), "fake worker: trial 3") {
		t.Errorf("worker.log of trial 3 = %q, %v", log, err)
	}
	// Resume: only the failed trial is submitted again.
	t.Setenv("FAKE_FAIL", "")
	sum, err = Run(context.Background(), dir, exec, []int{0, 1, 2, 3}, nil)
	if err != nil || sum.Skipped != 3 || sum.Finished != 1 {
		t.Errorf("rerun: %+v, %v; want 3 skipped and 1 finished", sum, err)
	}
	args, _ = os.ReadFile(filepath.Join(bin, "sbatch.args"))
	if !strings.Contains(string(args), "--array=2%2") {
		t.Errorf("rerun sbatch args %q, want --array=2%%2", args)
	}
}

func TestSlurmFakeCancel(t *testing.T) {
	bin := fakeSlurm(t)
	dir := newStudy(t, 2)
	t.Setenv("FAKE_WORKER", "1")
	t.Setenv("FAKE_SLEEP", "30s")
	exec := &Slurm{Worker: testWorker(t), Jobs: 2, Threads: 1, Poll: 50 * time.Millisecond, StopGrace: time.Second,
		Sbatch: filepath.Join(bin, "sbatch"), Squeue: filepath.Join(bin, "squeue"), Scancel: filepath.Join(bin, "scancel")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := Run(ctx, dir, exec, []int{0, 1}, nil)
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want the context's", err)
	}
	args, _ := os.ReadFile(filepath.Join(bin, "scancel.args"))
	if !strings.Contains(string(args), "--signal=TERM --full 77") {
		t.Errorf("scancel args %q, want --signal=TERM --full 77", args)
	}
}

func TestProgressPrefix(t *testing.T) {
	tests := []struct {
		ended, total int
		elapsed      time.Duration
		want         string
	}{
		{1, 4, 90 * time.Second, "[1/4, 1m30s, ETA 4m30s]"},
		{3, 4, 90 * time.Second, "[3/4, 1m30s, ETA 30s]"},
		{4, 4, 100 * time.Second, "[4/4, 1m40s]"},
	}
	for _, tt := range tests {
		if got := progressPrefix(tt.ended, tt.total, tt.elapsed); got != tt.want {
			t.Errorf("progressPrefix(%d, %d, %v) = %q, want %q", tt.ended, tt.total, tt.elapsed, got, tt.want)
		}
	}
}

func TestArgv(t *testing.T) {
	w := Argv{"/bin/msdx", "trial", "run"}
	if diff := cmp.Diff([]string{"/bin/msdx", "trial", "run", "--study", "s", "--index", "3", "--threads", "2"}, w.Command("s", 3, 2)); diff != "" {
		t.Errorf("Command of trial 3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/bin/msdx", "trial", "run", "--study", "s", "--threads", "1"}, w.Command("s", ArrayTask, 1)); diff != "" {
		t.Errorf("Command of an array task (-want +got):\n%s", diff)
	}
}
