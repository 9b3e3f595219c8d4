package builder_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/spec"
)

// FuzzDeclarations feeds arbitrary stem, head and fusion part files to the spec loader and
// the builder: neither may panic, and every problem must come back as located errors (file
// and field), before anything is built.
func FuzzDeclarations(f *testing.F) {
	for _, kind := range []string{spec.PartStem, spec.PartHead, spec.PartFusion} {
		for _, name := range spec.ShippedParts(kind) {
			data, _ := spec.ShippedPartSource(kind, name)
			switch kind {
			case spec.PartStem:
				f.Add(data, []byte(nil), []byte(nil))
			case spec.PartHead:
				f.Add([]byte(nil), data, []byte(nil))
			default:
				f.Add([]byte(nil), []byte(nil), data)
			}
		}
	}
	f.Add([]byte("part = \"stem\"\n[[layers]]\nop = \"se\"\nhidden = \"in//0\"\n"), []byte("part = \"head\"\nlayers = [{op = \"linear\", in = \"((((width))))\"}]\n"),
		[]byte("part = \"fusion\"\n[[units]]\nfrom = \"coarser\"\nwindow = 1\n[[units]]\nfrom = \"self\"\nkernel = 5\n"))
	f.Add([]byte("part = \"stem\"\n[[layers]]\nop = \"conv\"\nout = \"width\"\nkernel = 99999\ngroups = \"in\"\n"), []byte("part = 3"), []byte("part = \"fusion\"\nunits = [{from = \"finer2\", state = \"output\"}, {from = \"self\"}]\n"))
	f.Fuzz(func(t *testing.T, stem, head, fusion []byte) {
		dir := t.TempDir()
		doc := "extends = \"addad-cifar10\"\ninput = [3, 16, 16]\nchannels = 4\ngrowth = 2\n[blocks]\ncount = 2\nbase = 1\nstep = 1\n"
		for _, p := range []struct {
			data       []byte
			file, line string
		}{{stem, "stem.toml", "[stem]\nkind = \"stem.toml\"\nstride = \n"}, {head, "head.toml", "[head]\nkind = \"head.toml\"\n"}, {fusion, "fusion.toml", "[fusion]\nrule = \"fusion.toml\"\n"}} {
			if p.data == nil {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, p.file), p.data, 0o644); err != nil {
				t.Fatal(err)
			}
			doc += strings.Replace(p.line, "stride = \n", "", 1)
		}
		path := filepath.Join(dir, "spec.toml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := spec.Load(path, []string{"stem.stride="})
		if err == nil {
			_, err = builder.Build(s)
			if err == nil {
				return
			}
		}
		var e *spec.Error
		var list spec.ErrorList
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				if e.File == "" || e.Msg == "" {
					t.Errorf("unlocated error %#v", e)
				}
			}
		case errors.As(err, &e):
			if e.File == "" || e.Field == "" {
				t.Errorf("unlocated error %#v", e)
			}
		default:
			t.Errorf("error of type %T: %v", err, err)
		}
	})
}
