package data

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// The splits of an image folder, in the order their images are sorted.
const (
	splitTrain = iota
	splitTest
	splitVal
)

// imageFile is one image of an image folder.
type imageFile struct {
	rel     string // slash-separated path relative to the folder (or archive) root
	display string // the name errors use
	split   int
	class   string
	label   int32
	size    int64
	sum     [sha256.Size]byte // of the file's bytes
	h, w    int               // from the image's header
	bad     error             // why the image cannot be used (with OpenOptions.SkipBadImages)
}

// folderTree is what was found in an image folder or archive: the image files, every
// directory (class folders included, empty ones too) and what is ignored.
type folderTree struct {
	root    string
	archive bool
	prefix  string // an archive's single top folder, "" or ending in "/"
	files   []imageFile
	dirs    map[string]bool // slash-separated directory paths
	ignored []string        // slash-separated paths outside class folders
	hasVal  bool            // train/, val/ and test/: val/ is the validation split
	index   map[string]int  // rel → file index, built on first use
}

func hiddenName(name string) bool { return strings.HasPrefix(name, ".") }

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
		tree, err = walkFolder(root)
	case isArchiveName(root):
		tree, err = listArchive(root)
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
	if err := tree.scan(workers); err != nil {
		return nil, err
	}
	plan, err := tree.plan(classes, opts)
	if err != nil {
		return nil, err
	}
	cacheDir := ""
	if !opts.NoCache {
		cacheDir = opts.CacheDir
		if cacheDir == "" {
			if ucd, err := os.UserCacheDir(); err == nil {
				cacheDir = filepath.Join(ucd, "msdx", "data")
			}
		}
	}
	if cacheDir != "" {
		name := filepath.Join(cacheDir, "imagefolder-"+plan.key[:40]+".bin")
		if d, err := openCache(name, plan.key, true); err == nil {
			return plan.finish(d, opts)
		}
		if err := os.MkdirAll(cacheDir, 0o755); err == nil {
			if err := tree.build(plan, name, workers); err != nil {
				var fe *FormatError
				if errors.As(err, &fe) {
					return nil, err
				}
				// The cache only saves time: an unwritable cache folder must not fail
				// the run, which then decodes into a temporary file.
			} else if d, err := openCache(name, plan.key, false); err == nil {
				return plan.finish(d, opts)
			}
		}
	}
	// No cache: decode into a temporary file, mapped and removed at once, so that memory
	// stays bounded all the same.
	tmp, err := os.MkdirTemp("", "msdx-imagefolder-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	name := filepath.Join(tmp, "images.bin")
	if err := tree.build(plan, name, workers); err != nil {
		return nil, err
	}
	d, err := openCache(name, plan.key, false)
	if err != nil {
		return nil, err
	}
	return plan.finish(d, opts)
}

// walkFolder lists the files and directories under root, following symbolic links as
// torchvision does and reporting a link that leads back to one of its own parents.
func walkFolder(root string) (*folderTree, error) {
	tree := &folderTree{root: root, dirs: map[string]bool{}}
	rootInfo, err := os.Stat(root)
	if err != nil {
		return nil, &FormatError{Path: root, Record: -1, Msg: "cannot open", Err: err}
	}
	type dirRef struct {
		path string
		info os.FileInfo
	}
	var visit func(dir, rel string, parents []dirRef) error
	visit = func(dir, rel string, parents []dirRef) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return &FormatError{Path: dir, Record: -1, Msg: "cannot read folder", Err: err}
		}
		for _, e := range entries {
			p, r := filepath.Join(dir, e.Name()), path.Join(rel, e.Name())
			if hiddenName(e.Name()) {
				tree.ignored = append(tree.ignored, r)
				continue
			}
			fi, err := os.Stat(p) // follows symbolic links
			if err != nil {
				if errors.Is(err, syscall.ELOOP) {
					return formatErr(p, -1, nil, "symbolic link loop")
				}
				return &FormatError{Path: p, Record: -1, Msg: "unreadable", Err: errors.Unwrap(err)}
			}
			switch {
			case fi.IsDir():
				for _, a := range parents {
					if os.SameFile(a.info, fi) {
						return formatErr(p, -1, nil, "symbolic link loop: leads back to %s", a.path)
					}
				}
				tree.dirs[r] = true
				if err := visit(p, r, append(parents, dirRef{p, fi})); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				tree.files = append(tree.files, imageFile{rel: r, display: p, size: fi.Size()})
			default:
				return formatErr(p, -1, nil, "not a regular file or folder")
			}
		}
		return nil
	}
	if err := visit(root, "", []dirRef{{root, rootInfo}}); err != nil {
		return nil, err
	}
	return tree, nil
}

