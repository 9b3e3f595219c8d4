package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/internal/dirlock"
	"github.com/msdx/msdx/internal/jsonfile"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/optim"
	"github.com/msdx/msdx/recipe"
	"github.com/msdx/msdx/spec"
)

// ErrInterrupted is returned (wrapped) by Train and Resume when their context was
// cancelled: the run stopped after a batch, wrote a resumable checkpoint and recorded
// the status "interrupted".
var ErrInterrupted = errors.New("interrupted")

// DefaultCheckpointInterval is how old the latest checkpoint may get, in wall time,
// before training writes a new one mid-epoch, when Options.CheckpointEvery is 0.
const DefaultCheckpointInterval = 2 * time.Minute

// Options configure a new training run.
type Options struct {
	// Spec is a spec file or preset name, with --set overrides SpecSets.
	Spec     string
	SpecSets []string
	// Data is the dataset reference, KIND:PATH (see data.Open); OpenOptions open it, with
	// the spec's input as their Fit.
	Data        string
	OpenOptions data.OpenOptions
	// CropRatio is the fraction of a resized image that evaluation keeps (data.Fit); 0 means
	// data.DefaultCropRatio. SkipBadImages skips the images of an image folder that do not
	// decode. data.json records both, and evaluation reopens the data with them.
	CropRatio     float64
	SkipBadImages bool
	// Recipe is a recipe file or preset name, with overrides RecipeSets ("path=value",
	// as recipe.Resolve takes them).
	Recipe     string
	RecipeSets []string
	// Epochs, when positive, overrides the recipe's epochs after RecipeSets, as
	// recipe.Overrides.Epochs does: a warm-up of a built-in recipe that no longer fits is
	// shortened, with a note to Log.
	Epochs int
	// Out is the run directory. It must not exist or be empty.
	Out string
	// Version is the msdx version recorded in run.json.
	Version string
	Session
}

// Session are the settings of one training session, which a resumed run may change
// without changing its results (except Threads, see below).
type Session struct {
	// Threads is the number of threads; 0 means GOMAXPROCS. A resumed run keeps the
	// recorded count unless Threads is set. Results do not depend on it (package nn).
	Threads int
	// CheckpointEvery writes a checkpoint every that many batches; 0 writes one when
	// the last is DefaultCheckpointInterval old.
	CheckpointEvery int
	// Progress, when not nil, is told how training goes.
	Progress Progress
	// Log, when not nil, receives notes (such as a changed validation size) one line at a time.
	Log func(string)
	// ForceKernels lets Resume continue a run whose last session used another kernel
	// path (avx512, avx2, generic), which it otherwise refuses: sums round differently on
	// each path, so the result will not be bit-identical to an uninterrupted run.
	ForceKernels bool
}

// Names under which Train and Resume lock a run directory (see dirlock.Holder.What).
const (
	LockTrain  = "msdx train"
	LockResume = "msdx train --resume"
)

