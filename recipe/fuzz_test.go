package recipe

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzLoad checks that Load never panics, and that whatever it accepts survives the
// canonical encoding unchanged.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(valid))
	for _, name := range PresetNames() {
		_, src, _ := presetSource(name)
		f.Add(src)
	}
	f.Add([]byte("extends = \"quick\"\nloss = { exit_weights = [1, 2] }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := Load("fuzz.toml", src)
		if err != nil {
			return
		}
		back, err := Load("canonical", r.Canonical())
		if err != nil {
			t.Fatalf("canonical form of an accepted recipe does not load: %v\n%s", err, r.Canonical())
		}
		if diff := cmp.Diff(r, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
