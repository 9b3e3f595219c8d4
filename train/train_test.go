package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/internal/sysinfo"
	"github.com/msdx/msdx/kernels"
)

// tinyOptions is a run that trains in about a second: a 2-exit MSDNet of width 8 on
// 400 synthetic images, 2 epochs of 23 batches.
func tinyOptions(t *testing.T, threads int) Options {
	t.Helper()
	return Options{
		Spec:       "msdnet-cifar10-small",
		SpecSets:   []string{"channels=8", "head.channels=16", "blocks.count=2"},
		Data:       "synthetic:train=400,test=100",
		Recipe:     "quick",
		RecipeSets: []string{"epochs=2", "batch_size=16"},
		Out:        filepath.Join(t.TempDir(), "run"),
		Version:    "test",
		Session:    Session{Threads: threads},
	}
}

var shared struct {
	once sync.Once
	dir  string
	err  error
}

// finishedRun returns the directory of a tiny run with one thread, trained once for
// all tests, which must not modify it.
func finishedRun(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		opts := tinyOptions(t, 1)
		opts.Out = filepath.Join(sharedTemp, "finished")
		_, shared.err = Train(context.Background(), opts)
		shared.dir = opts.Out
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir
}

var sharedTemp string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "msdx-train-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedTemp = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cancelAt is a Progress that cancels a context after a given batch.
type cancelAt struct {
	epoch, batch int
	cancel       context.CancelFunc
}

func (c *cancelAt) Batch(p BatchProgress) {
	if p.Epoch == c.epoch && p.Batch == c.batch {
		c.cancel()
	}
}
func (c *cancelAt) Epoch(EpochMetrics) {}
func (c *cancelAt) Test(TestResult)    {}

// withoutTiming returns the metrics lines without the fields that measure time.
func withoutTiming(t *testing.T, dir string) []EpochMetrics {
	t.Helper()
	ms, err := readMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		ms[i].ImagesPerSec, ms[i].WallSeconds = 0, 0
	}
	return ms
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameRunResults checks that two runs produced the same weights, metrics and test
// results, bit for bit.
func sameRunResults(t *testing.T, want, got string) {
	t.Helper()
	for _, name := range []string{FinalFile, BestFile, LatestFile, TestFile} {
		if !bytes.Equal(readFile(t, filepath.Join(want, name)), readFile(t, filepath.Join(got, name))) {
			t.Errorf("%s differs between the uninterrupted and the resumed run", name)
		}
	}
	if diff := cmp.Diff(withoutTiming(t, want), withoutTiming(t, got)); diff != "" {
		t.Errorf("metrics (-uninterrupted +resumed):\n%s", diff)
	}
}

// TestResumeBitExact interrupts runs at various points, resumes them, and checks
// that they end exactly as an uninterrupted run.
func TestResumeBitExact(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			ref := finishedRun(t)
			if threads != 1 {
				opts := tinyOptions(t, threads)
				if _, err := Train(context.Background(), opts); err != nil {
					t.Fatal(err)
				}
				ref = opts.Out
			}
			// Mid-epoch, first batch of an epoch, last batch of the run.
			for _, stop := range []struct{ epoch, batch int }{{1, 5}, {2, 1}, {2, 23}} {
				t.Run(fmt.Sprintf("epoch%d-batch%d", stop.epoch, stop.batch), func(t *testing.T) {
					opts := tinyOptions(t, threads)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					opts.Progress = &cancelAt{epoch: stop.epoch, batch: stop.batch, cancel: cancel}
					r, err := Train(ctx, opts)
					if !errors.Is(err, ErrInterrupted) {
						t.Fatalf("Train: got error %v, want ErrInterrupted", err)
					}
					if r.Info.Status != StatusInterrupted {
						t.Errorf("status %q, want %q", r.Info.Status, StatusInterrupted)
					}
					if _, err := os.Stat(filepath.Join(opts.Out, FinalFile)); err == nil {
						t.Errorf("an interrupted run wrote %s", FinalFile)
					}
					if _, err := Resume(context.Background(), opts.Out, "test", Session{}); err != nil {
						t.Fatalf("Resume: %v", err)
					}
					sameRunResults(t, ref, opts.Out)
				})
			}
		})
	}
}