// Train creates the run directory opts.Out and trains the network it describes, holding
// the directory's lock (dirlock) throughout: while another process holds it, Train fails
// at once with a *dirlock.HeldError. Cancelling ctx stops training after the current batch with a resumable checkpoint
// and an error wrapping ErrInterrupted. On failure (NaN loss, I/O error) the run's
// status is "failed" and its last checkpoint is kept.
func Train(ctx context.Context, opts Options) (*Run, error) {
	s, err := spec.Resolve(opts.Spec, opts.SpecSets)
	if err != nil {
		return nil, err
	}
	rc, err := recipe.ResolveOverrides(opts.Recipe, recipe.Overrides{
		Sets: opts.RecipeSets, Flag: "--recipe-set", Epochs: opts.Epochs,
		Note: func(s string) { logf(opts.Log, "recipe %s: %s", opts.Recipe, s) },
	})
	if err != nil {
		return nil, err
	}
	if err := checkNewRunDir(opts.Out); err != nil {
		if _, serr := os.Stat(filepath.Join(opts.Out, RunFile)); serr == nil {
			// A run that is training says so, and by whom, rather than offering --resume.
			l, lerr := dirlock.Acquire(opts.Out, LockTrain)
			if lerr != nil {
				return nil, lerr
			}
			l.Release()
		}
		return nil, err
	}
	// Building the network first rejects specs that cannot run before any file is written.
	net, err := newNetwork(s, rc.Seed)
	if err != nil {
		return nil, err
	}
	if _, err := rc.Loss.Weights(net.NumExits()); err != nil {
		return nil, fmt.Errorf("recipe %s: loss.exit_weights: %v", opts.Recipe, err)
	}
	oo := opts.OpenOptions
	oo.Fit = &data.Fit{CropRatio: opts.CropRatio}
	oo.SkipBadImages = opts.SkipBadImages
	ds, _, di, err := openRunData(opts.Data, oo, s, rc, opts.Log, rc.Augmentation.Normalize,
		"to pick the best checkpoint and fit budgeted thresholds; fewer with --recipe-set validation.size=N")
	if err != nil {
		return nil, err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	now := time.Now().UTC().Truncate(time.Second)
	r := &Run{Dir: opts.Out, Spec: s, Recipe: rc, DataInfo: di, Info: RunInfo{
		Format: RunFormat, Version: opts.Version,
		SpecName: s.Name, SpecHash: s.Hash(), Recipe: opts.Recipe,
		Data: ds.Ref, Fingerprint: ds.Fingerprint, Seed: rc.Seed, Threads: threads,
		Created: now, Updated: now, Status: StatusRunning, Epochs: rc.Epochs,
		Sessions: []Provenance{newProvenance(opts.Version, threads)},
	}}
	r.dataOnce.Do(func() { r.dataset = ds })
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(opts.Out, LockTrain)
	if err != nil {
		return nil, err
	}
	defer lock.Release() // closing the file drops the lock even if emptying it fails
	// Another process may have started a run in opts.Out since the check above.
	if err := checkNewRunDir(opts.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.Path("checkpoints"), 0o755); err != nil {
		return nil, err
	}
	if err := r.writeSetup(); err != nil {
		return nil, err
	}
	if err := r.writeInfo(); err != nil {
		return nil, err
	}
	sess := opts.Session
	sess.Threads = threads
	return r, r.train(ctx, sess)
}

// Resume continues the run in dir from its latest checkpoint (from the start when it
// has none), holding the directory's lock as Train does. A finished run is an error.
func Resume(ctx context.Context, dir, version string, sess Session) (*Run, error) {
	// Open the run before locking, so that no lock file is written into a directory
	// that holds no run, and again after, to read what a previous holder left.
	if _, err := OpenRun(dir); err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(dir, LockResume)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	r, err := OpenRun(dir)
	if err != nil {
		return nil, err
	}
	if r.Info.Status == StatusFinished {
		return r, fmt.Errorf("run %s has already finished", dir)
	}
	if err := r.checkKernels(sess); err != nil {
		return r, err
	}
	if sess.Threads <= 0 {
		sess.Threads = r.Info.Threads
	}
	if _, err := r.Dataset(); err != nil {
		return r, err
	}
	r.Info.ResumedBy = append(r.Info.ResumedBy, version)
	r.Info.Sessions = append(r.Info.Sessions, newProvenance(version, sess.Threads))
	r.Info.Status, r.Info.Reason = StatusRunning, ""
	if err := r.writeInfo(); err != nil {
		return r, err
	}
	return r, r.train(ctx, sess)
}

// dataNote says in one line how the data were changed to fit the network and how training
// augments them, or "" when nothing was changed.
func dataNote(p *data.Preprocessing, rc *recipe.Recipe) string {
	note := p.Summary()
	if _, _, ok := rc.Augmentation.ResizedCrop(); ok {
		from := "of the images"
		if p.Method == "resize" {
			from = "of the resized (uncropped) images"
		}
		crop := fmt.Sprintf("training takes random-resized crops %s to %dx%d (recipe's augmentation.resized_crop_*)", from, p.Input[1], p.Input[2])
		if note == "" {
			return crop
		}
		return note + "; " + crop
	}
	return note
}

// checkKernels refuses to resume r on a kernel path other than that of its last session,
// unless sess.ForceKernels, and then says what that means. Runs written before msdx
// recorded sessions are resumed without a check.
func (r *Run) checkKernels(sess Session) error {
	if len(r.Info.Sessions) == 0 {
		return nil
	}
	was, now := r.Info.Sessions[len(r.Info.Sessions)-1].Kernels, kernels.Path()
	if was == now {
		return nil
	}
	if sess.ForceKernels {
		logf(sess.Log, "resuming run %s on the %s kernels, it last ran on %s: the result will not be bit-identical to an uninterrupted run", r.Dir, now, was)
		return nil
	}
	hint := ""
	if kernelRank(was) < kernelRank(now) {
		hint = fmt.Sprintf(", or run with MSDX_KERNELS=%s to use its path", was)
	}
	return fmt.Errorf("run %s last ran on the %s kernels and this msdx uses %s: the result would not be bit-identical to an uninterrupted run; resume with --force to continue anyway%s",
		r.Dir, was, now, hint)
}

// kernelRank orders the kernel paths; MSDX_KERNELS can force a lower path than the best.
func kernelRank(path string) int {
	switch path {
	case "generic":
		return 0
	case "avx2":
		return 1
	}
	return 2
}

// checkNewRunDir accepts a directory that does not exist or is empty but for a lock file.
func checkNewRunDir(dir string) error {
	if dir == "" {
		return errors.New("no run directory given")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 || len(entries) == 1 && entries[0].Name() == dirlock.FileName {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, RunFile)); err == nil {
		return fmt.Errorf("%s already holds a run: continue it with --resume, or choose another directory", dir)
	}
	return fmt.Errorf("%s is not empty and not an msdx run directory: refusing to write into it", dir)
}

func (r *Run) writeInfo() error {
	r.Info.Updated = time.Now().UTC().Truncate(time.Second)
	return jsonfile.Write(r.Path(RunFile), r.Info)
}

// setStatus records a final status, keeping err, the error being returned, as it is.
func (r *Run) setStatus(status string, err error) error {
	r.Info.Status = status
	r.Info.Reason = ""
	if err != nil {
		r.Info.Reason = err.Error()
	}
	if werr := r.writeInfo(); werr != nil && err == nil {
		return werr
	}
	return err
}

func logf(log func(string), format string, args ...any) {
	if log != nil {
		log(fmt.Sprintf(format, args...))
	}
}

// trainer holds the state of one training session.
type trainer struct {
	r       *Run
	sess    Session
	net     *nn.Network
	opt     *optim.SGD
	sched   optim.Schedule
	weights []float64 // per-exit loss weights
	classes int
	train   *data.Loader
	val     *data.Loader // nil without a validation split
	pos     position

	dlogits []float32 // per-exit gradient storage, exits × classes × batch
	labels  []int
	soft    []float32
}

// train runs the session and records how it ended.
func (r *Run) train(ctx context.Context, sess Session) error {
	err := r.trainEpochs(ctx, sess)
	switch {
	case err == nil:
		return r.setStatus(StatusFinished, nil)
	case errors.Is(err, ErrInterrupted):
		return r.setStatus(StatusInterrupted, err)
	default:
		return r.setStatus(StatusFailed, err)
	}
}

func (r *Run) trainEpochs(ctx context.Context, sess Session) error {
	kernels.SetThreads(sess.Threads)
	t, err := r.newTrainer(sess)
	if err != nil {
		return err
	}
	if err := keepMetrics(r.Path(MetricsFile), t.pos.Epoch); err != nil {
		return err
	}
	epochs := r.Recipe.Epochs
	lastSave := time.Now()
	for t.pos.Epoch < epochs {
		start := time.Now()
		secondsBefore := t.pos.Seconds
		stream := t.train.Stream(t.pos.Epoch, t.pos.Batch)
		t.net.SetTrain(true)
		var lr float64
		for {
			b, ok := stream.Next()
			if !ok {
				break
			}
			lr = t.sched.LR(t.pos.Epoch, b.Index, t.train.Batches())
			if err := t.step(b, lr); err != nil {
				stream.Close()
				return err
			}
			stream.Release(b)
			t.pos.Batch = b.Index + 1
			t.pos.Seconds = secondsBefore + time.Since(start).Seconds()
			if sess.Progress != nil {
				sess.Progress.Batch(BatchProgress{Epoch: t.pos.Epoch + 1, Epochs: epochs,
					Batch: t.pos.Batch, Batches: t.train.Batches(), Exits: t.pos.Sums.metrics(), LR: lr})
			}
			// After an epoch's last batch, the epoch's end (validation, checkpoint) comes
			// first, interrupted or not.
			if t.pos.Batch == t.train.Batches() {
				continue
			}
			interrupted := ctx.Err() != nil
			due := sess.CheckpointEvery > 0 && t.pos.Batch%sess.CheckpointEvery == 0 ||
				sess.CheckpointEvery <= 0 && time.Since(lastSave) >= DefaultCheckpointInterval
			if interrupted || due {
				if err := saveCheckpoint(r.Path(LatestFile), t.net, t.opt, t.pos); err != nil {
					stream.Close()
					return err
				}
				lastSave = time.Now()
			}
			if interrupted {
				stream.Close()
				return fmt.Errorf("%w in epoch %d after batch %d of %d: resume with msdx train --resume %s",
					ErrInterrupted, t.pos.Epoch+1, t.pos.Batch, t.train.Batches(), r.Dir)
			}
		}
		stream.Close()
		if lr == 0 && t.train.Batches() > 0 {
			lr = t.sched.LR(t.pos.Epoch, t.train.Batches()-1, t.train.Batches())
		}
		m := EpochMetrics{Epoch: t.pos.Epoch + 1, LR: lr, Train: t.pos.Sums.metrics()}
		if t.val != nil {
			if m.Val, err = evaluate(t.net, t.val, t.classes); err != nil {
				return fmt.Errorf("epoch %d validation: %v", m.Epoch, err)
			}
		}
		m.WallSeconds = secondsBefore + time.Since(start).Seconds()
		if m.WallSeconds > 0 {
			m.ImagesPerSec = float64(t.pos.Sums.Images) / m.WallSeconds
		}
		if err := appendMetrics(r.Path(MetricsFile), m); err != nil {
			return err
		}
		if t.val != nil {
			if top1 := m.Val[len(m.Val)-1].Top1; t.pos.BestEpoch == 0 || top1 > t.pos.BestTop1 {
				t.pos.BestTop1, t.pos.BestEpoch = top1, m.Epoch
				meta := map[string]string{"epoch": strconv.Itoa(m.Epoch), "val_top1": strconv.FormatFloat(top1, 'g', -1, 64)}
				if err := t.net.Save(r.Path(BestFile), meta); err != nil {
					return err
				}
			}
		}
		t.pos.Epoch++
		t.pos.Batch = 0
		t.pos.Seconds = 0
		t.pos.Sums = newSums(t.net.NumExits())
		if err := saveCheckpoint(r.Path(LatestFile), t.net, t.opt, t.pos); err != nil {
			return err
		}
		lastSave = time.Now()
		r.Info.EpochsDone = t.pos.Epoch
		if err := r.writeInfo(); err != nil {
			return err
		}
		if sess.Progress != nil {
			sess.Progress.Epoch(m)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w after epoch %d: resume with msdx train --resume %s", ErrInterrupted, m.Epoch, r.Dir)
		}
	}
	return t.finish()
}

// newTrainer builds the network, optimizer and loaders, and restores the latest
// checkpoint if there is one.
func (r *Run) newTrainer(sess Session) (*trainer, error) {
	ds, err := r.Dataset()
	if err != nil {
		return nil, err
	}
	net, err := newNetwork(r.Spec, r.Info.Seed)
	if err != nil {
		return nil, err
	}
	rc := r.Recipe
	params := make([]optim.Param, 0, len(net.Params()))
	for _, p := range net.Params() {
		params = append(params, optim.Param{Name: p.Name, Value: p.Data, Grad: p.Grad, Decay: true})
	}
	t := &trainer{r: r, sess: sess, net: net, opt: optim.NewSGD(params, rc.SGDConfig()), sched: rc.LRSchedule(),
		classes: ds.NumClasses()}
	if t.weights, err = rc.Loss.Weights(net.NumExits()); err != nil {
		return nil, fmt.Errorf("%s: %v", r.Path(RecipeFile), err)
	}
	a := rc.Augmentation
	aug := data.Augment{CropPadding: a.CropPadding, Flip: a.HFlip, MixupAlpha: a.MixupAlpha,
		CutmixAlpha: a.CutMixAlpha, CutmixProb: a.CutMixProb}
	if scale, ratio, ok := a.ResizedCrop(); ok {
		aug.ResizedCrop = &data.ResizedCrop{Scale: scale, Ratio: ratio}
	}
	t.train, err = data.NewLoader(&ds.Train, r.DataInfo.trainIndices(ds.Train.Len()), t.classes, data.LoaderConfig{
		BatchSize: rc.BatchSize, Shuffle: true, Seed: uint64(r.Info.Seed), Stats: r.DataInfo.Stats, Augment: aug,
	})
	if err != nil {
		return nil, err
	}
	if r.DataInfo.ValSize > 0 {
		if t.val, err = r.EvalLoader("val", evalBatch(rc.BatchSize)); err != nil {
			return nil, err
		}
	}
	t.pos = position{Sums: newSums(net.NumExits()), SpecHash: r.Info.SpecHash}
	if _, err := os.Stat(r.Path(LatestFile)); err == nil {
		if t.pos, err = loadCheckpoint(r.Path(LatestFile), net, t.opt); err != nil {
			return nil, err
		}
		if t.pos.SpecHash != r.Info.SpecHash {
			return nil, fmt.Errorf("%s: checkpoint of spec %s, the run's is %s", r.Path(LatestFile), t.pos.SpecHash, r.Info.SpecHash)
		}
		if len(t.pos.Sums.Loss) != net.NumExits() {
			return nil, fmt.Errorf("%s: metrics for %d exits, the network has %d", r.Path(LatestFile), len(t.pos.Sums.Loss), net.NumExits())
		}
		if t.pos.Batch > t.train.Batches() {
			return nil, fmt.Errorf("%s: position batch %d of an epoch of %d", r.Path(LatestFile), t.pos.Batch, t.train.Batches())
		}
	}
	exits := net.NumExits()
	t.dlogits = make([]float32, exits*t.classes*rc.BatchSize)
	t.labels = make([]int, rc.BatchSize)
	t.soft = make([]float32, t.classes*rc.BatchSize)
	return t, nil
}

// evalBatch is the batch size of evaluation passes: larger batches than training's
// amortise per-call overhead, and eval mode's memory need is lower.
func evalBatch(trainBatch int) int { return max(trainBatch, 256) }

// step trains on one batch with learning rate lr.
func (t *trainer) step(b *data.Batch, lr float64) error {
	x := &kernels.Tensor{C: b.C, N: b.N, H: b.H, W: b.W, Data: b.Data}
	logits := t.net.Forward(x, 0)
	n, classes := b.N, t.classes
	var labels []int
	var soft []float32
	if b.Mix == "" {
		labels = t.labels[:n]
		for i, l := range b.Labels {
			labels[i] = int(l)
		}
	} else {
		// The batch holds N×classes targets; the loss takes them feature-major.
		soft = t.soft[:classes*n]
		for i := 0; i < n; i++ {
			for c := 0; c < classes; c++ {
				soft[c*n+i] = b.Soft[i*classes+c]
			}
		}
	}
	smoothing := float32(t.r.Recipe.Loss.LabelSmoothing)
	grads := make([]*kernels.Tensor, len(logits))
	for k, lg := range logits {
		g := &kernels.Tensor{C: classes, N: n, H: 1, W: 1, Data: t.dlogits[k*classes*n : (k+1)*classes*n]}
		loss := kernels.SoftmaxCrossEntropy(g.Data, lg.Data, classes, n, labels, soft, smoothing)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("loss of exit %d is %v in epoch %d, batch %d: training diverged (lower optimizer.lr?); "+
				"the last good checkpoint is kept", k+1, loss, b.Epoch+1, b.Index+1)
		}
		if w := float32(t.weights[k]); w != 1 {
			for i := range g.Data {
				g.Data[i] *= w
			}
		}
		t.pos.Sums.add(k, loss, lg.Data, classes, b.Labels)
		grads[k] = g
	}
	t.pos.Sums.Images += int64(n)
	t.net.ZeroGrad()
	t.net.Backward(grads)
	t.opt.Step(lr)
	return nil
}

