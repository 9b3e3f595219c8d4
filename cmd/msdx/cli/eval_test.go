package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/msdx/msdx/dyneval"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/train"
)

// tinyRun trains a four-exit MSDNet for two epochs on 300 synthetic images (a few
// seconds) and returns its run directory.
func tinyRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	_, err := train.Train(context.Background(), train.Options{
		Spec:       "msdnet-cifar10-anytime",
		SpecSets:   []string{"channels=8", "growth=4", "blocks.count=4", "blocks.base=1", "blocks.step=1", "head.channels=16"},
		Data:       "synthetic:seed=1,train=300,test=120",
		Recipe:     "quick",
		RecipeSets: []string{"epochs=2", "schedule.warmup_epochs=0", "validation.size=30", "batch_size=32"},
		Out:        dir,
		Version:    "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEvalAndPredict runs "msdx eval" and "msdx predict" on one tiny run directory.
func TestEvalAndPredict(t *testing.T) {
	dir := tinyRun(t)
	// Before "msdx eval" saved its results, --budget fits the thresholds itself.
	fresh, stderr := predictBatch(t, dir, "--budget", "1G")
	if !strings.Contains(stderr, "fitted on the validation split") {
		t.Errorf("predict --budget without eval results: stderr %q does not say where the thresholds come from", stderr)
	}
	t.Run("eval", func(t *testing.T) { testEval(t, dir) })
	t.Run("predict-fitted-budget", func(t *testing.T) {
		doc := evalJSON(t, dir, "--no-check")
		setting, err := pickSetting(doc.Budgeted, evaluate.CostReference, 1e9)
		if err != nil {
			t.Fatal(err)
		}
		if fresh.Correct != setting.Test.Correct || !cmp.Equal(fresh.ExitCounts, setting.Test.ExitCounts) {
			t.Errorf("predict --budget 1G before eval: %d correct, exits %v; eval's setting p=%d: %d correct, exits %v",
				fresh.Correct, fresh.ExitCounts, setting.P, setting.Test.Correct, setting.Test.ExitCounts)
		}
	})
	t.Run("predict-images", func(t *testing.T) { testPredictImages(t, dir) })
	t.Run("predict-batch-budget", func(t *testing.T) { testPredictBatchBudget(t, dir) })
	t.Run("predict-batch-flags", func(t *testing.T) { testPredictBatchFlags(t, dir) })
	t.Run("errors", func(t *testing.T) { testPredictAndEvalErrors(t, dir) })
	t.Run("predict-stale-budget", func(t *testing.T) { testPredictStaleBudget(t, dir, fresh) })
	t.Run("locked", func(t *testing.T) { testLocked(t, dir) })
}

// testPredictStaleBudget checks that predict --budget refuses thresholds that "msdx eval"
// saved for other weights, or without saying for which, unless --refit, which fits them
// afresh. fresh is the result of fitting them before eval. It leaves dir as it found it.
func testPredictStaleBudget(t *testing.T, dir string, fresh PredictSplitResult) {
	evalDir := filepath.Join(dir, "eval")
	final := filepath.Join(dir, train.FinalFile)
	keep := map[string][]byte{}
	for _, name := range []string{final, filepath.Join(evalDir, "report.json"), filepath.Join(evalDir, "budgeted.json")} {
		keep[name] = readBytes(t, name)
	}
	defer func() {
		for name, b := range keep {
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}()
	var report map[string]any
	if err := json.Unmarshal(keep[filepath.Join(evalDir, "report.json")], &report); err != nil {
		t.Fatal(err)
	}
	delete(report, "weights_sha256")
	noHash, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	rerun := fmt.Sprintf(`rerun "msdx eval %s --weights final" to save thresholds for them, or pass --refit to fit them on the validation split now`, dir)
	tests := []struct {
		name   string
		modify func(t *testing.T)
		want   string
	}{
		{"weights changed", func(t *testing.T) {
			// The best weights' file differs from the final one (its metadata at least).
			writeBytes(t, final, readBytes(t, filepath.Join(dir, train.BestFile)))
		}, "eval/report.json: the budgeted thresholds were fitted for other weights (sha256 "},
		{"report without hash", func(t *testing.T) {
			writeBytes(t, filepath.Join(evalDir, "report.json"), noHash)
		}, "eval/report.json does not record which weights its budgeted thresholds were fitted for (an older msdx wrote it): "},
		{"no report", func(t *testing.T) {
			if err := os.Remove(filepath.Join(evalDir, "report.json")); err != nil {
				t.Fatal(err)
			}
		}, "eval/budgeted.json has budgeted thresholds but there is no "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, b := range keep {
				writeBytes(t, name, b)
			}
			// Unchanged, the saved thresholds are used.
			if _, stderr := predictBatch(t, dir, "--budget", "1G"); !strings.Contains(stderr, "from the budgeted results in "+evalDir) {
				t.Fatalf("before the change: stderr %q does not say the thresholds are eval's", stderr)
			} else if !regexp.MustCompile(`top-1 on the validation split \([0-9.]+[kMG]? and [0-9.]+% on the test split, as msdx eval shows them\); from`).MatchString(stderr) {
				// eval's table quotes the test split, predict's note the validation split.
				t.Errorf("stderr %q does not give the setting's figures on both splits", stderr)
			}
			tt.modify(t)
			_, stderr, code := run(t, false, "predict", dir, "--split", "test", "--budget", "1G")
			if code != ExitError || !strings.Contains(stderr, tt.want) || !strings.HasSuffix(strings.TrimSpace(stderr), rerun) {
				t.Errorf("exit %d, stderr %q; want exit %d, %q and %q", code, stderr, ExitError, tt.want, rerun)
			}
			if tt.name == "weights changed" {
				return // other weights: --refit would not give fresh's result
			}
			got, stderr := predictBatch(t, dir, "--budget", "1G", "--refit")
			if !strings.Contains(stderr, "thresholds fitted on the validation split (--refit)") {
				t.Errorf("--refit: stderr %q does not say the thresholds were fitted now", stderr)
			}
			if diff := cmp.Diff(fresh, got, cmpopts.IgnoreFields(PredictSplitResult{}, "Seconds", "ImagesPerSec")); diff != "" {
				t.Errorf("--refit differs from fitting before eval (-before +refit):\n%s", diff)
			}
		})
	}
}

// testLocked checks that eval fails at once on a locked run, naming the holder, and that
// predict, which writes nothing, does not mind the lock.
func testLocked(t *testing.T, dir string) {
	l, err := dirlock.Acquire(dir, "msdx train")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	before := readBytes(t, filepath.Join(dir, "eval", "report.json"))
	_, stderr, code := run(t, false, "eval", dir, "--no-check")
	want := fmt.Sprintf("%s is in use by pid %d on host ", dir, os.Getpid())
	if code != ExitError || !strings.Contains(stderr, want) || !strings.Contains(stderr, "(msdx train since ") {
		t.Errorf("eval of a locked run: exit %d, stderr %q; want exit %d and %q", code, stderr, ExitError, want)
	}
	if diff := cmp.Diff(before, readBytes(t, filepath.Join(dir, "eval", "report.json"))); diff != "" {
		t.Errorf("eval of a locked run rewrote report.json:\n%s", diff)
	}
	if _, stderr, code := run(t, false, "predict", dir, "--split", "test", "--threshold", "0.5"); code != ExitOK {
		t.Errorf("predict on a locked run: exit %d, stderr %q", code, stderr)
	}
}

func readBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBytes(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func evalJSON(t *testing.T, dir string, args ...string) evaluate.RunReport {
	t.Helper()
	stdout, stderr, code := run(t, false, append([]string{"eval", dir, "--json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("msdx eval: exit %d: %s", code, stderr)
	}
	var doc evaluate.RunReport
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("msdx eval --json: %v", err)
	}
	return doc
}

func testEval(t *testing.T, dir string) {
	doc := evalJSON(t, dir, "--check", "5", "--check", "20", "--check", "35", "--batch", "50")
	r, err := train.OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The anytime accuracies are those the trainer measured on the test split.
	res, err := r.Test()
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Anytime.Exits) != len(res.Final) {
		t.Fatalf("%d anytime exits, the run's test.json has %d", len(doc.Anytime.Exits), len(res.Final))
	}
	for k, e := range doc.Anytime.Exits {
		if math.Abs(e.Top1-100*res.Final[k].Top1) > 1e-9 || math.Abs(e.Top5-100*res.Final[k].Top5) > 1e-9 {
			t.Errorf("exit %d: top-1/top-5 %v/%v, the trainer measured %v/%v", k+1, e.Top1, e.Top5, 100*res.Final[k].Top1, 100*res.Final[k].Top5)
		}
	}
	if len(doc.Budgeted.Settings) != dyneval.NumBudgetSettings {
		t.Errorf("%d budget settings", len(doc.Budgeted.Settings))
	}
	if len(doc.Checks) != 3 {
		t.Fatalf("%d cross-checks, want 3", len(doc.Checks))
	}
	for _, c := range doc.Checks {
		if c.Mismatches != 0 || c.Real.Correct != c.Simulated.Correct || !cmp.Equal(c.Real.ExitCounts, c.Simulated.ExitCounts) {
			t.Errorf("p=%d: real early exit %+v, simulated %+v, %d mismatches", c.P, c.Real, c.Simulated, c.Mismatches)
		}
	}

	// The files agree with the printed report.
	for _, name := range []string{"anytime.json", "anytime.csv", "budgeted.json", "budgeted.csv", "report.json"} {
		if _, err := os.Stat(filepath.Join(dir, "eval", name)); err != nil {
			t.Error(err)
		}
	}
	saved, err := evaluate.Load(filepath.Join(dir, "eval"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doc.Budgeted, saved.Budgeted); diff != "" {
		t.Errorf("report.json's budgeted results differ from the printed report (-printed +file):\n%s", diff)
	}
	var budgeted dyneval.BudgetedResult
	if err := json.Unmarshal(readBytes(t, filepath.Join(dir, "eval", "budgeted.json")), &budgeted); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doc.Budgeted, &budgeted); diff != "" {
		t.Errorf("budgeted.json differs from the printed report (-printed +file):\n%s", diff)
	}
	// The report names the weights it was computed with by their file's hash.
	sum := sha256.Sum256(readBytes(t, filepath.Join(dir, train.FinalFile)))
	if diff := cmp.Diff(hex.EncodeToString(sum[:]), saved.WeightsSHA256); diff != "" {
		t.Errorf("report.json weights_sha256 (-sha256 of final.safetensors +report):\n%s", diff)
	}

	// Piped output: three tab-separated tables, each after a "# " line naming it and
	// the split its figures are on.
	stdout, stderr, code := run(t, false, "eval", dir, "--batch", "64")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tables := strings.Split(strings.TrimSpace(stdout), "\n\n")
	if len(tables) != 3 {
		t.Fatalf("%d tables in\n%s", len(tables), stdout)
	}
	titles := []string{
		"# msdnet-cifar10-anytime  final weights  test split (",
		"# budgeted batch on the test split: thresholds fitted on the validation split, top-1 and expected MACs per image on the test split\n",
		"# real early exit against the simulation on the test split (",
	}
	for i, title := range titles {
		if !strings.HasPrefix(tables[i], title) {
			t.Errorf("table %d does not start with %q:\n%s", i+1, title, tables[i])
		}
		_, tables[i], _ = strings.Cut(tables[i], "\n")
	}
	for i, want := range []int{1 + len(doc.Anytime.Exits), 1 + dyneval.NumBudgetSettings, 2} {
		lines := strings.Split(tables[i], "\n")
		if len(lines) != want {
			t.Errorf("table %d has %d lines, want %d", i+1, len(lines), want)
		}
		for _, l := range lines {
			if !strings.Contains(l, "\t") {
				t.Errorf("table %d: line %q is not tab-separated", i+1, l)
			}
		}
	}
	if !strings.Contains(tables[2], "identical") {
		t.Errorf("cross-check table does not say identical:\n%s", tables[2])
	}
	// Per-exit costs are whole numbers of MACs and print as integers, as "msdx flops"
	// prints them; expected costs are means and keep two decimals (issue 12).
	integer := func(c float64) string { return strconv.FormatFloat(c, 'f', -1, 64) }
	var want, got [][]string
	for i, l := range strings.Split(tables[0], "\n")[1:] {
		e := doc.Anytime.Exits[i]
		want = append(want, []string{strconv.Itoa(e.Exit), integer(e.Cost[evaluate.CostReference]), integer(e.Cost[evaluate.CostCone])})
		got = append(got, strings.Split(l, "\t")[:3])
	}
	last := doc.Anytime.Exits[len(doc.Anytime.Exits)-1]
	check := strings.Split(strings.Split(tables[2], "\n")[1], "\t")
	want = append(want, []string{"two decimals", integer(last.Cost[evaluate.CostCone])})
	executed := check[4]
	if i := strings.IndexByte(executed, '.'); i >= 0 && len(executed)-i == 3 {
		executed = "two decimals"
	}
	got = append(got, []string{executed, check[5]})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("piped MAC columns (-want +got):\n%s", diff)
	}
}

func TestCostStrings(t *testing.T) {
	tests := []struct {
		name     string
		format   func(bool, float64) string
		c        float64
		terminal bool
		want     string
	}{
		{"integer piped", macsString, 9350410, false, "9350410"},
		{"integer on a terminal", macsString, 9350410, true, "9.35M"},
		{"small integer on a terminal", macsString, 512, true, "512"},
		{"mean piped", costString, 9350410.25, false, "9350410.25"},
		{"whole mean piped keeps its decimals", costString, 9350410, false, "9350410.00"},
		{"mean on a terminal", costString, 9350410.25, true, "9.35M"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.format(tc.terminal, tc.c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// testImage returns image i of the run's test split as an image.Image.
func testImage(t *testing.T, r *train.Run, i int) (image.Image, int) {
	t.Helper()
	ds, err := r.Dataset()
	if err != nil {
		t.Fatal(err)
	}
	s := &ds.Test
	px := s.Image(i)
	img := image.NewNRGBA(image.Rect(0, 0, s.W, s.H))
	plane := s.H * s.W
	for y := range s.H {
		for x := range s.W {
			img.SetNRGBA(x, y, color.NRGBA{R: px[y*s.W+x], G: px[plane+y*s.W+x], B: px[2*plane+y*s.W+x], A: 255})
		}
	}
	return img, int(s.Labels[i])
}

func writeImage(t *testing.T, name string, img image.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".png") {
		err = png.Encode(f, img)
	} else {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func testPredictImages(t *testing.T, dir string) {
	r, err := train.OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	net, err := r.Network("final")
	if err != nil {
		t.Fatal(err)
	}
	// What early exit decides for the first test images when they come from the run's
	// own loader: image files must give the same.
	const threshold = 0.3
	loader, err := r.EvalLoader("test", 8)
	if err != nil {
		t.Fatal(err)
	}
	batch := loader.Batch(0, 0)
	rule := func(k int, conf float32) bool { return conf >= threshold }
	want := nn.NewEarlyExit(net).Run(&kernels.Tensor{C: batch.C, N: batch.N, H: batch.H, W: batch.W, Data: batch.Data}, rule, nil)
	exits := map[int]bool{}
	var args []string
	for i := range batch.N {
		img, _ := testImage(t, r, i)
		args = append(args, writeImage(t, "img"+string(rune('a'+i))+".png", img))
		exits[want[i].Exit] = true
	}
	stdout, stderr, code := run(t, false, append([]string{"predict", dir, "--threshold", "0.3", "--json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []PredictResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != batch.N {
		t.Fatalf("%d results for %d images", len(got), batch.N)
	}
	for i, p := range got {
		w := want[i]
		if p.Input != args[i] || p.Class != w.Class || p.Exit != w.Exit+1 || p.Confidence != w.Confidence || p.ClassName != r.DataInfo.Classes[w.Class] {
			t.Errorf("image %d: got %+v, want class %d (%s) at exit %d, confidence %v", i, p, w.Class, r.DataInfo.Classes[w.Class], w.Exit+1, w.Confidence)
		}
	}
	if len(exits) < 2 {
		t.Logf("all images left at exits %v; the threshold exercises little", exits)
	}

	// A JPEG decodes and gives a prediction (lossy, so no exact comparison), in a table.
	img, _ := testImage(t, r, 0)
	stdout, stderr, code = run(t, false, "predict", dir, "--threshold", "0.3", writeImage(t, "x.jpg", img))
	if code != ExitOK {
		t.Fatalf("jpeg: exit %d: %s", code, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "input\tclass\texit") {
		t.Errorf("jpeg: output\n%s", stdout)
	}
}

func testPredictBatchBudget(t *testing.T, dir string) {
	doc := evalJSON(t, dir, "--no-check")
	for _, model := range []string{evaluate.CostReference, evaluate.CostCone} {
		for _, p := range []int{3, 20, 39} {
			budget := doc.Budgeted.Settings[p-1].Validation.ExpectedCost[model]
			setting, err := pickSetting(doc.Budgeted, model, budget)
			if err != nil {
				t.Fatal(err)
			}
			if setting.Validation.ExpectedCost[model] != budget {
				t.Fatalf("budget %v picked a setting costing %v", budget, setting.Validation.ExpectedCost[model])
			}
			got, _ := predictBatch(t, dir, "--budget", formatExact(budget), "--cost-model", model)
			want := setting.Test
			if got.N != want.N || got.Correct != want.Correct || !cmp.Equal(got.ExitCounts, want.ExitCounts) {
				t.Errorf("%s budget of p=%d: predict --split gives %d/%d correct, exits %v; eval's setting p=%d %d/%d, exits %v",
					model, p, got.Correct, got.N, got.ExitCounts, setting.P, want.Correct, want.N, want.ExitCounts)
			}
			if math.Abs(got.MACsPerImage-want.ExpectedCost[evaluate.CostCone]) > 1e-6*got.MACsPerImage {
				t.Errorf("%s budget of p=%d: executed %v MACs per image, the cone model expects %v", model, p, got.MACsPerImage, want.ExpectedCost[evaluate.CostCone])
			}
		}
	}
}

// testPredictBatchFlags checks that predict's --batch is images per batch, as in eval and
// bench, that the batch size does not change the predictions, and that the old name
// --batch-size still works with a note (issue 12).
func testPredictBatchFlags(t *testing.T, dir string) {
	want, _ := predictBatch(t, dir, "--threshold", "0.5")
	tests := []struct {
		name string
		args []string
		note string
	}{
		{"batch", []string{"--batch", "7"}, ""},
		{"batch-size", []string{"--batch-size", "7"}, "msdx: --batch-size is now --batch\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, stderr := predictBatch(t, dir, append([]string{"--threshold", "0.5"}, tc.args...)...)
			got.Seconds, got.ImagesPerSec = want.Seconds, want.ImagesPerSec
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result (-batch 128 +%v):\n%s", tc.args, diff)
			}
			if diff := cmp.Diff(tc.note, withoutProgress(stderr)); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// withoutProgress drops the progress lines a pass that takes more than statusDelay
// writes (on a busy machine), leaving the notes a test checks.
func withoutProgress(stderr string) string {
	var kept []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if !strings.HasPrefix(line, "msdx: early exit on the test split: ") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// predictBatch runs "msdx predict --split test" with args and returns its result and stderr.
func predictBatch(t *testing.T, dir string, args ...string) (PredictSplitResult, string) {
	t.Helper()
	stdout, stderr, code := run(t, false, append([]string{"predict", dir, "--split", "test", "--json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("msdx predict %v: exit %d: %s", args, code, stderr)
	}
	var res PredictSplitResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	return res, stderr
}

// formatExact formats v so that parsing it gives v back.
func formatExact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func testPredictAndEvalErrors(t *testing.T, dir string) {
	img, _ := testImage(t, mustOpen(t, dir), 0)
	file := writeImage(t, "a.png", img)
	notImage := filepath.Join(t.TempDir(), "x.png")
	if err := os.WriteFile(notImage, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no rule", []string{"predict", dir, file}, ExitUsage, "exactly one of --threshold and --budget"},
		{"both rules", []string{"predict", dir, file, "--threshold", "0.5", "--budget", "3M"}, ExitUsage, "exactly one"},
		{"no inputs", []string{"predict", dir, "--threshold", "0.5"}, ExitUsage, "give IMAGE files"},
		{"inputs and split", []string{"predict", dir, file, "--split", "test", "--threshold", "0.5"}, ExitUsage, "give no IMAGE files"},
		{"split given to --batch", []string{"predict", dir, "--batch", "test", "--threshold", "0.5"}, ExitUsage, "name a split with --split SPLIT"},
		{"bad batch", []string{"predict", dir, "--split", "test", "--batch", "0", "--threshold", "0.5"}, ExitUsage, "--batch 0: want at least 1"},
		{"bad budget", []string{"predict", dir, file, "--budget", "lots"}, ExitUsage, "not a positive number"},
		{"bad split", []string{"predict", dir, "--split", "train", "--threshold", "0.5"}, ExitUsage, "--split \"train\": want val or test"},
		{"bad cost model", []string{"predict", dir, file, "--budget", "1M", "--cost-model", "flops"}, ExitUsage, "--cost-model"},
		{"budget too small", []string{"predict", dir, file, "--budget", "1k"}, ExitError, "below the cheapest setting"},
		{"not an image", []string{"predict", dir, notImage, "--threshold", "0.5"}, ExitError, "want an image"},
		{"missing image", []string{"predict", dir, "nonexistent.png", "--threshold", "0.5"}, ExitError, "nonexistent.png"},
		{"eval bad check", []string{"eval", dir, "--check", "40"}, ExitUsage, "--check 40"},
		{"eval bad split", []string{"eval", dir, "--split", "holdout"}, ExitUsage, "want test, val or train"},
		{"eval bad weights", []string{"eval", dir, "--weights", "first"}, ExitUsage, "--weights"},
		{"eval no run", []string{"eval", filepath.Join(t.TempDir(), "none")}, ExitError, ""},
		{"refit without budget", []string{"predict", dir, file, "--threshold", "0.5", "--refit"}, ExitUsage, "--refit fits the thresholds of --budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, false, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.msg)
			}
		})
	}
}

func mustOpen(t *testing.T, dir string) *train.Run {
	t.Helper()
	r, err := train.OpenRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