// TestResumeMixed checks resumption with the soft-target path: Mixup, CutMix, label
// smoothing and exit weights.
func TestResumeMixed(t *testing.T) {
	mixed := []string{"augmentation.mixup_alpha=0.8", "augmentation.cutmix_alpha=1", "augmentation.cutmix_prob=0.5",
		"loss.label_smoothing=0.1", "loss.exit_weights=0.5,1"}
	ref := tinyOptions(t, 1)
	ref.RecipeSets = append(ref.RecipeSets, mixed...)
	r, err := Train(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if r.Recipe.Augmentation.MixupAlpha != 0.8 || r.Recipe.Loss.LabelSmoothing != 0.1 {
		t.Fatalf("recipe.toml lost the overrides: %+v", r.Recipe)
	}
	opts := tinyOptions(t, 1)
	opts.RecipeSets = append(opts.RecipeSets, mixed...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts.Progress = &cancelAt{epoch: 1, batch: 11, cancel: cancel}
	if _, err := Train(ctx, opts); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Train: %v", err)
	}
	if _, err := Resume(context.Background(), opts.Out, "test", Session{}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	sameRunResults(t, ref.Out, opts.Out)
}

// TestTextProgress checks both renderings of progress.
func TestTextProgress(t *testing.T) {
	exits := []ExitMetrics{{Loss: 2, Top1: 0.25}, {Loss: 1.5, Top1: 0.5}}
	m := EpochMetrics{Epoch: 1, LR: 0.1, Train: exits, Val: exits, ImagesPerSec: 100, WallSeconds: 65}
	for _, width := range []int{0, 200} {
		terminal := width > 0
		var buf bytes.Buffer
		p := NewTextProgress(&buf, width)
		p.Batch(BatchProgress{Epoch: 1, Epochs: 2, Batch: 10, Batches: 10, Exits: exits, LR: 0.1})
		p.Epoch(m)
		p.Test(TestResult{Images: 100, Final: exits})
		got := buf.String()
		want := "epoch 1: lr 0.1  train loss 1.5000 top-1 50.00%  val top-1 by exit 25.00 50.00%  100 img/s  1m05s\n" +
			"test (100 images) top-1 by exit: 25.00 50.00%\n"
		if terminal {
			bar := "\r\x1b[Kepoch 1/2 [========================] 10/10  loss 1.500  top-1 50.0%  lr 0.1  ETA "
			if !strings.HasPrefix(got, bar) || !strings.HasSuffix(got, "\r\x1b[K"+want) {
				t.Errorf("terminal output %q, want the bar %q, then a cleared line and %q", got, bar, want)
			}
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("piped output (-want +got):\n%s", diff)
		}
	}
}

// TestFitLine checks that the status line fits the terminal, shrinking its bar first.
func TestFitLine(t *testing.T) {
	head, tail := "epoch 1/2 ", "5/10  loss 1.500  top-1 50.0%  lr 0.1  ETA 0m01s"
	tests := []struct {
		width int
		want  string
	}{
		{200, "epoch 1/2 [============            ] 5/10  loss 1.500  top-1 50.0%  lr 0.1  ETA 0m01s"},
		{80, "epoch 1/2 [=========         ] 5/10  loss 1.500  top-1 50.0%  lr 0.1  ETA 0m01s"},
		{68, "epoch 1/2 [===   ] 5/10  loss 1.500  top-1 50.0%  lr 0.1  ETA 0m01s"},
		{67, "epoch 1/2 5/10  loss 1.500  top-1 50.0%  lr 0.1  ETA 0m01s"},
		{40, "epoch 1/2 5/10  loss 1.500  top-1 50.0%"},
	}
	for _, tt := range tests {
		got := fitLine(head, tail, 0.5, tt.width)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("width %d (-want +got):\n%s", tt.width, diff)
		}
		if len(got) >= tt.width {
			t.Errorf("width %d: line of %d columns", tt.width, len(got))
		}
	}
}

// TestResumeAfterCrash resumes from a mid-epoch checkpoint with a metrics line
// written after it, as after a crash, and checks that the line is dropped and
// redone identically.
func TestResumeAfterCrash(t *testing.T) {
	ref := finishedRun(t)
	opts := tinyOptions(t, 1)
	opts.CheckpointEvery = 4
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stop right after a periodic checkpoint (batch 8), then fake a crash later in the
	// epoch: a stale line for epoch 1 and a line cut short.
	opts.Progress = &cancelAt{epoch: 1, batch: 8, cancel: cancel}
	if _, err := Train(ctx, opts); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Train: %v", err)
	}
	metrics := filepath.Join(opts.Out, MetricsFile)
	if err := os.WriteFile(metrics, []byte(`{"epoch":1,"lr":1,"train":[]}`+"\n"+`{"epoch":2,"l`), 0o644); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(opts.Out, RunFile)
	b := bytes.Replace(readFile(t, info), []byte(`"interrupted"`), []byte(`"running"`), 1)
	if err := os.WriteFile(info, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), opts.Out, "test", Session{}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	sameRunResults(t, ref, opts.Out)
}

