package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"image"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// folderPlan is what decoding an image folder will produce: the stored image shape, whether
// images are resized, and the cache key.
type folderPlan struct {
	key     string
	classes []string
	c, h, w int // evaluation images
	resize  bool
	ratio   float64
	uniform bool // every image has the size uh×uw
	uh, uw  int
	good    []int  // indices of the files that scanned well, in order
	counts  [3]int // of good files per split
	sizes   string
	ignored []string
	scanBad []BadImage
}

// plan checks the scan and chooses the stored shape. Without a Fit, images must share one
// size and are kept as they are, as RGB. With one, they are resized unless every image
// already has the input's size.
func (t *folderTree) plan(classes []string, opts OpenOptions) (*folderPlan, error) {
	p := &folderPlan{classes: classes, ignored: t.ignored}
	sizes := map[[2]int]int{}
	for i := range t.files {
		f := &t.files[i]
		if f.bad != nil {
			if !opts.SkipBadImages {
				return nil, f.bad
			}
			p.scanBad = append(p.scanBad, badImage(f.display, f.bad))
			continue
		}
		p.good = append(p.good, i)
		p.counts[f.split]++
		sizes[[2]int{f.h, f.w}]++
	}
	if p.counts[splitTrain] == 0 {
		return nil, formatErr(t.root, -1, nil, "no readable training images")
	}
	p.uniform = len(sizes) == 1
	first := &t.files[p.good[0]]
	p.uh, p.uw = first.h, first.w
	p.sizes = sizeRange(sizes)
	if opts.Fit == nil {
		if !p.uniform {
			for _, i := range p.good {
				if f := &t.files[i]; f.h != p.uh || f.w != p.uw {
					return nil, formatErr(f.display, -1, nil, "image is %dx%d but %s is %dx%d: images of different sizes need a network input to be resized to",
						f.w, f.h, first.display, p.uw, p.uh)
				}
			}
		}
		p.c, p.h, p.w = 3, p.uh, p.uw
	} else {
		fit := opts.Fit
		if err := fit.check(); err != nil {
			return nil, err
		}
		if fit.C != 1 && fit.C != 3 {
			return nil, fmt.Errorf("data: %s: images are read as RGB or grey, not as %d channels", t.root, fit.C)
		}
		p.c, p.h, p.w = fit.C, fit.H, fit.W
		p.ratio = fit.ratio()
		p.resize = !(p.uniform && p.uh == fit.H && p.uw == fit.W)
	}
	h := sha256.New()
	fmt.Fprintf(h, "msdx-imagefolder-cache-v2\nclasses %q\nstored %d %d %d resize %t ratio %g filter %q\n", classes, p.c, p.h, p.w, p.resize, p.ratio, ResizeFilter)
	for _, f := range t.files {
		fmt.Fprintf(h, "%d %q %q %d %x %t\n", f.split, f.class, f.rel, f.size, f.sum, f.bad != nil)
	}
	p.key = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

func badImage(path string, err error) BadImage {
	msg := err.Error()
	var fe *FormatError
	if errors.As(err, &fe) {
		msg = fe.Msg
		if fe.Err != nil {
			msg += ": " + fe.Err.Error()
		}
	}
	return BadImage{Path: path, Reason: msg}
}

// finish completes a dataset opened from the cache with what the plan knows.
func (p *folderPlan) finish(d *Dataset, opts OpenOptions) (*Dataset, error) {
	pre := d.Preprocessing
	if len(pre.Skipped) > 0 && !opts.SkipBadImages {
		// The cache was written by a run that skipped them; this one did not ask to.
		b := pre.Skipped[0]
		return nil, formatErr(b.Path, -1, nil, "%s", b.Reason)
	}
	pre.SourceSizes = p.sizes
	pre.Source = [3]int{3, 0, 0}
	if p.uniform {
		pre.Source = [3]int{3, p.uh, p.uw}
	}
	pre.Input = [3]int{p.c, p.h, p.w}
	pre.Ignored = p.ignored
	pre.Method = "none"
	if p.resize {
		pre.Method, pre.CropRatio, pre.Filter = "resize", p.ratio, ResizeFilter
	}
	return d, nil
}

// decoded is one image as a worker prepared it.
type decoded struct {
	pos    int // in plan.good
	eval   []uint8
	stored []uint8
	rh, rw int
	rgb    []uint8 // the full-resolution RGB pixels, kept only for the v1 fingerprint
	sum    [sha256.Size]byte
	model  string
	err    error
}

// build decodes the plan's images on workers goroutines and writes the cache file name
// atomically. A folder's images are decoded in order with at most a few per worker ahead
// of the writer, so memory stays bounded whatever the folder's size; an archive's images
// come in archive order and wait for their turn, so a large dataset should be a folder.
func (t *folderTree) build(p *folderPlan, name string, workers int) (err error) {
	n := len(p.good)
	evalSize := int64(p.c * p.h * p.w)
	var storedTotal int64
	if p.resize {
		for _, i := range p.good {
			f := &t.files[i]
			rh, rw := evalResizeSize(f.h, f.w, p.h, p.w, p.ratio)
			storedTotal += int64(p.c * rh * rw)
		}
	}
	head := &cacheHeader{Key: p.key, Classes: p.classes, C: p.c, H: p.h, W: p.w, Resized: p.resize, Colour: map[string]int{}}
	head.EvalOffset = int64(len(cacheMagic))
	head.StoredOffset = head.EvalOffset + evalSize*int64(n)
	head.LabelsOffset = head.StoredOffset + storedTotal
	head.SizesOffset = head.LabelsOffset + 4*int64(n)
	end := head.SizesOffset
	if p.resize {
		end += 8 * int64(n)
	}

	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if _, err := tmp.WriteAt([]byte(cacheMagic), 0); err != nil {
		return err
	}

	// The pipeline: jobs in order, bounded by tokens for folders; results reordered by the writer.
	var stop atomic.Bool
	pos := make(map[int]int, n) // file index → position in good
	for k, i := range p.good {
		pos[i] = k
	}
	window := 4 * workers
	tokens := make(chan struct{}, window)
	type job struct {
		k    int
		data []byte
	}
	jobs := make(chan job, workers)
	results := make(chan *decoded, window)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var rs resizer
			for j := range jobs {
				if stop.Load() {
					results <- &decoded{pos: j.k, err: errStopped}
					continue
				}
				results <- t.decodeOne(p, j.k, j.data, &rs)
			}
		})
	}
	var feedErr error
	go func() {
		defer close(jobs)
		if !t.archive {
			for k := range n {
				tokens <- struct{}{}
				jobs <- job{k: k}
			}
			return
		}
		feedErr = archiveMembers(t.root, func(rel string, _ int64, read func() ([]byte, error)) error {
			i, ok := t.indexOf(rel)
			if !ok {
				return nil
			}
			k, ok := pos[i]
			if !ok {
				return nil
			}
			data, err := read()
			if err != nil {
				return &FormatError{Path: t.files[i].display, Record: -1, Msg: "unreadable image", Err: err}
			}
			jobs <- job{k: k, data: data}
			return nil
		})
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	w := &cacheWriter{f: tmp, p: p, t: t, head: head, evalOff: head.EvalOffset, storedOff: head.StoredOffset,
		evalSum: sha256.New(), storedSum: sha256.New(), labels: make([]byte, 0, 4*n), sizes: make([]byte, 0, 8*n)}
	if p.uniform && len(p.scanBad) == 0 {
		w.v1 = sha256.New()
		w.startV1()
	}
	pending := map[int]*decoded{}
	next := 0
	var firstErr error
	for r := range results {
		pending[r.pos] = r
		for pending[next] != nil {
			r := pending[next]
			delete(pending, next)
			next++
			if !t.archive {
				<-tokens
			}
			if firstErr != nil {
				continue
			}
			if r.err != nil && !errors.Is(r.err, errStopped) {
				f := &t.files[p.good[r.pos]]
				if !skipBad(r.err) {
					firstErr = r.err
					stop.Store(true)
					continue
				}
				w.skip(badImage(f.display, r.err))
				continue
			}
			if err := w.write(r); err != nil {
				firstErr = err
				stop.Store(true)
			}
		}
	}
	if firstErr == nil {
		firstErr = feedErr
	}
	if firstErr == nil && next != n {
		firstErr = fmt.Errorf("data: %s: %d of %d images decoded", t.root, next, n)
	}
	if firstErr != nil {
		return firstErr
	}
	if err := w.finish(end); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

var errStopped = errors.New("stopped")

// errSkippable marks an image error that --skip-bad-images may skip (an image that does not
// decode), as opposed to an I/O error.
type errSkippable struct{ error }

func (e errSkippable) Unwrap() error { return e.error }

func skipBad(err error) bool {
	var s errSkippable
	return errors.As(err, &s)
}

func (t *folderTree) indexOf(rel string) (int, bool) {
	if t.index == nil {
		t.index = make(map[string]int, len(t.files))
		for i, f := range t.files {
			t.index[f.rel] = i
		}
	}
	i, ok := t.index[rel]
	return i, ok
}

// decodeOne decodes, converts and resizes the image at position k of the plan.
func (t *folderTree) decodeOne(p *folderPlan, k int, data []byte, rs *resizer) *decoded {
	f := &t.files[p.good[k]]
	out := &decoded{pos: k}
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.display); err != nil {
			out.err = &FormatError{Path: f.display, Record: -1, Msg: "unreadable image", Err: errors.Unwrap(err)}
			return out
		}
	}
	if s := sha256.Sum256(data); s != f.sum {
		out.err = formatErr(f.display, -1, nil, "changed while it was being read")
		return out
	}
	img, err := decodeBytes(data)
	if err != nil {
		out.err = errSkippable{&FormatError{Path: f.display, Record: -1, Msg: "undecodable image", Err: err}}
		return out
	}
	b := img.Bounds()
	ih, iw := b.Dy(), b.Dx()
	if ih != f.h || iw != f.w {
		out.err = errSkippable{formatErr(f.display, -1, nil, "undecodable image: decodes to %dx%d, its header says %dx%d", iw, ih, f.w, f.h)}
		return out
	}
	out.model = colourModel(img)
	out.rgb, out.eval, out.stored, out.rh, out.rw = prepare(img, p.c, p.h, p.w, p.resize, p.ratio, rs)
	out.sum = sha256.Sum256(out.rgb)
	if !p.uniform {
		out.rgb = nil
	}
	return out
}

