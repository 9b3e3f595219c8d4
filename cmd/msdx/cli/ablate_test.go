package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/ablation"
	"github.com/msdx/msdx/runner"
	"github.com/msdx/msdx/study"
)

// TestMain doubles as the msdx binary when MSDX_CLI_AS_MAIN is set, so that executors
// can run this test binary as their trial worker. MSDX_TEST_FAULT="INDEX:fail" damages
// that trial's spec before the worker runs (a real failure: the worker reports it), and
// "INDEX:kill" kills the worker with SIGKILL once its training has started.
func TestMain(m *testing.M) {
	if os.Getenv("MSDX_CLI_AS_MAIN") != "" {
		args := os.Args[1:]
		injectFault(args)
		os.Exit(Main(System(), args))
	}
	os.Exit(m.Run())
}

func injectFault(args []string) {
	fault := os.Getenv("MSDX_TEST_FAULT")
	var dir, index string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--study":
			dir = args[i+1]
		case "--index":
			index = args[i+1]
		}
	}
	for _, f := range strings.Split(fault, ",") {
		idx, what, _ := strings.Cut(f, ":")
		if idx != index || dir == "" {
			continue
		}
		trial := filepath.Join(dir, study.TrialsDir, study.TrialID(atoi(idx)))
		switch what {
		case "fail":
			os.WriteFile(filepath.Join(trial, study.SpecFile), []byte("name = [broken\n"), 0o644)
		case "kill":
			go func() {
				// Kill once the run has written its first metrics or checkpoint.
				for {
					if _, err := os.Stat(filepath.Join(trial, study.RunDir, "run.json")); err == nil {
						time.Sleep(300 * time.Millisecond)
						syscall.Kill(os.Getpid(), syscall.SIGKILL)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// tinyAblation returns the options of a small, quick fusion × stem ablation.
func tinyAblation(t *testing.T, dir string, seeds int, env ...string) *AblateOptions {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	return &AblateOptions{
		IO:   &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Vary: []string{"fusion,stem"}, Base: "addad-cifar10-small", Data: "synthetic:train=320,test=100",
		Recipe: "quick", Epochs: 1, Seeds: seeds, Study: dir,
		ExecutorOptions: ExecutorOptions{Executor: "local", Jobs: 2, Threads: 1, Oversubscribe: true,
			Worker: runner.Argv{exe, "trial", "run"}, WorkerEnv: append([]string{"MSDX_CLI_AS_MAIN=1"}, env...)},
		Context: context.Background(),
	}
}

func readAblation(t *testing.T, dir string) *ablation.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, study.AblationJSON))
	if err != nil {
		t.Fatal(err)
	}
	var r ablation.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestAblateLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "study")
	opts := tinyAblation(t, dir, 1)
	if err := ablateRun(opts); err != nil {
		t.Fatalf("%v\n%s", err, opts.IO.ErrOut)
	}
	res := readAblation(t, dir)
	var names []string
	for _, v := range res.Variants {
		names = append(names, v.Name)
		if v.Finished != 1 || len(v.Exits) != 4 {
			t.Errorf("variant %s: %d finished, %d exits", v.Name, v.Finished, len(v.Exits))
		}
	}
	want := []string{"fusion=msdnet stem=msdnet", "fusion=msdnet stem=paper", "fusion=dense stem=msdnet", "fusion=dense stem=paper"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("variants (-want +got):\n%s", diff)
	}
	for _, name := range []string{study.AblationCSV, study.EffectsCSV, study.JournalFile, study.ConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	out := opts.IO.Out.(*strings.Builder).String()
	if !strings.Contains(out, "fusion=dense x stem=paper\tlast_exit_top1\t") {
		t.Errorf("table lacks the interaction row:\n%s", out)
	}
	// One seed gives no standard deviation: n/a, not 0.00.
	if strings.Count(out, "\tn/a\t1\n") < 16+3 || strings.Contains(out, "\t0.00\t1\n") {
		t.Errorf("standard deviations of one seed are not n/a:\n%s", out)
	}

	// Rerunning the same command trains nothing and gives the same table.
	again := tinyAblation(t, dir, 1)
	if err := ablateRun(again); err != nil {
		t.Fatal(err)
	}
	if got := again.IO.ErrOut.(*strings.Builder).String(); !strings.Contains(got, "4 of 4 trials finished before; running 0") {
		t.Errorf("rerun log:\n%s", got)
	}
	if diff := cmp.Diff(res, readAblation(t, dir)); diff != "" {
		t.Errorf("rerun changed the result (-first +rerun):\n%s", diff)
	}

	// Another study in the same directory is refused.
	other := tinyAblation(t, dir, 2)
	if err := ablateRun(other); err == nil || !strings.Contains(err.Error(), "already holds another study: its seeds are [0], not [0 1]") {
		t.Errorf("another study in the directory: %v", err)
	}
	matched := tinyAblation(t, dir, 1)
	matched.MatchCost, matched.MatchBy = "last-exit", "channels"
	if err := ablateRun(matched); err == nil || !strings.Contains(err.Error(),
		"its cells are not scaled to equal cost, not scaled to equal last-exit cost by channels (16, 53, 14, 52)") {
		t.Errorf("the same grid scaled to equal cost in the directory: %v", err)
	}
}

func TestAblateFaults(t *testing.T) {
	if os.Getenv("MSDX_SLOW_TESTS") == "" {
		t.Skip("set MSDX_SLOW_TESTS=1 to run the fault tests (a killed and a failing trial)")
	}
	dir := filepath.Join(t.TempDir(), "study")
	opts := tinyAblation(t, dir, 1, "MSDX_TEST_FAULT=1:fail,2:kill")
	err := ablateRun(opts)
	if err == nil || !strings.Contains(err.Error(), "2 trials did not finish") {
		t.Fatalf("err = %v, want 2 trials that did not finish\n%s", err, opts.IO.ErrOut)
	}
	res := readAblation(t, dir)
	var got []string
	for _, f := range res.Failed {
		got = append(got, study.TrialID(f.Trial)+" "+f.Status)
		if f.Trial == 1 && !strings.Contains(f.Reason, "spec.toml") {
			t.Errorf("the failed trial's reason %q does not name its spec", f.Reason)
		}
	}
	if diff := cmp.Diff([]string{"0001 failed", "0002 unfinished"}, got); diff != "" {
		t.Errorf("failed trials (-want +got):\n%s", diff)
	}
	for _, i := range []int{0, 3} {
		if v := res.Variants[i]; v.Finished != 1 {
			t.Errorf("variant %s did not finish beside the faulty trials", v.Name)
		}
	}
	// The rerun completes the failed and the killed trial (this one from its checkpoint
	// when it had written one) and skips the others.
	again := tinyAblation(t, dir, 1)
	if err := ablateRun(again); err != nil {
		t.Fatalf("rerun: %v\n%s", err, again.IO.ErrOut)
	}
	if log := again.IO.ErrOut.(*strings.Builder).String(); !strings.Contains(log, "2 of 4 trials finished before; running 2") {
		t.Errorf("rerun log:\n%s", log)
	}
	if res := readAblation(t, dir); len(res.Failed) != 0 {
		t.Errorf("after the rerun: failed %+v", res.Failed)
	}
}

func TestAblateBadCellFailsBeforeTraining(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "study")
	opts := tinyAblation(t, dir, 1)
	opts.Base = "msdnet-cifar10-small" // its head cannot follow the paper's stem
	err := ablateRun(opts)
	if err == nil || !strings.Contains(err.Error(), "2 of 4 trials cannot be built; nothing was trained") ||
		!strings.Contains(err.Error(), "trial 0001 (fusion=msdnet stem=paper)") {
		t.Fatalf("err = %v", err)
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(dir, study.TrialsDir, study.TrialID(i), study.RunDir)); err == nil {
			t.Errorf("trial %d trained", i)
		}
	}
}

func TestAblateUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"ablate"}, "--vary is required"},
		{[]string{"ablate", "--vary", "depth"}, `unknown axis "depth"`},
		{[]string{"ablate", "--vary", "fusion", "--jobs", "4", "--threads", "4"}, "--oversubscribe"},
		{[]string{"ablate", "--vary", "fusion", "--executor", "pbs"}, `--executor "pbs"`},
		{[]string{"ablate", "--vary", "fusion", "--partition", "cpu"}, "add --executor slurm"},
	} {
		_, errOut, code := run(t, false, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.err) {
			t.Errorf("msdx %v: exit %d, %q; want exit 2 and %q", tc.args, code, errOut, tc.err)
		}
	}
}

func TestAblatePlan(t *testing.T) {
	out, errOut, code := run(t, false, "ablate", "--vary", "fusion,stem", "--plan")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Exact costs of the four cells' last exits, from the cost model.
	for _, want := range []string{
		"fusion=msdnet stem=msdnet\t4\t20115240\t567428",
		"fusion=msdnet stem=paper\t4\t5860072\t568068",
		"fusion=dense stem=msdnet\t4\t21642792\t585868",
		"fusion=dense stem=paper\t4\t6241960\t586508",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

// TestAblatePlanMatchCost is the acceptance check of --match-cost: every cell of the
// fusion × stem grid on addad-cifar10-small lands within 2 % of the baseline cell's
// last-exit MACs, and the plan's per-exit table shows the scaled cells.
func TestAblatePlanMatchCost(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--match-cost"}, []string{
			"cost matching: every cell scaled by channels to the last-exit cost of fusion=msdnet stem=msdnet, 20115240 MACs (within 2 %)",
			"fusion=msdnet stem=msdnet\t16\t20115240\t+0.00 %",
			"fusion=msdnet stem=paper\t16→53\t20013672\t-0.50 %",
			"fusion=dense stem=msdnet\t16→14\t20201512\t+0.43 %",
			"fusion=dense stem=paper\t16→52\t19956136\t-0.79 %",
			"fusion=msdnet stem=paper\t4\t20013672\t1269798",
		}},
		// "--match-cost curve", as a user types it, and the mean over exits.
		{[]string{"--match-cost", "curve"}, []string{"to the curve cost of fusion=msdnet stem=msdnet, 15002201 MACs (within 2 %)",
			"fusion=msdnet stem=paper\t16→47\t14945209\t-0.38 %"}},
	} {
		out, errOut, code := run(t, false, append([]string{"ablate", "--vary", "fusion,stem", "--plan"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("%v: plan lacks %q:\n%s", tc.args, want, out)
			}
		}
	}
	// growth cannot bring dense fusion with MSDNet's stem within 2 %: said, not hidden.
	_, errOut, code := run(t, false, "ablate", "--vary", "fusion,stem", "--plan", "--match-cost", "--match-by", "growth")
	if code != 0 || !strings.Contains(errOut, "cell fusion=dense stem=msdnet: no value of growth comes within 2 % of the target; growth=6 is the nearest (+7.59 %)") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--match-cost=mean"}, `"mean" is not a cost measure`},
		{[]string{"--match-cost", "--match-by", "reduction"}, "reduction is 0.5, not an integer"},
		{[]string{"--match-cost", "--match-by", "depth"}, `"depth" is not a field`},
		{[]string{"curve"}, "accepts 0 arg(s)"},
	} {
		_, errOut, code := run(t, false, append([]string{"ablate", "--vary", "fusion,stem", "--plan"}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d, %q; want an error saying %q", tc.args, code, errOut, tc.err)
		}
	}
}

