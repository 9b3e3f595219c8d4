package tomlconf

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSuggest(t *testing.T) {
	known := []string{"name", "channels", "blocks.count", "blocks.step", "optimizer.lr", "head.channels"}
	for _, tt := range []struct{ key, want string }{
		{"chanels", "channels"},
		{"blocks.cnt", "blocks.count"},
		{"optimizer.lrr", "optimizer.lr"},
		{"count", "blocks.count"}, // the right key under the wrong table
		{"xyz", ""},
		{"optimizer.xx", ""}, // two edits on a two-letter key is no suggestion
		{"blocks.stpe", "blocks.step"},
	} {
		want := ""
		if tt.want != "" {
			want = fmt.Sprintf(" (did you mean %q?)", tt.want)
		}
		if got := Suggest(tt.key, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.key, got, want)
		}
	}
}

func TestDecodeLocatesSyntaxErrors(t *testing.T) {
	_, err := Decode("a.toml", []byte("x = 1\ny = \n"))
	if err == nil || err.File != "a.toml" || err.Line != 2 || err.Field != "y" {
		t.Fatalf("Decode error = %#v, want a.toml:2 at y", err)
	}
	doc, err := Decode("b.toml", []byte("[t]\nk = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Errorf("t.k", "bad").Error(); got != "b.toml:2: t.k: bad" {
		t.Errorf("Errorf = %q", got)
	}
}

func TestChain(t *testing.T) {
	docs := map[string]string{
		"base":  "a = 1\n",
		"mid":   "extends = \"base\"\nb = 2\n",
		"top":   "extends = \"mid\"\nc = 3\n",
		"loop1": "extends = \"loop2\"\n",
		"loop2": "extends = \"loop1\"\n",
		"bad":   "extends = 3\n",
	}
	p := Presets{
		Find: func(name string) (string, []byte, bool) {
			d, ok := docs[name]
			return "<" + name + ">", []byte(d), ok
		},
		Names: func() []string { return []string{"base", "mid", "top"} },
	}
	at := Error{File: "mine.toml", Line: 1}
	chain, errs := p.Chain("top", at)
	if errs != nil {
		t.Fatal(errs)
	}
	var files []string
	for _, d := range chain {
		files = append(files, d.File)
	}
	if diff := cmp.Diff([]string{"<base>", "<mid>", "<top>"}, files); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{
		"nope":  `mine.toml:1: extends: unknown preset "nope" (presets: base, mid, top)`,
		"loop1": `<loop2>:1: extends: preset "loop1" extends itself (chain loop1 -> loop2 -> loop1)`,
		"bad":   `<bad>:1: extends: want a string naming a preset, got integer 3`,
	} {
		_, errs := p.Chain(name, at)
		if errs == nil || errs.Error() != want {
			t.Errorf("Chain(%q) = %v, want %s", name, errs, want)
		}
	}
}

func TestWriter(t *testing.T) {
	var w Writer
	w.Comment("head")
	w.Key("name", String("a \"b\"\n\x01"))
	w.Key("t.x", Float(2))
	w.Key("t.y", Floats([]float64{0.5, 1e-7}))
	w.Key("u.z", Ints([]int{1, 2}))
	want := "# head\nname = \"a \\\"b\\\"\\n\\u0001\"\n\n[t]\nx = 2.0\ny = [0.5, 1e-07]\n\n[u]\nz = [1, 2]\n"
	if diff := cmp.Diff(want, string(w.Bytes())); diff != "" {
		t.Errorf("Writer (-want +got):\n%s", diff)
	}
}

func TestParseAndDecodeValues(t *testing.T) {
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	for _, tt := range []struct {
		name string
		got  error
		want string
	}{
		{"int float", second(DecodeInt(2.0, 10)), "want an integer, got float 2 (write 2)"},
		{"int range", second(DecodeInt(int64(11), 10)), "11 is out of range (at most 10)"},
		{"float nan", second(ParseFloat("nan")), `want a finite number, got "nan"`},
		{"floats", second(ParseFloats("[1, x]")), `element 2: want a finite number, got "x"`},
		{"bool", second(ParseBool("maybe")), `want true or false, got "maybe"`},
		{"string", second(ParseString(`"a\q"`)), `bad quoted string "a\q"`},
	} {
		if got := errText(tt.got); got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.want)
		}
	}
	if s, err := ParseString(`'a b'`); err != nil || s != "a b" {
		t.Errorf("ParseString('a b') = %q, %v", s, err)
	}
	if xs, err := ParseFloats("[]"); err != nil || len(xs) != 0 || xs == nil {
		t.Errorf("ParseFloats([]) = %#v, %v; want an empty list", xs, err)
	}
	if p, v, ok := SplitSet(" a.b = 3 "); p != "a.b" || v != "3" || !ok {
		t.Errorf("SplitSet = %q, %q, %v", p, v, ok)
	}
}

func second[T any](_ T, err error) error { return err }

func TestSortPutsOverridesLast(t *testing.T) {
	l := []*Error{
		SetError("--set", 1, "b=2", "b", "bad"),
		{File: "z.toml", Line: 3, Msg: "x"},
		SetError("--set", 0, "a=1", "a", "bad"),
		{File: "a.toml", Line: 9, Msg: "y"},
	}
	Sort(l, nil)
	var got []string
	for _, e := range l {
		got = append(got, e.Error())
	}
	want := []string{"a.toml:9: y", "z.toml:3: x", "--set:1: a: bad (--set a=1)", "--set:2: b: bad (--set b=2)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sort (-want +got):\n%s", diff)
	}
}
