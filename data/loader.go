package data

import (
	"fmt"
	"sync"
)

// LoaderConfig configures a [Loader]. Workers and Prefetch only change speed, never the batches.
type LoaderConfig struct {
	// BatchSize is the number of images per batch.
	BatchSize int `json:"batch_size" toml:"batch_size"`
	// Shuffle draws a new permutation of the images every epoch, seeded by (Seed, epoch).
	Shuffle bool `json:"shuffle" toml:"shuffle"`
	// DropLast drops the last, smaller batch of an epoch.
	DropLast bool `json:"drop_last" toml:"drop_last"`
	// Seed seeds the permutations and augmentations.
	Seed uint64 `json:"seed" toml:"seed"`
	// Augment selects the augmentations; the zero value is right for evaluation.
	Augment Augment `json:"augment" toml:"augment"`
	// Stats, when not nil, normalises channel c to (v/255 - Mean[c]) / Std[c]; when nil pixels
	// are scaled to [0, 1].
	Stats *Stats `json:"stats,omitempty" toml:"stats,omitempty"`
	// Workers is the number of goroutines a [Stream] prepares batches on; 0 means 1.
	Workers int `json:"-" toml:"-"`
	// Prefetch bounds how many batches a [Stream] prepares ahead of the consumer; 0 means
	// 2×Workers+1.
	Prefetch int `json:"-" toml:"-"`
}

// Batch is a batch of images in the CNHW layout of msdx's kernels: the value of channel c, image
// n, row h, column w is Data[((c*N+n)*H+h)*W+w].
type Batch struct {
	// Epoch and Index locate the batch: it is batch Index of epoch Epoch.
	Epoch, Index int
	N, C, H, W   int
	Data         []float32
	// Labels are the class indices of the images (under mixing, of the image that keeps
	// weight Lambda).
	Labels []int32
	// Soft holds the N×Classes target distributions, Soft[n*Classes+k]: one-hot unless the
	// batch is mixed. Label smoothing is left to the loss (see [SmoothTargets]).
	Soft    []float32
	Classes int
	// Indices are the images' indices in the loader's split.
	Indices []int
	// Mix is "", "mixup" or "cutmix"; Lambda is the weight of the images' own labels, and
	// Partners[n] is the position in the batch of the image mixed into image n (nil when the
	// batch is not mixed).
	Mix      string
	Lambda   float64
	Partners []int

	scratch []float32
	crop    []uint8 // a random-resized crop
	rs      resizer
}

// Loader turns a split into batches. Batch b of epoch e, including every random choice in it, is
// a pure function of the configuration and (Seed, e, b): resuming at any batch reproduces it bit
// for bit, whatever the number of workers. A Loader is safe for concurrent use.
type Loader struct {
	split   *Split
	indices []int
	classes int
	cfg     LoaderConfig
	lut     [][256]float32

	mu        sync.Mutex
	permEpoch int
	perm      []int
}

