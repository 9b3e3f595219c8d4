package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/runner"
	"github.com/msdx/msdx/search"
	"github.com/msdx/msdx/study"
)

func writeSpace(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "space.toml")
	src := `base = "msdnet-cifar10-small"
[[param]]
path = "growth"
values = [4, 8]
[[param]]
path = "blocks.count"
int = [2, 4]
[[constraint]]
max_macs = 20e6
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSearchNoTrain(t *testing.T) {
	space := writeSpace(t)
	// The costs are msdx flops's: "msdx flops msdnet-cifar10-small --set growth=4 --set
	// blocks.count=3" gives 7231754, 10608660 and 13403422 MACs.
	t.Run("piped", func(t *testing.T) {
		stdout, stderr, code := run(t, false, "search", space, "--no-train")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		// A "# " line names the table first; it ends with the time taken.
		title, stdout, _ := strings.Cut(stdout, "\n")
		if want := "# " + space + ": 6 candidates costed (grid) in "; !strings.HasPrefix(title, want) || !strings.HasSuffix(title, "s: 4 feasible, 0 do not build, 4 in range; front over min:last_macs, max:exits: 3") {
			t.Errorf("title %q, want %q...", title, want)
		}
		want := "growth\tblocks.count\texits\tfirst MACs\tlast MACs\tparams\texit MACs\n" +
			"4\t2\t2\t6708490\t8450580\t442708\t6708490 8450580\n" +
			"4\t3\t3\t7231754\t13403422\t768430\t7231754 10608660 13403422\n" +
			"4\t4\t4\t7231754\t15582504\t978800\t7231754 10608660 13403422 15582504\n"
		if diff := cmp.Diff(want, stdout); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
	})
	t.Run("json target range", func(t *testing.T) {
		stdout, stderr, code := run(t, false, "search", space, "--no-train", "--json", "--target-range", "7.2e6:13.4e6", "--tolerance", "0.05", "--front", "last_macs,params")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep search.CostReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		got := []any{rep.Sampler, rep.Evaluated, rep.Feasible, rep.InRange, len(rep.Candidates)}
		if diff := cmp.Diff([]any{"grid", 6, 4, 1, 1}, got); diff != "" {
			t.Errorf("sampler, evaluated, feasible, in range, front (-want +got):\n%s", diff)
		}
		if len(rep.Candidates) == 1 {
			if diff := cmp.Diff([]string{"growth=4", "blocks.count=3"}, rep.Candidates[0].Sets); diff != "" {
				t.Errorf("sets (-want +got):\n%s", diff)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			args []string
			code int
			msg  string
		}{
			{[]string{"search", space, "--sampler", "nsga2"}, ExitUsage, "a training search samples with asha or random"},
			{[]string{"search", space, "--objectives", "last_macs,params"}, ExitUsage, "needs an accuracy objective"},
			{[]string{"search", space, "--rungs", "3,1"}, ExitUsage, `--rungs "3,1": want increasing epochs`},
			{[]string{"search", space, "--eta", "1"}, ExitUsage, "--eta 1: want 2 or more"},
			{[]string{"search", space, "--executor", "pbs"}, ExitUsage, `--executor "pbs"`},
			{[]string{"search", space, "--no-train", "--front", "last_top1"}, ExitUsage, "last_top1 needs training"},
			{[]string{"search", space, "--no-train", "--target-range", "5"}, ExitUsage, "want LO:HI"},
			{[]string{"search", space, "--no-train", "--sampler", "sobol"}, ExitUsage, "want auto, grid, random or nsga2"},
			{[]string{"search", filepath.Join(t.TempDir(), "none.toml"), "--no-train"}, ExitError, "no such file"},
		}
		for _, tt := range tests {
			_, stderr, code := run(t, false, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("msdx %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.msg)
			}
		}
	})
}

// tinySearch returns the options of a quick ASHA search of writeSpace's space: rungs of
// 1 and 2 epochs, eta 2, 3 trials (two candidates at 1 epoch, the better one at 2).
func tinySearch(t *testing.T, space, dir string, env ...string) *SearchOptions {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	return &SearchOptions{
		IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Space: space,
		Sampler: "asha", Trials: 3, Seed: 1, Objectives: "anytime_auc,last_macs", Rungs: "1,2", Eta: 2,
		Study: dir, Data: "synthetic:train=320,test=100", Recipe: "quick",
		ExecutorOptions: ExecutorOptions{Executor: "local", Jobs: 2, Threads: 1, Oversubscribe: true,
			Worker: runner.Argv{exe, "trial", "run"}, WorkerEnv: append([]string{"MSDX_CLI_AS_MAIN=1"}, env...)},
		Context: context.Background(),
	}
}

func readSearch(t *testing.T, dir string) *search.Result {
	t.Helper()
	var r search.Result
	b, err := os.ReadFile(filepath.Join(dir, search.SearchFile))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

// trialStarts returns when each trial's worker last wrote its status.
func trialStarts(t *testing.T, dir string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		s, err := study.Dir(dir).ReadStatus(i)
		if err != nil || s == nil {
			out = append(out, "")
			continue
		}
		out = append(out, s.Started.String())
	}
	return out
}

// TestSearchTrainKilledResumed runs a tiny search end to end through the local executor
// with this test binary as the worker, with the promoted trial's worker killed: the
// search stops; rerunning it trains only that trial; a third run trains nothing.
func TestSearchTrainKilledResumed(t *testing.T) {
	space := writeSpace(t)
	dir := filepath.Join(t.TempDir(), "study")
	first := tinySearch(t, space, dir, "MSDX_TEST_FAULT=2:kill")
	err := searchTrainCheck(first)
	if err == nil || !strings.Contains(err.Error(), "trial 2 ended without a status") {
		t.Fatalf("killed search: %v, want trial 2 without a status\n%s", err, first.IO.ErrOut)
	}
	before := trialStarts(t, dir, 3)
	if before[0] == "" || before[1] == "" || before[2] != "" {
		t.Fatalf("after the kill, trial statuses %q: want trials 0 and 1 only", before)
	}

	again := tinySearch(t, space, dir)
	if err := searchTrainCheck(again); err != nil {
		t.Fatalf("resumed search: %v\n%s", err, again.IO.ErrOut)
	}
	after := trialStarts(t, dir, 3)
	if diff := cmp.Diff(before[:2], after[:2]); diff != "" || after[2] == "" {
		t.Errorf("the resumed search reran a finished trial or missed trial 2 (-before +after):\n%s%q", diff, after)
	}
	log := again.IO.ErrOut.(*strings.Builder).String()
	if !strings.Contains(log, "running trials [2]") {
		t.Errorf("resumed search log:\n%s", log)
	}
	res := readSearch(t, dir)
	var got []string
	for _, tr := range res.Trials {
		got = append(got, fmt.Sprintf("%d:rung %d:%d epochs:%s", tr.Index, tr.Rung, tr.Epochs, tr.Status))
		if tr.Status == study.StatusFinished && (len(tr.Exits) == 0 || len(tr.Objectives) != 2) {
			t.Errorf("trial %d: exits %v, objectives %v", tr.Index, tr.Exits, tr.Objectives)
		}
	}
	want := []string{"0:rung 0:1 epochs:finished", "1:rung 0:1 epochs:finished", "2:rung 1:2 epochs:finished"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trials (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{2}, res.Front); diff != "" {
		t.Errorf("front (-want +got):\n%s", diff)
	}
	// Trial 0's spec is the candidate the space costed.
	sp, err := search.LoadSpace(space)
	if err != nil {
		t.Fatal(err)
	}
	planned, err := study.Dir(dir).ReadTrial(0)
	if err != nil {
		t.Fatal(err)
	}
	c := search.Candidate{Values: make([]string, len(sp.Params))}
	for i, p := range sp.Params {
		for _, set := range planned.Sets {
			if v, ok := strings.CutPrefix(set, p.Path+"="); ok {
				c.Values[i] = v
			}
		}
	}
	if h := sp.Evaluate(c).Hash; h != planned.Key.SpecHash || res.Trials[0].SpecHash != h {
		t.Errorf("trial 0 trains spec %.12s, the space costs %.12s, search.json says %.12s", planned.Key.SpecHash, h, res.Trials[0].SpecHash)
	}
	if planned.Epochs != 1 || !cmp.Equal(planned.RecipeSets, []string{"schedule.warmup_epochs=0"}) {
		t.Errorf("trial 0: %d epochs, recipe sets %q", planned.Epochs, planned.RecipeSets)
	}
	out := again.IO.Out.(*strings.Builder).String()
	if !strings.HasPrefix(out, "# 3 trials; front over max:anytime_auc, min:last_macs: ") {
		t.Errorf("front table has no title:\n%s", out)
	}
	_, out, _ = strings.Cut(out, "\n")
	if !strings.HasPrefix(out, "trial\tepochs\tanytime_auc\tlast_macs\texit MACs\texit top1\tspec\tsets\n0002\t2\t") ||
		!strings.Contains(out, "trials/0002/spec.toml") {
		t.Errorf("front table:\n%s", out)
	}

	// A third run trains nothing and gives the same result.
	third := tinySearch(t, space, dir)
	third.JSON = true
	if err := searchTrainCheck(third); err != nil {
		t.Fatal(err)
	}
	if log := third.IO.ErrOut.(*strings.Builder).String(); strings.Contains(log, "running trials") {
		t.Errorf("the third run trained:\n%s", log)
	}
	var printed search.Result
	if err := json.Unmarshal([]byte(third.IO.Out.(*strings.Builder).String()), &printed); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, &printed); diff != "" {
		t.Errorf("--json of the third run differs from search.json (-first +third):\n%s", diff)
	}
}

// TestSearchTrainCancel cancels a search as Ctrl-C would: exit code 130, and the rerun
// finishes it.
func TestSearchTrainCancel(t *testing.T) {
	space := writeSpace(t)
	dir := filepath.Join(t.TempDir(), "study")
	opts := tinySearch(t, space, dir)
	ctx, cancel := context.WithCancel(context.Background())
	opts.Context = ctx
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, study.TrialsDir, "0000", study.RunDir, "run.json")); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	err := searchTrainCheck(opts)
	var ec exitCodeError
	if !errors.As(err, &ec) || ec.code != ExitInterrupted {
		t.Fatalf("cancelled search: %v, want exit code %d\n%s", err, ExitInterrupted, opts.IO.ErrOut)
	}
	again := tinySearch(t, space, dir)
	if err := searchTrainCheck(again); err != nil {
		t.Fatalf("rerun: %v\n%s", err, again.IO.ErrOut)
	}
	if res := readSearch(t, dir); len(res.Trials) != 3 || len(res.Front) == 0 {
		t.Errorf("after the rerun: %d trials, front %v", len(res.Trials), res.Front)
	}
}