// evaluate returns the per-exit metrics of net, in eval mode, over every batch of l.
func evaluate(net *nn.Network, l *data.Loader, classes int) ([]ExitMetrics, error) {
	wasTraining := net.Training()
	net.SetTrain(false)
	defer net.SetTrain(wasTraining)
	s := newSums(net.NumExits())
	stream := l.Stream(0, 0)
	defer stream.Close()
	var grad []float32
	labels := []int{}
	for {
		b, ok := stream.Next()
		if !ok {
			break
		}
		x := &kernels.Tensor{C: b.C, N: b.N, H: b.H, W: b.W, Data: b.Data}
		logits := net.Forward(x, 0)
		labels = labels[:0]
		for _, y := range b.Labels {
			labels = append(labels, int(y))
		}
		if len(grad) < classes*b.N {
			grad = make([]float32, classes*b.N)
		}
		for k, lg := range logits {
			loss := kernels.SoftmaxCrossEntropy(grad[:classes*b.N], lg.Data, classes, b.N, labels, nil, 0)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("loss of exit %d is %v", k+1, loss)
			}
			s.add(k, loss, lg.Data, classes, b.Labels)
		}
		s.Images += int64(b.N)
		stream.Release(b)
	}
	return s.metrics(), nil
}

// finish writes the final weights and the test metrics of the final and best weights.
func (t *trainer) finish() error {
	r := t.r
	meta := map[string]string{"epoch": strconv.Itoa(r.Recipe.Epochs)}
	if err := t.net.Save(r.Path(FinalFile), meta); err != nil {
		return err
	}
	ds, err := r.Dataset()
	if err != nil {
		return err
	}
	if ds.Test.Len() == 0 {
		return nil
	}
	test, err := r.EvalLoader("test", evalBatch(r.Recipe.BatchSize))
	if err != nil {
		return err
	}
	res := TestResult{Images: ds.Test.Len()}
	if res.Final, err = evaluate(t.net, test, t.classes); err != nil {
		return fmt.Errorf("test of the final weights: %v", err)
	}
	if t.pos.BestEpoch > 0 {
		best, err := r.Network("best")
		if err != nil {
			return err
		}
		if res.Best, err = evaluate(best, test, t.classes); err != nil {
			return fmt.Errorf("test of the best weights: %v", err)
		}
		res.BestEpoch = t.pos.BestEpoch
	}
	if err := jsonfile.Write(r.Path(TestFile), res); err != nil {
		return err
	}
	if t.sess.Progress != nil {
		t.sess.Progress.Test(res)
	}
	return nil
}

// writeSetup writes a new run's spec, recipe and data description, the files that say
// what the run computes.
func (r *Run) writeSetup() error {
	if err := atomicfile.WriteFile(r.Path(SpecFile), r.Spec.Canonical(), 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(r.Path(RecipeFile), r.Recipe.Canonical(), 0o644); err != nil {
		return err
	}
	return jsonfile.Write(r.Path(DataFile), r.DataInfo)
}