// prepare converts a decoded image to c channels (RGB or grey) and, when resize, resizes it to
// cover floor(h/ratio)×floor(w/ratio) (evalResizeSize) and centre-crops it to h×w. It returns
// the image's full-resolution RGB pixels, the evaluation image, and the resized image (nil
// without resize) with its size. Image folders and msdx predict prepare images with it.
func prepare(img image.Image, c, h, w int, resize bool, ratio float64, rs *resizer) (rgb, eval, stored []uint8, rh, rw int) {
	b := img.Bounds()
	ih, iw := b.Dy(), b.Dx()
	rgb = make([]uint8, 3*ih*iw)
	toRGB(img, rgb, ih, iw)
	src := rgb
	if c == 1 {
		src = make([]uint8, ih*iw)
		toGrey(src, rgb)
	}
	if !resize {
		return rgb, src, nil, 0, 0
	}
	rh, rw = evalResizeSize(ih, iw, h, w, ratio)
	stored = make([]uint8, c*rh*rw)
	rs.resize(stored, rh, rw, src, c, ih, iw, 0, 0, ih, iw)
	eval = make([]uint8, c*h*w)
	y0, x0 := centreCrop(rh, rw, h, w)
	for ch := range c {
		for y := range h {
			copy(eval[(ch*h+y)*w:(ch*h+y+1)*w], stored[(ch*rh+y0+y)*rw+x0:])
		}
	}
	return rgb, eval, stored, rh, rw
}