// archiveReader opens a tar archive, gzipped or not.
func archiveReader(name string) (*tar.Reader, func(), error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, &FormatError{Path: name, Record: -1, Msg: "cannot open", Err: err}
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	closeAll := func() { f.Close() }
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, &FormatError{Path: name, Record: -1, Msg: "bad gzip stream", Err: err}
		}
		r = zr
		closeAll = func() { zr.Close(); f.Close() }
	}
	return tar.NewReader(r), closeAll, nil
}

// archiveMembers calls fn with each regular file of an archive that is not hidden, in
// archive order; read reads the member's content.
func archiveMembers(name string, fn func(rel string, size int64, read func() ([]byte, error)) error) error {
	tr, closeAll, err := archiveReader(name)
	if err != nil {
		return err
	}
	defer closeAll()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &FormatError{Path: name, Record: -1, Msg: "bad tar archive", Err: err}
		}
		rel := strings.Trim(path.Clean("/"+filepath.ToSlash(h.Name)), "/")
		if rel == "" {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := fn(rel, h.Size, func() ([]byte, error) { return io.ReadAll(tr) }); err != nil {
			return err
		}
	}
}

// listArchive lists an archive's directories and files; their content is read later.
func listArchive(name string) (*folderTree, error) {
	tree := &folderTree{root: name, archive: true, dirs: map[string]bool{}}
	seen := map[string]bool{}
	tr, closeAll, err := archiveReader(name)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &FormatError{Path: name, Record: -1, Msg: "bad tar archive", Err: err}
		}
		rel := strings.Trim(path.Clean("/"+filepath.ToSlash(h.Name)), "/")
		if rel == "" {
			continue
		}
		if hidden(rel) {
			tree.ignored = append(tree.ignored, rel)
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			tree.dirs[rel] = true
		case tar.TypeReg:
			for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
				tree.dirs[dir] = true
			}
			if seen[rel] {
				return nil, formatErr(name+":"+rel, -1, nil, "appears twice in the archive")
			}
			seen[rel] = true
			tree.files = append(tree.files, imageFile{rel: rel, display: name + ":" + rel, size: h.Size})
		default:
			tree.ignored = append(tree.ignored, rel)
		}
	}
	return tree, nil
}

func hidden(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if hiddenName(part) {
			return true
		}
	}
	return false
}

