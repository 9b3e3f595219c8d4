package data

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder for image folders
	_ "image/png"  // registers the PNG decoder for image folders
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// imageFile is one image of an image folder, read but not yet decoded.
type imageFile struct {
	rel     string // slash-separated path relative to the folder (or archive) root
	display string // the name errors use
	data    []byte
	split   int // 0 train, 1 test
	class   string
	label   int32
}

// folderTree is what was found in an image folder or archive: the image files and every class
// directory, including empty ones.
type folderTree struct {
	root    string
	archive bool
	files   []imageFile
	dirs    map[string]bool // slash-separated directory paths
}

func isImageName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

func hiddenPath(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

func isArchiveName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".tar")
}

func openImageFolder(root string, opts OpenOptions) (*Dataset, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, &FormatError{Path: root, Record: -1, Msg: "cannot open", Err: err}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var tree *folderTree
	switch {
	case fi.IsDir():
		tree, err = readFolder(root, workers)
	case isArchiveName(root):
		tree, err = readArchive(root)
	default:
		return nil, formatErr(root, -1, nil, "an image folder must be a directory or a .tar.gz, .tgz or .tar archive")
	}
	if err != nil {
		return nil, err
	}
	classes, err := tree.assignClasses()
	if err != nil {
		return nil, err
	}
	key := tree.cacheKey(classes)
	cachePath := ""
	if !opts.NoCache {
		dir := opts.CacheDir
		if dir == "" {
			if ucd, err := os.UserCacheDir(); err == nil {
				dir = filepath.Join(ucd, "msdx", "data")
			}
		}
		if dir != "" {
			cachePath = filepath.Join(dir, "imagefolder-"+key[:40]+".bin")
			if d, err := readCache(cachePath, key); err == nil {
				return d, nil
			}
		}
	}
	d, err := tree.decode(classes, workers)
	if err != nil {
		return nil, err
	}
	d.Fingerprint = Fingerprint(d.Classes, &d.Train, &d.Test)
	if cachePath != "" {
		// The cache only saves time: a read-only or full cache directory must not fail the run.
		_ = writeCache(cachePath, key, d)
	}
	return d, nil
}

// readFolder lists the image files and directories under root and reads the files, hashing
// nothing yet, with the given number of goroutines.
func readFolder(root string, workers int) (*folderTree, error) {
	tree := &folderTree{root: root, dirs: map[string]bool{}}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return &FormatError{Path: p, Record: -1, Msg: "cannot read", Err: err}
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if hiddenPath(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			tree.dirs[rel] = true
			return nil
		}
		if isImageName(rel) {
			tree.files = append(tree.files, imageFile{rel: rel, display: p})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(tree.files))
	parallelFor(len(tree.files), workers, func(i int) {
		f := &tree.files[i]
		f.data, errs[i] = os.ReadFile(f.display)
		if errs[i] != nil {
			errs[i] = &FormatError{Path: f.display, Record: -1, Msg: "unreadable image", Err: errs[i]}
		}
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}
	return tree, nil
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// readArchive streams a tar archive, gzipped or not, keeping its image files in memory.
func readArchive(name string) (*folderTree, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &FormatError{Path: name, Record: -1, Msg: "cannot open", Err: err}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FormatError{Path: name, Record: -1, Msg: "bad gzip stream", Err: err}
		}
		defer zr.Close()
		r = zr
	}
	tree := &folderTree{root: name, archive: true, dirs: map[string]bool{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &FormatError{Path: name, Record: -1, Msg: "bad tar archive", Err: err}
		}
		rel := strings.Trim(path.Clean("/"+filepath.ToSlash(h.Name)), "/")
		if rel == "" || hiddenPath(rel) {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			tree.dirs[rel] = true
		case tar.TypeReg:
			if !isImageName(rel) {
				continue
			}
			for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
				tree.dirs[dir] = true
			}
			data, err := io.ReadAll(tr)
			display := name + ":" + rel
			if err != nil {
				return nil, &FormatError{Path: display, Record: -1, Msg: "unreadable image", Err: err}
			}
			tree.files = append(tree.files, imageFile{rel: rel, display: display, data: data})
		}
	}
	return tree, nil
}