// cacheWriter writes decoded images into the cache file in order, and hashes them.
type cacheWriter struct {
	f                  *os.File
	p                  *folderPlan
	t                  *folderTree
	head               *cacheHeader
	evalOff, storedOff int64
	evalSum, storedSum hash.Hash
	labels, sizes      []byte
	sums               [][sha256.Size]byte
	kept               []int // file indices written
	// v1 streams the fingerprint of a folder of one image size (see Fingerprint).
	v1      hash.Hash
	v1Split int
}

func (w *cacheWriter) skip(b BadImage) {
	w.head.Skipped = append(w.head.Skipped, b)
	w.v1 = nil // the fingerprint is then v2, see folderFingerprint
}

func (w *cacheWriter) write(r *decoded) error {
	i := w.p.good[r.pos]
	f := &w.t.files[i]
	if _, err := w.f.WriteAt(r.eval, w.evalOff); err != nil {
		return err
	}
	w.evalOff += int64(len(r.eval))
	w.evalSum.Write(r.eval)
	if w.p.resize {
		if _, err := w.f.WriteAt(r.stored, w.storedOff); err != nil {
			return err
		}
		w.storedOff += int64(len(r.stored))
		w.storedSum.Write(r.stored)
		w.sizes = binary.LittleEndian.AppendUint32(w.sizes, uint32(r.rh))
		w.sizes = binary.LittleEndian.AppendUint32(w.sizes, uint32(r.rw))
	}
	w.labels = binary.LittleEndian.AppendUint32(w.labels, uint32(f.label))
	w.sums = append(w.sums, r.sum)
	w.kept = append(w.kept, i)
	w.head.Counts[f.split]++
	w.head.Colour[r.model]++
	if w.v1 != nil {
		for w.v1Split < f.split {
			w.endV1Split()
		}
		w.v1.Write(r.rgb)
	}
	return nil
}