// TestTrainLearns checks the loss and gradient wiring: a tiny network beats chance
// (10 %) clearly after two short epochs.
func TestTrainLearns(t *testing.T) {
	if os.Getenv("MSDX_SLOW_TESTS") != "1" {
		t.Skip("trains for about half a minute; set MSDX_SLOW_TESTS=1")
	}
	opts := tinyOptions(t, 0)
	opts.SpecSets = []string{"blocks.count=2"}
	opts.Data = "synthetic:train=3000,test=500"
	opts.RecipeSets = []string{"epochs=7", "batch_size=32"}
	if _, err := Train(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRun(opts.Out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Test()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := r.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 7 || len(ms[6].Train) != 2 || len(ms[6].Val) != 2 {
		t.Fatalf("metrics: %+v, want 7 epochs of 2 exits with validation", ms)
	}
	if first, last := ms[0].Train[1].Loss, ms[6].Train[1].Loss; !(last < first) {
		t.Errorf("training loss of the last exit went from %.4f to %.4f, want a decrease", first, last)
	}
	for k, m := range res.Final {
		if m.Top1 < 0.4 {
			t.Errorf("exit %d: test top-1 %.3f, want at least 0.4 (chance is 0.1)", k+1, m.Top1)
		}
	}
	if r.Info.Status != StatusFinished || r.Info.EpochsDone != 7 {
		t.Errorf("run.json: status %q, %d epochs done; want finished after 7", r.Info.Status, r.Info.EpochsDone)
	}
}

// TestOpenRun checks the reading API against what training wrote.
func TestOpenRun(t *testing.T) {
	r, err := OpenRun(finishedRun(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.DataInfo.TrainSize+r.DataInfo.ValSize, 400; got != want || r.DataInfo.ValSize != 40 {
		t.Errorf("train %d + val %d images, want 360 + 40", r.DataInfo.TrainSize, r.DataInfo.ValSize)
	}
	for _, tt := range []struct {
		split string
		want  int
	}{{"train", 360}, {"val", 40}, {"test", 100}} {
		l, err := r.EvalLoader(tt.split, 64)
		if err != nil {
			t.Fatalf("EvalLoader(%q): %v", tt.split, err)
		}
		if l.Len() != tt.want || l.Batches() != (tt.want+63)/64 {
			t.Errorf("EvalLoader(%q): %d images in %d batches, want %d images, no batch dropped", tt.split, l.Len(), l.Batches(), tt.want)
		}
	}
	res, err := r.Test()
	if err != nil {
		t.Fatal(err)
	}
	test, err := r.EvalLoader("test", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		name string
		want []ExitMetrics
	}{{"final", res.Final}, {"best", res.Best}} {
		net, err := r.Network(w.name)
		if err != nil {
			t.Fatalf("Network(%q): %v", w.name, err)
		}
		if net.Training() {
			t.Errorf("Network(%q) is in training mode", w.name)
		}
		// Batches of another size than training's give the same metrics up to rounding.
		got, err := evaluate(net, test, 10)
		if err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if got[k].Top1 != w.want[k].Top1 || diffRel(got[k].Loss, w.want[k].Loss) > 1e-5 {
				t.Errorf("%s weights, exit %d: %+v, test.json has %+v", w.name, k+1, got[k], w.want[k])
			}
		}
	}
	if _, err := r.Network("latest"); err != nil {
		t.Errorf("Network(latest): %v", err)
	}
	if _, err := r.Network("newest"); err == nil || !strings.Contains(err.Error(), "final, best or latest") {
		t.Errorf("Network(newest): error %v, want one listing the choices", err)
	}
	if _, err := r.EvalLoader("holdout", 8); err == nil {
		t.Error("EvalLoader(holdout): no error")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Path(../x) did not panic")
			}
		}()
		r.Path("../x")
	}()
}

func diffRel(a, b float64) float64 {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d / max(1e-12, abs(b))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestErrors checks that bad inputs are refused with errors naming what is wrong,
// and that refusing leaves existing directories as they were.
func TestErrors(t *testing.T) {
	finished := finishedRun(t)
	notRun := t.TempDir()
	if err := os.WriteFile(filepath.Join(notRun, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"bad data kind", func(o *Options) { o.Data = "cifar11:/nowhere" }, "cifar11"},
		{"missing data dir", func(o *Options) { o.Data = "cifar10:/nonexistent/cifar" }, "/nonexistent/cifar"},
		{"classes mismatch", func(o *Options) { o.SpecSets = append(o.SpecSets, "classes=5") }, "--set classes=10"},
		{"bad spec override", func(o *Options) { o.SpecSets = append(o.SpecSets, "blocks.count=x") }, "blocks.count"},
		{"bad recipe override", func(o *Options) { o.RecipeSets = append(o.RecipeSets, "optimizer.lr=-1") }, "optimizer.lr"},
		{"exit weights", func(o *Options) { o.RecipeSets = append(o.RecipeSets, "loss.exit_weights=1,1,1") }, "exit_weights"},
		{"non-run directory", func(o *Options) { o.Out = notRun }, "not an msdx run directory"},
		{"existing run", func(o *Options) { o.Out = finished }, "--resume"},
	}
	before := snapshot(t, finished)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tinyOptions(t, 1)
			tt.modify(&opts)
			_, err := Train(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if diff := cmp.Diff(before, snapshot(t, finished)); diff != "" {
		t.Errorf("refused runs changed the existing run directory:\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"notes.txt": "mine"}, snapshot(t, notRun)); diff != "" {
		t.Errorf("a refused run changed a non-run directory:\n%s", diff)
	}
	if _, err := Resume(context.Background(), finished, "test", Session{}); err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Errorf("Resume of a finished run: error %v", err)
	}
	if _, err := Resume(context.Background(), notRun, "test", Session{}); err == nil || !strings.Contains(err.Error(), "not an msdx run directory") {
		t.Errorf("Resume of a non-run directory: error %v", err)
	}
}

// lockProbe is a Progress that tries to lock the run directory at every epoch's end and
// when the test results come, and records what Acquire said.
type lockProbe struct {
	dir  string
	errs []string
}

func (p *lockProbe) probe() {
	l, err := dirlock.Acquire(p.dir, "probe")
	if err != nil {
		p.errs = append(p.errs, err.Error())
		return
	}
	l.Release()
	p.errs = append(p.errs, "acquired")
}

func (p *lockProbe) Batch(BatchProgress) {}
func (p *lockProbe) Epoch(EpochMetrics)  { p.probe() }
func (p *lockProbe) Test(TestResult)     { p.probe() }

// TestRunLock checks that Train holds the run directory's lock until it returns, and that
// Train and Resume fail at once, naming the holder, on a run another holder locked.
func TestRunLock(t *testing.T) {
	opts := tinyOptions(t, 1)
	probe := &lockProbe{dir: opts.Out}
	opts.Progress = probe
	if _, err := Train(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	held := fmt.Sprintf("%s is in use by pid %d on host %s (%s since ", opts.Out, os.Getpid(), host, LockTrain)
	if len(probe.errs) != 3 {
		t.Fatalf("%d probes, want 3 (two epochs and the test): %q", len(probe.errs), probe.errs)
	}
	for i, e := range probe.errs {
		if !strings.HasPrefix(e, held) {
			t.Errorf("probe %d while training: %q, want %q...", i+1, e, held)
		}
	}
	l, err := dirlock.Acquire(opts.Out, "msdx eval")
	if err != nil {
		t.Fatalf("after Train returned: %v", err)
	}
	l.Release()

	// A locked run: Resume and a new Train into it fail with the holder's pid, and write
	// nothing.
	dir := filepath.Join(t.TempDir(), "copy")
	copyDir(t, finishedRun(t), dir)
	info := filepath.Join(dir, RunFile)
	b := bytes.Replace(readFile(t, info), []byte(`"finished"`), []byte(`"interrupted"`), 1)
	if err := os.WriteFile(info, b, 0o644); err != nil {
		t.Fatal(err)
	}
	lock, err := dirlock.Acquire(dir, "msdx eval")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	want := fmt.Sprintf("%s is in use by pid %d on host %s (msdx eval since ", dir, os.Getpid(), host)
	tests := []struct {
		name string
		run  func() error
	}{
		{"resume", func() error { _, err := Resume(context.Background(), dir, "test", Session{}); return err }},
		{"train", func() error {
			o := tinyOptions(t, 1)
			o.Out = dir
			_, err := Train(context.Background(), o)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var he *dirlock.HeldError
			if !errors.As(err, &he) || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; wait for it or stop it") {
				t.Fatalf("error %v, want a *dirlock.HeldError %q...", err, want)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("the refused command changed the run directory:\n%s", diff)
			}
		})
	}
	lock.Release()
	// Unlocked, the same run resumes (here: from its last checkpoint, which is past the
	// last epoch, so it only finishes).
	if _, err := Resume(context.Background(), dir, "test", Session{}); err != nil {
		t.Errorf("Resume after the lock was released: %v", err)
	}
}

// TestOpenRunDamaged checks that OpenRun names the file that is wrong.
func TestOpenRunDamaged(t *testing.T) {
	finished := finishedRun(t)
	tests := []struct {
		file, from, to, want string
	}{
		{RunFile, `"format": 1`, `"format": 1,,`, RunFile},
		{RunFile, `"format": 1`, `"format": 9`, "run format 9"},
		{SpecFile, "channels = 8", "channels = 12", "spec hash"},
		{RecipeFile, "epochs = 2", "epochs = -1", RecipeFile},
		{DataFile, `"fingerprint": "sha256:`, `"fingerprint": "sha256:0`, DataFile},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.want, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			copyDir(t, finished, dir)
			name := filepath.Join(dir, tt.file)
			b := readFile(t, name)
			if !bytes.Contains(b, []byte(tt.from)) {
				t.Fatalf("%s does not contain %q", tt.file, tt.from)
			}
			if err := os.WriteFile(name, bytes.Replace(b, []byte(tt.from), []byte(tt.to), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenRun(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestDivergence checks that a NaN or infinite loss fails the run loudly, naming
// where, and keeps the last good checkpoint.
func TestDivergence(t *testing.T) {
	opts := tinyOptions(t, 1)
	opts.RecipeSets = append(opts.RecipeSets, "optimizer.lr=1e30")
	r, err := Train(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "loss of exit") || !strings.Contains(err.Error(), "epoch 1, batch") {
		t.Fatalf("got error %v, want a non-finite loss naming epoch, batch and exit", err)
	}
	if r.Info.Status != StatusFailed || !strings.Contains(r.Info.Reason, "loss of exit") {
		t.Errorf("run.json: status %q, reason %q", r.Info.Status, r.Info.Reason)
	}
	var info RunInfo
	if err := json.Unmarshal(readFile(t, filepath.Join(opts.Out, RunFile)), &info); err != nil || info.Status != StatusFailed {
		t.Errorf("run.json on disk: status %q (%v)", info.Status, err)
	}
}

func TestKeepMetrics(t *testing.T) {
	lines := `{"epoch":1,"lr":0.1}` + "\n" + `{"epoch":2,"lr":0.1}` + "\n" + `{"epoch":3,"lr":0.1}` + "\n"
	tests := []struct {
		name, content string
		keep          int
		want          string
	}{
		{"none dropped", lines, 3, lines},
		{"drop after 1", lines, 1, `{"epoch":1,"lr":0.1}` + "\n"},
		{"drop all", lines, 0, ""},
		{"torn last line", lines + `{"epo`, 3, lines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), MetricsFile)
			if err := os.WriteFile(name, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := keepMetrics(name, tt.keep); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(readFile(t, name))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	name := filepath.Join(t.TempDir(), MetricsFile)
	if err := os.WriteFile(name, []byte("{\"epoch\":1}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := keepMetrics(name, 0); err == nil || !strings.Contains(err.Error(), MetricsFile+":2") {
		t.Errorf("malformed line: error %v, want one naming %s:2", err, MetricsFile)
	}
}

func TestTopK(t *testing.T) {
	// Three samples, six classes, feature-major.
	logits := []float32{
		0, 5, 1, // class 0
		1, 4, 1, // class 1
		2, 3, 1, // class 2
		3, 2, 1, // class 3
		4, 1, 1, // class 4
		5, 0, 1, // class 5
	}
	tests := []struct {
		labels     []int32
		top1, top5 int64
	}{
		{[]int32{5, 0, 0}, 3, 3}, // the maxima; ties go to the lowest class
		{[]int32{0, 5, 5}, 0, 0}, // the minima: rank 5, 5 and (tie) 5
		{[]int32{1, 4, 4}, 0, 3}, // ranks 4, 4 and 4
		{[]int32{4, 1, 1}, 0, 3}, // ranks 1, 1 and 1
	}
	for _, tt := range tests {
		top1, top5 := topk(logits, 6, tt.labels)
		if top1 != tt.top1 || top5 != tt.top5 {
			t.Errorf("labels %v: top-1 %d, top-5 %d; want %d, %d", tt.labels, top1, top5, tt.top1, tt.top5)
		}
	}
}

// snapshot returns the files under dir and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	for rel, content := range snapshot(t, from) {
		name := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// interruptedRun trains a tiny run with one thread and stops it in epoch 1 after batch 5.
func interruptedRun(t *testing.T) string {
	t.Helper()
	opts := tinyOptions(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts.Progress = &cancelAt{epoch: 1, batch: 5, cancel: cancel}
	if _, err := Train(ctx, opts); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Train: got error %v, want ErrInterrupted", err)
	}
	return opts.Out
}

func readInfo(t *testing.T, dir string) RunInfo {
	t.Helper()
	var info RunInfo
	if err := jsonfile.Read(filepath.Join(dir, RunFile), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestProvenance checks the sessions run.json records, and that resuming on another
// kernel path is refused unless forced.
func TestProvenance(t *testing.T) {
	dir := interruptedRun(t)
	info := readInfo(t, dir)
	if len(info.Sessions) != 1 {
		t.Fatalf("run.json records %d sessions, want 1", len(info.Sessions))
	}
	s := info.Sessions[0]
	if s.Started.IsZero() || s.CPU != sysinfo.CPUModel() {
		t.Errorf("session %+v: no start time, or CPU not %q", s, sysinfo.CPUModel())
	}
	s.Started, s.CPU = time.Time{}, ""
	want := Provenance{Version: "test", Go: runtime.Version(), Kernels: kernels.Path(), Threads: 1}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}

	other := "generic"
	if kernels.Path() == "generic" {
		other = "avx2"
	}
	info.Sessions[0].Kernels = other
	if err := jsonfile.Write(filepath.Join(dir, RunFile), info); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, filepath.Join(dir, RunFile))
	_, err := Resume(context.Background(), dir, "test2", Session{})
	wantErr := fmt.Sprintf("run %s last ran on the %s kernels and this msdx uses %s: the result would not be bit-identical to an uninterrupted run; resume with --force to continue anyway", dir, other, kernels.Path())
	if err == nil || !strings.HasPrefix(err.Error(), wantErr) {
		t.Fatalf("Resume on another kernel path: %v, want %q", err, wantErr)
	}
	if !bytes.Equal(before, readFile(t, filepath.Join(dir, RunFile))) {
		t.Error("a refused Resume changed run.json")
	}

	var notes []string
	if _, err := Resume(context.Background(), dir, "test2", Session{ForceKernels: true, Log: func(s string) { notes = append(notes, s) }}); err != nil {
		t.Fatalf("forced Resume: %v", err)
	}
	wantNote := fmt.Sprintf("resuming run %s on the %s kernels, it last ran on %s: the result will not be bit-identical to an uninterrupted run", dir, kernels.Path(), other)
	if !slices.Contains(notes, wantNote) {
		t.Errorf("notes %q, want %q", notes, wantNote)
	}
	info = readInfo(t, dir)
	if len(info.Sessions) != 2 || info.Sessions[1].Version != "test2" || info.Sessions[1].Kernels != kernels.Path() {
		t.Errorf("sessions after the forced resume: %+v", info.Sessions)
	}
}

// TestResumeWithoutSessions resumes a run whose run.json was written before msdx
// recorded sessions: it resumes, bit-exact, and records its session.
func TestResumeWithoutSessions(t *testing.T) {
	ref := finishedRun(t)
	dir := interruptedRun(t)
	name := filepath.Join(dir, RunFile)
	var doc map[string]any
	if err := json.Unmarshal(readFile(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "sessions")
	if err := jsonfile.Write(name, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRun(dir); err != nil {
		t.Fatalf("OpenRun of a run without sessions: %v", err)
	}
	if _, err := Resume(context.Background(), dir, "test", Session{}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	sameRunResults(t, ref, dir)
	if info := readInfo(t, dir); len(info.Sessions) != 1 {
		t.Errorf("sessions after resuming: %+v, want the resume's", info.Sessions)
	}
}

// TestValidationNote: on a dataset too small for the recipe's validation split, a tenth is
// held out, and the note says what is held out, why, and how to choose another size.
func TestValidationNote(t *testing.T) {
	opts := tinyOptions(t, 1)
	opts.RecipeSets = []string{"epochs=1", "batch_size=16", "schedule.warmup_epochs=0"}
	var notes []string
	opts.Log = func(s string) { notes = append(notes, s) }
	r, err := Train(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"validation: holding out 40 of the 400 training images (a tenth: the recipe's 5000 is for larger datasets) to pick the best checkpoint and fit budgeted thresholds; fewer with --recipe-set validation.size=N"}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if r.DataInfo.ValSize != 40 {
		t.Errorf("validation size %d, want 40", r.DataInfo.ValSize)
	}

	// A size that fits is held out without a note.
	opts = tinyOptions(t, 1)
	opts.RecipeSets = []string{"epochs=1", "batch_size=16", "schedule.warmup_epochs=0", "validation.size=20"}
	notes = nil
	opts.Log = func(s string) { notes = append(notes, s) }
	if r, err = Train(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 || r.DataInfo.ValSize != 20 {
		t.Errorf("validation.size=20: notes %q, size %d", notes, r.DataInfo.ValSize)
	}
}