// assignClasses works out the layout, sets each file's split and label, sorts the files and
// returns the class names sorted by name, as torchvision's ImageFolder sorts them. The
// layouts are ROOT/train/CLASS/... with ROOT/val/CLASS/... or ROOT/test/CLASS/... (the test
// split), or both (val/ is then the validation split), or ROOT/CLASS/... alone (a training
// set); an archive may wrap any of them in one top folder. A class folder's images may lie
// in subfolders.
func (t *folderTree) assignClasses() ([]string, error) {
	if t.archive && !t.dirs["train"] {
		// An archive of a folder: strip a single top folder that holds train/.
		var tops []string
		for d := range t.dirs {
			if !strings.Contains(d, "/") {
				tops = append(tops, d)
			}
		}
		if len(tops) == 1 && t.dirs[tops[0]+"/train"] {
			t.prefix = tops[0] + "/"
		}
	}
	type root struct {
		dir   string // "" or ending in "/"
		split int
	}
	roots := []root{{t.prefix, splitTrain}}
	if t.dirs[t.prefix+"train"] {
		roots = []root{{t.prefix + "train/", splitTrain}}
		switch test, val := t.dirs[t.prefix+"test"], t.dirs[t.prefix+"val"]; {
		case test && val:
			t.hasVal = true
			roots = append(roots, root{t.prefix + "test/", splitTest}, root{t.prefix + "val/", splitVal})
		case test:
			roots = append(roots, root{t.prefix + "test/", splitTest})
		case val:
			roots = append(roots, root{t.prefix + "val/", splitTest})
		}
	}
	classSets := make([]map[string]bool, len(roots))
	for s, r := range roots {
		classSets[s] = map[string]bool{}
		for d := range t.dirs {
			if c, ok := strings.CutPrefix(d, r.dir); ok && c != "" && !strings.Contains(c, "/") {
				classSets[s][c] = true
			}
		}
	}
	classes := slices.Sorted(mapKeys(classSets[0]))
	if len(classes) == 0 {
		return nil, formatErr(t.display(roots[0].dir), -1, nil, "no class folders")
	}
	labels := map[string]int32{}
	for i, c := range classes {
		labels[c] = int32(i)
	}
	for s, r := range roots[1:] {
		for _, c := range slices.Sorted(mapKeys(classSets[s+1])) {
			if _, ok := labels[c]; !ok {
				return nil, formatErr(t.display(r.dir+c), -1, nil, "%s class %q has no training folder", strings.TrimSuffix(strings.TrimPrefix(r.dir, t.prefix), "/"), c)
			}
		}
	}
	counts := make([]map[string]int, len(roots))
	for s := range counts {
		counts[s] = map[string]int{}
	}
	kept := t.files[:0]
	for _, f := range t.files {
		placed := false
		for s, r := range roots {
			rest, ok := strings.CutPrefix(f.rel, r.dir)
			if !ok {
				continue
			}
			class, _, ok := strings.Cut(rest, "/")
			if !ok || !classSets[s][class] {
				break // a file beside the class folders
			}
			if !isImageName(f.rel) {
				return nil, formatErr(f.display, -1, nil, "not an image file: a class folder may hold only images (%s)", strings.Join(ImageExtensions, ", "))
			}
			f.split, f.class, f.label = r.split, class, labels[class]
			counts[s][class]++
			kept = append(kept, f)
			placed = true
			break
		}
		if !placed {
			t.ignored = append(t.ignored, f.rel)
		}
	}
	t.files = kept
	for s, set := range classSets {
		for _, c := range slices.Sorted(mapKeys(set)) {
			if counts[s][c] == 0 {
				return nil, formatErr(t.display(roots[s].dir+c), -1, nil, "empty class folder: no images (%s)", strings.Join(ImageExtensions, ", "))
			}
		}
	}
	slices.SortFunc(t.files, func(a, b imageFile) int {
		if a.split != b.split {
			return a.split - b.split
		}
		return strings.Compare(a.rel, b.rel)
	})
	slices.Sort(t.ignored)
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

// feed hands each file's content to fn on workers goroutines: a folder's files are read by
// the workers themselves, an archive's in archive order by one reader (which then holds
// only a few files ahead of the workers). fn may be called in any order.
func (t *folderTree) feed(workers int, fn func(i int, data []byte, err error)) error {
	if !t.archive {
		parallelFor(len(t.files), workers, func(i int) {
			data, err := os.ReadFile(t.files[i].display)
			fn(i, data, err)
		})
		return nil
	}
	index := make(map[string]int, len(t.files))
	for i, f := range t.files {
		index[f.rel] = i
	}
	type item struct {
		i    int
		data []byte
	}
	work := make(chan item, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range work {
				fn(it.i, it.data, nil)
			}
		})
	}
	err := archiveMembers(t.root, func(rel string, _ int64, read func() ([]byte, error)) error {
		i, ok := index[rel]
		if !ok {
			return nil
		}
		data, err := read()
		if err != nil {
			return &FormatError{Path: t.files[i].display, Record: -1, Msg: "unreadable image", Err: err}
		}
		work <- item{i, data}
		return nil
	})
	close(work)
	wg.Wait()
	return err
}

// scan reads every image once to hash it and read its size from its header, holding one
// file per worker in memory.
func (t *folderTree) scan(workers int) error {
	errs := make([]error, len(t.files))
	err := t.feed(workers, func(i int, data []byte, err error) {
		f := &t.files[i]
		if err != nil {
			errs[i] = &FormatError{Path: f.display, Record: -1, Msg: "unreadable image", Err: errors.Unwrap(err)}
			return
		}
		f.size = int64(len(data))
		f.sum = sha256.Sum256(data)
		w, h, err := imageSize(data)
		if err != nil {
			f.bad = &FormatError{Path: f.display, Record: -1, Msg: "undecodable image", Err: err}
			return
		}
		if w <= 0 || h <= 0 {
			f.bad = formatErr(f.display, -1, nil, "undecodable image: size %dx%d", w, h)
			return
		}
		f.w, f.h = w, h
	})
	if err != nil {
		return err
	}
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
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