// NewLoader returns a loader over the images of s at the given indices (all of s when indices
// is nil), whose labels are below classes.
func NewLoader(s *Split, indices []int, classes int, cfg LoaderConfig) (*Loader, error) {
	s.check()
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("data: batch size %d must be positive", cfg.BatchSize)
	}
	if err := cfg.Augment.Validate(); err != nil {
		return nil, err
	}
	if classes <= 0 {
		return nil, fmt.Errorf("data: %d classes", classes)
	}
	if indices == nil {
		indices = make([]int, s.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	for _, i := range indices {
		if i < 0 || i >= s.Len() {
			return nil, fmt.Errorf("data: image index %d out of range [0, %d)", i, s.Len())
		}
		if l := s.Labels[i]; l < 0 || int(l) >= classes {
			return nil, fmt.Errorf("data: image %d has label %d, out of range [0, %d)", i, l, classes)
		}
	}
	l := &Loader{split: s, indices: indices, classes: classes, cfg: cfg, lut: make([][256]float32, s.C), permEpoch: -1}
	if st := cfg.Stats; st != nil && (len(st.Mean) != s.C || len(st.Std) != s.C) {
		return nil, fmt.Errorf("data: normalisation statistics for %d/%d channels, images have %d", len(st.Mean), len(st.Std), s.C)
	}
	for c := range l.lut {
		for v := range 256 {
			x := float64(v) / 255
			if st := cfg.Stats; st != nil {
				x = (x - st.Mean[c]) / st.Std[c]
			}
			l.lut[c][v] = float32(x)
		}
	}
	if cfg.Workers <= 0 {
		l.cfg.Workers = 1
	}
	if cfg.Prefetch <= 0 {
		l.cfg.Prefetch = 2*l.cfg.Workers + 1
	}
	return l, nil
}

// Config returns the loader's configuration, with defaults filled in.
func (l *Loader) Config() LoaderConfig { return l.cfg }

// Len returns the number of images the loader draws from.
func (l *Loader) Len() int { return len(l.indices) }

// Batches returns the number of batches in an epoch.
func (l *Loader) Batches() int {
	n := len(l.indices) / l.cfg.BatchSize
	if !l.cfg.DropLast && len(l.indices)%l.cfg.BatchSize != 0 {
		n++
	}
	return n
}

// order returns the image order of epoch: a permutation seeded by (Seed, epoch) when
// shuffling. The last one is kept, as consecutive batches share it.
func (l *Loader) order(epoch int) []int {
	if !l.cfg.Shuffle {
		return l.indices
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.permEpoch != epoch {
		p := newRand(l.cfg.Seed, tagPermute, uint64(epoch)).Perm(len(l.indices))
		for j, k := range p {
			p[j] = l.indices[k]
		}
		l.perm, l.permEpoch = p, epoch
	}
	return l.perm
}

// Batch returns batch b of epoch epoch.
func (l *Loader) Batch(epoch, b int) *Batch {
	bt := new(Batch)
	l.Fill(bt, epoch, b)
	return bt
}

// Fill makes dst batch b of epoch epoch, reusing its memory.
func (l *Loader) Fill(dst *Batch, epoch, b int) {
	if b < 0 || b >= l.Batches() || epoch < 0 {
		panic(fmt.Sprintf("data: batch %d of epoch %d out of range [0, %d)", b, epoch, l.Batches()))
	}
	order := l.order(epoch)
	start := b * l.cfg.BatchSize
	idx := order[start:min(start+l.cfg.BatchSize, len(order))]
	s := l.split
	n, C, H, W := len(idx), s.C, s.H, s.W
	*dst = Batch{
		Epoch: epoch, Index: b, N: n, C: C, H: H, W: W, Classes: l.classes,
		Data:    resize(dst.Data, n*C*H*W),
		Labels:  resizeInt32(dst.Labels, n),
		Soft:    resize(dst.Soft, n*l.classes),
		Indices: append(dst.Indices[:0], idx...),
		Lambda:  1,
		scratch: dst.scratch,
		crop:    dst.crop,
		rs:      dst.rs,
	}
	r := newRand(l.cfg.Seed, tagAugment, uint64(epoch), uint64(b))
	aug := l.cfg.Augment
	pad := aug.CropPadding
	for j, i := range idx {
		img := s.Image(i)
		if rc := aug.ResizedCrop; rc != nil {
			src, sh, sw := img, H, W
			if s.Full != nil {
				src, sh, sw = s.Full.Image(i)
			}
			y0, x0, ch, cw := rc.window(r, sh, sw)
			if cap(dst.crop) < C*H*W {
				dst.crop = make([]uint8, C*H*W)
			}
			img = dst.crop[:C*H*W]
			dst.rs.resize(img, H, W, src, C, sh, sw, y0, x0, ch, cw)
		}
		dy, dx := pad, pad // offset of the crop window in the padded image
		if pad > 0 {
			dy, dx = r.IntN(2*pad+1), r.IntN(2*pad+1)
		}
		flip := aug.Flip && r.IntN(2) == 1
		dst.Labels[j] = s.Labels[i]
		for c := range C {
			lut := &l.lut[c]
			zero := lut[0]
			out := dst.Data[(c*n+j)*H*W : (c*n+j+1)*H*W]
			src := img[c*H*W : (c+1)*H*W]
			for y := range H {
				sy := y + dy - pad
				row := out[y*W : (y+1)*W]
				if sy < 0 || sy >= H {
					for x := range row {
						row[x] = zero
					}
					continue
				}
				srow := src[sy*W : (sy+1)*W]
				for x := range row {
					xx := x
					if flip {
						xx = W - 1 - x
					}
					if sx := xx + dx - pad; sx >= 0 && sx < W {
						row[x] = lut[srow[sx]]
					} else {
						row[x] = zero
					}
				}
			}
		}
	}
	clear(dst.Soft)
	for j, lab := range dst.Labels {
		dst.Soft[j*l.classes+int(lab)] = 1
	}
	if !aug.mixes() {
		return
	}
	plan := aug.planMix(r, n, H, W)
	if plan.kind == mixNone {
		return
	}
	dst.Lambda = plan.lambda
	dst.Partners = plan.partner
	dst.scratch = resize(dst.scratch, len(dst.Data))
	copy(dst.scratch, dst.Data)
	x := dst.scratch
	hw := H * W
	switch plan.kind {
	case mixMixup:
		dst.Mix = "mixup"
		lam := float32(plan.lambda)
		for c := range C {
			for j, p := range plan.partner {
				a := dst.Data[(c*n+j)*hw : (c*n+j+1)*hw]
				bb := x[(c*n+p)*hw : (c*n+p+1)*hw]
				for k := range a {
					a[k] = lam*a[k] + (1-lam)*bb[k]
				}
			}
		}
	case mixCutmix:
		dst.Mix = "cutmix"
		for c := range C {
			for j, p := range plan.partner {
				for y := plan.y0; y < plan.y1; y++ {
					off := (c*n+j)*hw + y*W
					poff := (c*n+p)*hw + y*W
					copy(dst.Data[off+plan.x0:off+plan.x1], x[poff+plan.x0:poff+plan.x1])
				}
			}
		}
	}
	lam := float32(plan.lambda)
	for j, p := range plan.partner {
		row := dst.Soft[j*l.classes : (j+1)*l.classes]
		clear(row)
		row[dst.Labels[j]] += lam
		row[dst.Labels[p]] += 1 - lam
	}
}

func resize(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func resizeInt32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

// Stream prepares the batches of one epoch in background goroutines, in order, at most
// Prefetch ahead of the consumer. Its methods must be called from one goroutine.
type Stream struct {
	pending chan chan *Batch
	free    chan *Batch
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  bool
}

// Stream starts preparing batches start, start+1, ... of epoch; start may equal Batches() (an
// empty stream), which is where a run resumes after an epoch's last batch. Call Close when done,
// even after Next has returned false.
func (l *Loader) Stream(epoch, start int) *Stream {
	nb := l.Batches()
	if start < 0 || start > nb || epoch < 0 {
		panic(fmt.Sprintf("data: stream from batch %d of epoch %d out of range [0, %d]", start, epoch, nb))
	}
	s := &Stream{
		pending: make(chan chan *Batch, l.cfg.Prefetch),
		free:    make(chan *Batch, l.cfg.Prefetch+2),
		stop:    make(chan struct{}),
	}
	type job struct {
		b   int
		out chan *Batch
	}
	jobs := make(chan job)
	s.wg.Go(func() {
		defer close(jobs)
		defer close(s.pending)
		for b := start; b < nb; b++ {
			out := make(chan *Batch, 1)
			select {
			case s.pending <- out:
			case <-s.stop:
				return
			}
			select {
			case jobs <- job{b, out}:
			case <-s.stop:
				return
			}
		}
	})
	for range l.cfg.Workers {
		s.wg.Go(func() {
			for j := range jobs {
				var bt *Batch
				select {
				case bt = <-s.free:
				default:
					bt = new(Batch)
				}
				l.Fill(bt, epoch, j.b)
				j.out <- bt
			}
		})
	}
	return s
}

// Next returns the next batch, or false at the end of the epoch or after Close. The batch stays
// valid until it is passed to Release.
func (s *Stream) Next() (*Batch, bool) {
	if s.closed {
		return nil, false
	}
	out, ok := <-s.pending
	if !ok {
		return nil, false
	}
	return <-out, true
}

// Release hands a batch back for reuse; it is optional.
func (s *Stream) Release(b *Batch) {
	select {
	case s.free <- b:
	default:
	}
}

// Close stops the stream and waits for its goroutines. It may be called more than once.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	close(s.stop)
	s.wg.Wait()
}
