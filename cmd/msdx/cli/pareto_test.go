package cli

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/report"
)

const (
	reportRun   = "../../../report/testdata/run-msdnet-small"
	reportStudy = "../../../report/testdata/study-fusion-stem"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func TestParetoWritesOnlyItsOutputs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.html")
	figs := filepath.Join(dir, "figs")
	stdout, stderr, code := run(t, false, "pareto", reportStudy, reportRun, "--out", out, "--figures", figs, "--format", "png")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{"figs", "figs/anytime.png", "figs/breakdown-1.png", "figs/breakdown-2.png", "figs/breakdown-3.png",
		"figs/breakdown-4.png", "figs/breakdown-5.png", "figs/budgeted.png", "figs/effects-1.png", "figs/pareto.png", "report.html"}
	if diff := cmp.Diff(want, listDir(t, dir)); diff != "" {
		t.Errorf("files written (-want +got):\n%s", diff)
	}
	if !strings.Contains(stdout, "wrote "+out+": 5 series") || !strings.Contains(stdout, "wrote 9 figures to "+figs+" as png") {
		t.Errorf("summary:\n%s", stdout)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || strings.Count(string(page), `<figure class="plot"`) != 9 {
		t.Errorf("report.html is not the 9-figure page")
	}
	for _, name := range want[1 : len(want)-1] {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 400 {
			t.Errorf("%s: %v pixels", name, b)
		}
	}
}

func TestParetoJSON(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := run(t, false, "pareto", reportStudy, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range r.Series {
		kinds = append(kinds, s.Kind)
	}
	want := []string{"variant", "variant", "variant", "variant", "baseline", "baseline", "baseline", "baseline", "baseline"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("series kinds (-want +got):\n%s", diff)
	}
	if len(r.Ablations) != 1 || len(r.Ablations[0].Effects) != 12 {
		t.Errorf("ablations: %+v", r.Ablations)
	}
	// --baselines none leaves the published series out; a synthetic run gets them only
	// when asked for.
	for _, tt := range []struct {
		args      []string
		baselines int
	}{
		{[]string{reportStudy, "--baselines", "none"}, 0},
		{[]string{reportRun}, 0},
		{[]string{reportRun, "--baselines", "cifar10"}, 5},
	} {
		stdout, stderr, code := run(t, false, append([]string{"pareto", "--json"}, tt.args...)...)
		if code != ExitOK {
			t.Fatalf("pareto %q: exit %d: %s", tt.args, code, stderr)
		}
		var r report.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range r.Series {
			if s.Kind == report.KindBaseline {
				n++
			}
		}
		if n != tt.baselines {
			t.Errorf("pareto %q: %d baselines, want %d", tt.args, n, tt.baselines)
		}
	}
	if _, stderr, code := run(t, false, "pareto", "--json", reportRun, "--baselines", "imagenet"); code != ExitUsage || !strings.Contains(stderr, `--baselines "imagenet"`) {
		t.Errorf("--baselines imagenet: exit %d, %s", code, stderr)
	}
	if got := listDir(t, dir); got != nil {
		t.Errorf("--json wrote %v", got)
	}
}

func TestParetoErrors(t *testing.T) {
	empty := t.TempDir()
	noEval := t.TempDir()
	b, err := os.ReadFile(filepath.Join(reportRun, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noEval, "run.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r.html")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no dirs", []string{"pareto", "--out", out}, ExitUsage, "give at least one run or study directory"},
		{"no output", []string{"pareto", reportRun}, ExitUsage, "nothing to write: give --out FILE, --figures DIR or --json"},
		{"bad format", []string{"pareto", reportRun, "--figures", empty, "--format", "bmp"}, ExitUsage, `--format "bmp": want svg, png, pdf`},
		{"format without figures", []string{"pareto", reportRun, "--out", out, "--format", "pdf"}, ExitUsage, "--format needs --figures DIR"},
		{"neither run nor study", []string{"pareto", empty, "--out", out}, ExitError, "is neither a run directory (it has no run.json) nor a study directory (it has no study.toml)"},
		{"not evaluated", []string{"pareto", noEval, "--out", out}, ExitError, "run `msdx eval " + noEval + "` first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, false, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written by a failed command", out)
			}
		})
	}
}