// TestAblateSlurm runs the tiny ablation through a real Slurm cluster (.ci/run starts a
// single-node one with scripts/ci/slurm-up.sh) and through the local executor, and
// checks that both give the same numbers.
func TestAblateSlurm(t *testing.T) {
	if os.Getenv("MSDX_SLURM_TESTS") == "" {
		t.Skip("set MSDX_SLURM_TESTS=1 (and SLURM_CONF) with a running Slurm cluster; .ci/run starts one")
	}
	root := t.TempDir()
	local := tinyAblation(t, filepath.Join(root, "local"), 2)
	if err := ablateRun(local); err != nil {
		t.Fatalf("local: %v\n%s", err, local.IO.ErrOut)
	}
	slurm := tinyAblation(t, filepath.Join(root, "slurm"), 2)
	slurm.Executor, slurm.Jobs, slurm.Memory, slurm.Time = "slurm", 2, "1G", "30"
	slurm.Poll = 200 * time.Millisecond
	if err := ablateRun(slurm); err != nil {
		t.Fatalf("slurm: %v\n%s", err, slurm.IO.ErrOut)
	}
	if log := slurm.IO.ErrOut.(*strings.Builder).String(); !strings.Contains(log, "(slurm job ") {
		t.Errorf("the slurm study's log names no Slurm job:\n%s", log)
	}
	a, b := readAblation(t, filepath.Join(root, "local")), readAblation(t, filepath.Join(root, "slurm"))
	a.Study, b.Study = "", ""
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("local and Slurm results differ (-local +slurm):\n%s", diff)
	}
	// Each task appended its output to its trial's worker.log.
	log, err := os.ReadFile(filepath.Join(root, "slurm", study.TrialsDir, "0005", study.WorkerLog))
	if err != nil || !strings.Contains(string(log), "trial 0005 finished") {
		t.Errorf("worker.log of a Slurm task: %q, %v", log, err)
	}
}

func TestExecutorSettingsFromStudy(t *testing.T) {
	dir := study.Dir(t.TempDir())
	if err := dir.WriteConfig(&study.Config{Format: study.Format, Threads: 2,
		Executor: study.ExecutorConfig{Kind: "slurm", Jobs: 8, Partition: "cpu", Time: "4:00:00", Memory: "8G"}}); err != nil {
		t.Fatal(err)
	}
	o := ExecutorOptions{Executor: "local", Threads: 1, Partition: "gpu", Given: func(f string) bool { return f == "partition" }}
	o.fromStudy(dir)
	want := ExecutorOptions{Executor: "slurm", Jobs: 8, Threads: 2, Partition: "gpu", Time: "4:00:00", Memory: "8G"}
	o.Given = nil
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}
