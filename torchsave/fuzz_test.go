package torchsave

import (
	"archive/zip"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"testing"
)

// FuzzUnpickle checks that no pickle, however malformed, makes the reader panic: the
// fixture's data.pkl, mutated, read against the fixture's storages.
func FuzzUnpickle(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "checkpoint.pth.tar"))
	if err != nil {
		f.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	files := map[string]*zip.File{}
	var pkl []byte
	prefix := ""
	for _, zf := range zr.File {
		files[zf.Name] = zf
		if path.Base(zf.Name) == "data.pkl" {
			if pkl, err = readZip(zf); err != nil {
				f.Fatal(err)
			}
			prefix = path.Dir(zf.Name)
		}
	}
	f.Add(pkl)
	f.Fuzz(func(t *testing.T, data []byte) {
		u := &unpickler{r: bytes.NewReader(data), memo: map[uint32]any{}, storages: map[string]*storage{},
			files: files, prefix: prefix}
		if _, err := u.run(); err == nil {
			u.fill()
		}
	})
}
