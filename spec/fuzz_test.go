package spec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that the loader never panics, and that it returns either a valid spec
// whose canonical form reads back to the same spec, or located errors.
func FuzzParse(f *testing.F) {
	for _, name := range PresetNames() {
		data, _ := PresetSource(name)
		f.Add(data, "")
	}
	for _, tc := range malformed {
		f.Add([]byte(tc.doc), strings.Join(tc.sets, "\n"))
	}
	f.Add([]byte("extends = \"ranet-cifar10\"\n"), "blocks.count=3\nextends=")
	f.Add([]byte("a = '''\nx\n'''\n[b]\nc = { d = [1, {e = 2}] }\n"), "")
	f.Add([]byte("name = \"d\"\n[[stem.layers]]\nname = \"a\"\nop = \"conv\"\nout = \"2*width\"\nkernel = 3\n[[stem.layers]]\nop = \"se\"\nhidden = \"in//4\"\n[head]\nlayers = [{op = \"adaptive_avgpool\"}, {op = \"linear\", in = \"width\"}]\n[fusion]\ndrop_finer = true\nse = true\nunits = [{from = \"coarser\", window = 2}, {from = \"self\", weight = 3}]\n"),
		"stem.layers[1].kernel=5\nfusion.units[2].state=input\nhead.layers[2].bias=false")
	f.Add([]byte("extends = \"addad-cifar10\"\n"), "fusion.units[1].state=input\nfusion.drop_finer=true\nstem.layers[4].from=conv2")
	f.Fuzz(func(t *testing.T, doc []byte, sets string) {
		var setList []string
		if sets != "" {
			setList = strings.Split(sets, "\n")
		}
		s, err := Parse("t.toml", doc, setList)
		if err == nil {
			if verr := s.Validate(); verr != nil {
				t.Fatalf("Parse returned a spec that does not validate: %v", verr)
			}
			back, err := Parse("c.toml", s.Canonical(), nil)
			if err != nil {
				t.Fatalf("canonical form does not parse: %v\n%s", err, s.Canonical())
			}
			if diff := cmp.Diff(s, back, ignoreOrigin); diff != "" {
				t.Fatalf("canonical round trip (-parsed +reparsed):\n%s", diff)
			}
			if s.Hash() != back.Hash() {
				t.Fatal("hash changed over the canonical round trip")
			}
			return
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %T is not a non-empty ErrorList: %v", err, err)
		}
		lines := bytes.Count(doc, []byte("\n")) + 1
		for _, e := range list {
			switch {
			case e.File == "t.toml":
				if e.Line > lines {
					t.Errorf("line %d past the document's end (%d lines): %v", e.Line, lines, e)
				}
				if e.Line == 0 && !strings.HasSuffix(e.Msg, "(default value)") && e.Field != "name" {
					t.Errorf("error without a line that is not about a default: %v", e)
				}
			case e.File == setFile:
				if e.Line < 1 || e.Line > len(setList) {
					t.Errorf("override index %d out of 1..%d: %v", e.Line, len(setList), e)
				}
			case strings.HasPrefix(e.File, "<preset "):
				if e.Line < 1 {
					t.Errorf("preset error without a line: %v", e)
				}
			default:
				t.Errorf("error names an unexpected file: %v", e)
			}
			if e.Msg == "" {
				t.Errorf("error without a message: %#v", e)
			}
		}
	})
}