// v1Splits are the splits a v1 fingerprint covers.
func (w *cacheWriter) v1Splits() int {
	if w.t.hasVal {
		return 3
	}
	return 2
}

func (w *cacheWriter) startV1() {
	io.WriteString(w.v1, fingerprintV1Head(w.p.classes))
	fmt.Fprintf(w.v1, "split %d %d %d %d\n", 3, w.p.uh, w.p.uw, w.p.counts[0])
}

// endV1Split writes the labels of the current split and starts the next.
func (w *cacheWriter) endV1Split() {
	for _, i := range w.p.good {
		if f := &w.t.files[i]; f.split == w.v1Split {
			binary.Write(w.v1, binary.LittleEndian, f.label)
		}
	}
	w.v1Split++
	if w.v1Split < w.v1Splits() {
		fmt.Fprintf(w.v1, "split %d %d %d %d\n", 3, w.p.uh, w.p.uw, w.p.counts[w.v1Split])
	}
}

func (w *cacheWriter) finish(end int64) error {
	h := w.head
	if w.v1 != nil {
		for w.v1Split < w.v1Splits() {
			w.endV1Split()
		}
		h.Fingerprint = "sha256:" + hex.EncodeToString(w.v1.Sum(nil))
	} else {
		h.Fingerprint = w.fingerprintV2()
	}
	h.Skipped = append(append([]BadImage(nil), w.p.scanBad...), h.Skipped...)
	// Skipped images leave their room at the end of each region unused.
	if _, err := w.f.WriteAt(w.labels, h.LabelsOffset); err != nil {
		return err
	}
	if w.p.resize {
		if _, err := w.f.WriteAt(w.sizes, h.SizesOffset); err != nil {
			return err
		}
	}
	h.EvalSHA256 = hex.EncodeToString(w.evalSum.Sum(nil))
	h.StoredSHA256 = hex.EncodeToString(w.storedSum.Sum(nil))
	return writeCacheTrailer(w.f, end, h)
}

// fingerprintV2 identifies an image folder whose images differ in size, or from which
// images were skipped: the SHA-256 of a version line, the class names as a JSON array, then
// for the training, test and (if any) validation split a line "split N" and for each image
// its label, height and width (little-endian int32) and the SHA-256 of its RGB pixels at
// full resolution, in planar order.
func (w *cacheWriter) fingerprintV2() string {
	h := sha256.New()
	io.WriteString(h, "msdx-data-fingerprint-v2\n")
	names, _ := json.Marshal(w.p.classes)
	h.Write(names)
	io.WriteString(h, "\n")
	for s := range w.v1Splits() {
		fmt.Fprintf(h, "split %d\n", w.head.Counts[s])
		for k, i := range w.kept {
			f := &w.t.files[i]
			if f.split != s {
				continue
			}
			binary.Write(h, binary.LittleEndian, [3]int32{f.label, int32(f.h), int32(f.w)})
			h.Write(w.sums[k][:])
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