// assignClasses works out the layout (ROOT/train/CLASS/... and ROOT/test/CLASS/..., or
// ROOT/CLASS/... as a training set; an archive may wrap either in one top folder), sets each file's
// split and label, sorts the files, and returns the class names sorted by name.
func (t *folderTree) assignClasses() ([]string, error) {
	prefix := ""
	if t.archive && !t.dirs["train"] {
		// An archive of a folder: strip a single top folder that holds train/.
		var tops []string
		for d := range t.dirs {
			if !strings.Contains(d, "/") {
				tops = append(tops, d)
			}
		}
		if len(tops) == 1 && t.dirs[tops[0]+"/train"] {
			prefix = tops[0] + "/"
		}
	}
	splitLayout := t.dirs[prefix+"train"]
	splitRoots := []string{prefix}
	if splitLayout {
		splitRoots = []string{prefix + "train/", prefix + "test/"}
	}
	classSets := make([]map[string]bool, len(splitRoots))
	for s, sr := range splitRoots {
		classSets[s] = map[string]bool{}
		for d := range t.dirs {
			if c, ok := strings.CutPrefix(d, sr); ok && c != "" && !strings.Contains(c, "/") {
				if !splitLayout || sr != "" || (c != "train" && c != "test") {
					classSets[s][c] = true
				}
			}
		}
	}
	classes := slices.Sorted(mapKeys(classSets[0]))
	if len(classes) == 0 {
		return nil, formatErr(t.display(splitRoots[0]), -1, nil, "no class folders")
	}
	labels := map[string]int32{}
	for i, c := range classes {
		labels[c] = int32(i)
	}
	if len(splitRoots) > 1 {
		for c := range classSets[1] {
			if _, ok := labels[c]; !ok {
				return nil, formatErr(t.display(splitRoots[1]+c), -1, nil, "test class %q has no training folder", c)
			}
		}
	}
	counts := make([]map[string]int, len(splitRoots))
	kept := t.files[:0]
	for _, f := range t.files {
		for s, sr := range splitRoots {
			rest, ok := strings.CutPrefix(f.rel, sr)
			if !ok {
				continue
			}
			class, _, ok := strings.Cut(rest, "/")
			if !ok || !classSets[s][class] {
				continue // a file outside any class folder, as torchvision ignores it
			}
			f.split, f.class, f.label = s, class, labels[class]
			if counts[s] == nil {
				counts[s] = map[string]int{}
			}
			counts[s][class]++
			kept = append(kept, f)
			break
		}
	}
	t.files = kept
	for s, set := range classSets {
		for _, c := range slices.Sorted(mapKeys(set)) {
			if counts[s][c] == 0 {
				return nil, formatErr(t.display(splitRoots[s]+c), -1, nil, "empty class folder: no .jpg, .jpeg or .png images")
			}
		}
	}
	slices.SortFunc(t.files, func(a, b imageFile) int {
		if a.split != b.split {
			return a.split - b.split
		}
		return strings.Compare(a.rel, b.rel)
	})
	return classes, nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (t *folderTree) display(rel string) string {
	rel = strings.TrimSuffix(rel, "/")
	if t.archive {
		return t.root + ":" + rel
	}
	return filepath.Join(t.root, filepath.FromSlash(rel))
}

// cacheKey hashes the decoder version, the class names and every file's split, class, relative
// path, size and SHA-256: the decoded cache is reused exactly when the same image files are
// found, whether in a folder or an archive.
func (t *folderTree) cacheKey(classes []string) string {
	sums := make([][sha256.Size]byte, len(t.files))
	parallelFor(len(t.files), runtime.GOMAXPROCS(0), func(i int) { sums[i] = sha256.Sum256(t.files[i].data) })
	h := sha256.New()
	fmt.Fprintf(h, "msdx-imagefolder-cache-v1\nclasses %q\n", classes)
	for i, f := range t.files {
		fmt.Fprintf(h, "%d %q %q %d %x\n", f.split, f.class, f.rel, len(f.data), sums[i])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// decode decodes every image in parallel into RGB pixels. All images must have the size of the
// first.
func (t *folderTree) decode(classes []string, workers int) (*Dataset, error) {
	first, err := decodeImage(&t.files[0])
	if err != nil {
		return nil, err
	}
	b := first.Bounds()
	h, w := b.Dy(), b.Dx()
	var n [2]int
	for _, f := range t.files {
		n[f.split]++
	}
	d := &Dataset{Classes: classes}
	d.Train = Split{C: 3, H: h, W: w, Pixels: make([]uint8, n[0]*3*h*w), Labels: make([]int32, n[0])}
	d.Test = Split{C: 3, H: h, W: w, Pixels: make([]uint8, n[1]*3*h*w), Labels: make([]int32, n[1])}
	errs := make([]error, len(t.files))
	parallelFor(len(t.files), workers, func(i int) {
		f := &t.files[i]
		img, err := decodeImage(f)
		if err != nil {
			errs[i] = err
			return
		}
		if ib := img.Bounds(); ib.Dx() != w || ib.Dy() != h {
			errs[i] = formatErr(f.display, -1, nil, "image is %dx%d but %s is %dx%d", ib.Dx(), ib.Dy(), t.files[0].display, w, h)
			return
		}
		s, j := &d.Train, i
		if f.split == 1 {
			s, j = &d.Test, i-n[0]
		}
		s.Labels[j] = f.label
		toRGB(img, s.Image(j), h, w)
		f.data = nil // free the encoded bytes as we go
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}
	return d, nil
}

func decodeImage(f *imageFile) (image.Image, error) {
	img, _, err := image.Decode(bytes.NewReader(f.data))
	if err != nil {
		return nil, &FormatError{Path: f.display, Record: -1, Msg: "undecodable image", Err: err}
	}
	return img, nil
}

// toRGB writes img as planar RGB into dst (3×h×w). Alpha is dropped without compositing and grey
// is replicated, as PIL's convert("RGB") that torchvision's loader uses.
func toRGB(img image.Image, dst []uint8, h, w int) {
	b := img.Bounds()
	plane := h * w
	switch m := img.(type) {
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = r, g, bl
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			copy(dst[y*w:], row)
			copy(dst[plane+y*w:], row)
			copy(dst[2*plane+y*w:], row)
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				dst[y*w+x], dst[plane+y*w+x], dst[2*plane+y*w+x] = c.R, c.G, c.B
			}
		}
	}
}

// parallelFor calls fn(i) for i in [0, n) on up to workers goroutines.
func parallelFor(n, workers int, fn func(i int)) {
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	chunk := max(1, n/(workers*8))
	next := make(chan int, workers)
	for range workers {
		wg.Go(func() {
			for start := range next {
				for i := start; i < min(n, start+chunk); i++ {
					fn(i)
				}
			}
		})
	}
	for start := 0; start < n; start += chunk {
		next <- start
	}
	close(next)
	wg.Wait()
}
