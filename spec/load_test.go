package spec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreOrigin compares Specs by content only.
var ignoreOrigin = cmpopts.IgnoreFields(Spec{}, "Origin")

// malformed are specs that must be rejected, with every problem reported at its line.
var malformed = []struct {
	name string
	doc  string
	sets []string
	want []string
}{
	{
		name: "syntax error stops early",
		doc:  "name = \"x\"\nclasses = [1,\n",
		want: []string{"t.toml:2: classes: unexpected EOF; expected value"},
	},
	{
		name: "duplicate key",
		doc:  "classes = 10\nclasses = 20\n",
		want: []string{"t.toml:2: classes: Key 'classes' has already been defined."},
	},
	{
		name: "unknown key with suggestion",
		doc:  "name = \"x\"\nchanels = 16\n",
		want: []string{`t.toml:2: chanels: unknown key (did you mean "channels"?)`},
	},
	{
		name: "unknown key in a table",
		doc:  "[blocks]\ncount = 3\ncnt = 3\n",
		want: []string{`t.toml:3: blocks.cnt: unknown key (did you mean "blocks.count"?)`},
	},
	{
		name: "unknown table",
		doc:  "name = \"x\"\n\n[optimizer]\nlr = 0.1\n",
		want: []string{"t.toml:3: optimizer: unknown key"},
	},
	{
		name: "floats for integers",
		doc:  "channels = 16.0\ngrowth = 6.5\n",
		want: []string{
			"t.toml:1: channels: want an integer, got float 16 (write 16)",
			"t.toml:2: growth: want an integer, got float 6.5",
		},
	},
	{
		name: "bad integer lists",
		doc:  "[scales]\ngr_factor = [1, \"2\", 4]\nbn_factor = \"1-2-x\"\n",
		want: []string{
			`t.toml:2: scales.gr_factor: element 2: want an integer, got string "2"`,
			`t.toml:3: scales.bn_factor: want a list of integers like [1, 2, 4] or "1-2-4", got "1-2-x"`,
		},
	},
	{
		name: "value where a table belongs",
		doc:  "name = \"x\"\nblocks = 3\n",
		want: []string{"t.toml:2: blocks: want a table ([blocks]), got integer 3"},
	},
	{
		name: "array of tables where a table belongs",
		doc:  "[[blocks]]\ncount = 3\n",
		want: []string{"t.toml:1: blocks: want a table ([blocks]), got an array of tables"},
	},
	{
		name: "input of two numbers",
		doc:  "input = [3, 32]\n",
		want: []string{"t.toml:1: input: want 3 numbers (channels, height, width), got 2"},
	},
	{
		name: "input out of range twice on one line",
		doc:  "classes = 10\ninput = [5, 4, 32]\n",
		want: []string{
			"t.toml:2: input: 5 channels is out of range [1, 4]",
			"t.toml:2: input: height 4 is out of range [8, 2048]",
		},
	},
	{
		name: "three top-level problems",
		doc:  "classes = 0\nactivation = \"tanh\"\nreduction = -0.5\n",
		want: []string{
			"t.toml:1: classes: 0 is out of range [1, 100000]",
			`t.toml:2: activation: "tanh" is not one of "relu", "gelu"`,
			"t.toml:3: reduction: -0.5 is out of range: want a finite reduction >= 0 (0 disables transitions)",
		},
	},
	{
		name: "reduction not finite",
		doc:  "reduction = nan\n",
		want: []string{"t.toml:1: reduction: want a finite number, got NaN"},
	},
	{
		name: "reduction infinite",
		doc:  "reduction = inf\n",
		want: []string{"t.toml:1: reduction: want a finite number, got +Inf"},
	},
	{
		name: "date for an integer",
		doc:  "classes = 1979-05-27\n",
		want: []string{"t.toml:1: classes: want an integer, got a date or time"},
	},
	{
		name: "huge integer",
		doc:  "classes = 99999999999\n",
		want: []string{"t.toml:1: classes: 99999999999 is out of range (at most 1048576)"},
	},
	{
		name: "scale factors: zero entry and length mismatch",
		doc:  "[scales]\ngr_factor = [1, 0, 4]\nbn_factor = [1, 2]\n",
		want: []string{
			"t.toml:2: scales.gr_factor: entry 2 is 0; want 1 to 16",
			"t.toml:3: scales.bn_factor: has 2 entries and gr_factor 3; want one entry per scale",
		},
	},
	{
		name: "default bn_factor too short, across a multi-line array",
		doc:  "[scales]\ngr_factor = [\n  1,\n  2,\n  4,\n  4,\n]\n",
		want: []string{"t.toml:1: scales.bn_factor: has 3 entries and gr_factor 4; want one entry per scale (default value)"},
	},
	{
		name: "odd new channels on a coarser scale",
		doc:  "growth = 5\n[scales]\ngr_factor = [1, 1, 1]\nbn_factor = [1, 1, 1]\n",
		want: []string{"t.toml:3: scales.gr_factor: growth 5 x gr_factor[2] 1 = 5 new channels on scale 2 is odd; the down and normal units each make half, so it must be even"},
	},
	{
		name: "resolution without ranet",
		doc:  "[scales]\nresolution = [1, 2, 3]\n",
		want: []string{`t.toml:2: scales.resolution: not used by fusion rule "msdnet" (only by ranet)`},
	},
	{
		name: "ranet with default resolution of the wrong length",
		doc:  "[fusion]\nrule = \"ranet\"\n[scales]\ngr_factor = [4, 2, 1]\nbn_factor = [4, 2, 1]\n",
		want: []string{"t.toml:3: scales.resolution: has 4 entries and gr_factor 3; want one entry per flow (default value)"},
	},
	{
		name: "ranet with four msdnet-only or malformed values",
		doc:  "[scales]\nresolution = [1, 3, 3, 3]\n[fusion]\nrule = \"ranet\"\nprune = \"max\"\n[blocks]\nbase = 4\nstep_mode = \"lin_grow\"\n",
		want: []string{
			"t.toml:2: scales.resolution: [1, 3, 3, 3] is not a resolution list: want it to start at 1 and rise by 0 or 1 per flow, e.g. [1, 2, 3, 3]",
			"t.toml:5: fusion.prune: not used by fusion rule ranet",
			"t.toml:7: blocks.base: not used by fusion rule ranet (every RANet block has blocks.step layers, or step*j with lg)",
			`t.toml:8: blocks.step_mode: "lin_grow" is not one of "even", "lg"`,
		},
	},
	{
		name: "ranet compress factor leaves a flow no fused channels",
		doc:  "[fusion]\nrule = \"ranet\"\ncompress_factor = 0.1\n",
		want: []string{"t.toml:3: fusion.compress_factor: flow 3 grows 6 channels per layer, split 0 from the lower flow and 6 from its own; both parts must be at least 1"},
	},
	{
		name: "ranet compress factor out of range",
		doc:  "[fusion]\nrule = \"ranet\"\ncompress_factor = 1.5\n",
		want: []string{"t.toml:3: fusion.compress_factor: 1.5 is out of range: want 0 < compress_factor < 1"},
	},
	{
		name: "unknown stem and zero head width",
		doc:  "[stem]\nkind = \"resnet\"\n\n[head]\nkind = \"addad\"\nchannels = 0\n",
		want: []string{
			`t.toml:2: stem.kind: "resnet" is not one of "addad-code", "addad-separable", "msdnet-cifar", "msdnet-imagenet"`,
			"t.toml:6: head.channels: 0 is out of range [1, 1024]",
		},
	},
	{
		name: "stride on an msdnet stem",
		doc:  "[stem]\nkind = \"msdnet-cifar\"\nstride = 2\n",
		want: []string{`t.toml:3: stem.stride: not used by stem "msdnet-cifar" (only by stems whose layers use stem.stride, such as the addad stems)`},
	},
	{
		name: "addad stem: bad stride, and under ranet, via dotted key and inline table",
		doc:  "fusion.rule = \"ranet\"\nstem = { kind = \"addad-code\", stride = 3 }\n",
		want: []string{
			"t.toml:2: stem.kind: the addad-code stem is defined for the msdnet-family wirings only; ranet uses \"msdnet-cifar\" or \"msdnet-imagenet\"",
			"t.toml:2: stem.stride: 3 is neither 1 (CIFAR) nor 2 (ImageNet)",
		},
	},
	{
		name: "width on an imagenet head",
		doc:  "[head]\nkind = \"msdnet-imagenet\"\nchannels = 64\n",
		want: []string{`t.toml:3: head.channels: not used by head "msdnet-imagenet" (it works at its input width)`},
	},
	{
		name: "unknown preset",
		doc:  "extends = \"msdnet-cifar10\"\n",
		want: []string{`t.toml:1: extends: unknown preset "msdnet-cifar10" (presets: ` + strings.Join(PresetNames(), ", ") + ")"},
	},
	{
		name: "step mode of the wrong family over a preset",
		doc:  "extends = \"msdnet-cifar10-anytime\"\n[blocks]\nstep_mode = \"lg\"\n",
		want: []string{`t.toml:3: blocks.step_mode: "lg" is not one of "even", "lin_grow"`},
	},
	{
		name: "switching a preset's rule blames the preset's lines",
		doc:  "extends = \"msdnet-cifar10-anytime\"\n[fusion]\nrule = \"ranet\"\n",
		want: []string{
			"<preset msdnet-cifar10-anytime>:14: scales.resolution: has 4 entries and gr_factor 3; want one entry per flow (default value)",
			"<preset msdnet-cifar10-anytime>:20: blocks.base: not used by fusion rule ranet (every RANet block has blocks.step layers, or step*j with lg) (value from the preset named by extends)",
			"<preset msdnet-cifar10-anytime>:26: fusion.prune: not used by fusion rule ranet (value from the preset named by extends)",
		},
	},
	{
		name: "attention block: heads that do not divide, a width without the block",
		doc:  "[blocks]\nattention = true\nattention_width = 7\n",
		sets: []string{"blocks.attention=false"},
		want: []string{"t.toml:3: blocks.attention_width: not used without blocks.attention = true"},
	},
	{
		name: "attention block: width not split into heads of 6",
		doc:  "[blocks]\ncount = 2\nattention = true\nattention_width = 7\n",
		want: []string{"t.toml:4: blocks.attention_width: attention_width 7 x gr_factor[3] 4 = 28 channels do not split into attention heads of 6"},
	},
	{
		name: "attention block replacing the only block",
		doc:  "[blocks]\nattention = true\n",
		want: []string{"t.toml:2: blocks.attention: the attention block replaces the last block, so a network with it needs at least 2 blocks, not 1"},
	},
	{
		name: "attention block under ranet",
		doc:  "extends = \"ranet-cifar10\"\n[blocks]\nattention = true\n",
		want: []string{"t.toml:3: blocks.attention: the attention last block belongs to the msdnet-family wirings, not to ranet"},
	},
	{
		name: "too many layers",
		doc:  "[blocks]\ncount = 100\nstep = 100\n",
		want: []string{"t.toml:2: blocks.count: the network would have 9904 layers; at most 500"},
	},
	{
		name: "inline table with two problems on one line",
		doc:  "blocks = { count = 0, step_mode = \"x\" }\n",
		want: []string{
			"t.toml:1: blocks.count: 0 is out of range [1, 100]",
			`t.toml:1: blocks.step_mode: "x" is not one of "even", "lin_grow"`,
		},
	},
	{
		name: "multi-line string does not confuse line numbers",
		doc:  "description = \"\"\"\ngrowth = 1\n\"\"\"\ngrowth = 0\n",
		want: []string{"t.toml:4: growth: 0 is out of range [1, 256]"},
	},
	{
		name: "bad overrides, all reported",
		doc:  "name = \"x\"\n",
		sets: []string{"blocks.count=0", "foo=1", "scales.bn_factor=1-2-x", "blocks", "stem=1", "input=3x32", "bottleneck=yes"},
		want: []string{
			"--set:1: blocks.count: 0 is out of range [1, 100] (--set blocks.count=0)",
			"--set:2: foo: unknown field (--set foo=1)",
			`--set:3: scales.bn_factor: want a list of integers like [1, 2, 4] or "1-2-4", got "1-2-x" (--set scales.bn_factor=1-2-x)`,
			"--set:4: blocks: want path=value (--set blocks)",
			"--set:5: stem: is a table; set one of its fields, e.g. stem.kind (--set stem=1)",
			"--set:6: input: want 3 numbers (channels, height, width), got 2 (--set input=3x32)",
			`--set:7: bottleneck: want true or false, got "yes" (--set bottleneck=yes)`,
		},
	},
	{
		name: "file and override problems together",
		doc:  "classes = -1\n[blocks]\nstep_mode = \"odd\"\n",
		sets: []string{"growth=3", "activation=swish"},
		want: []string{
			"t.toml:1: classes: -1 is out of range [1, 100000]",
			`t.toml:3: blocks.step_mode: "odd" is not one of "even", "lin_grow"`,
			`--set:2: activation: "swish" is not one of "relu", "gelu" (--set activation=swish)`,
		},
	},
	{
		// Lists that must agree in length: the override that broke the agreement is named,
		// not the file's line it disagrees with.
		name: "override of one of two lists that must agree",
		doc:  "[scales]\ngr_factor = [1, 2, 4]\nbn_factor = [1, 2, 4]\n",
		sets: []string{"scales.gr_factor=1-2"},
		want: []string{"--set:1: scales.gr_factor: has 2 entries and bn_factor 3; want one entry per scale (--set scales.gr_factor=1-2)"},
	},
	{
		name: "file lists that disagree",
		doc:  "[scales]\ngr_factor = [1, 2]\nbn_factor = [1, 2, 4]\n",
		want: []string{"t.toml:3: scales.bn_factor: has 3 entries and gr_factor 2; want one entry per scale"},
	},
}

// named appends a name override to sets: the malformed cases are about other problems,
// and many leave the name out, which is itself an error (TestParseNameless). Appended last,
// it leaves the index of every other override, and so their errors, as they are.
func named(sets []string) []string {
	return append(slices.Clone(sets), "name=t")
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("t.toml", []byte(tc.doc), named(tc.sets))
			if err == nil {
				t.Fatalf("Parse accepted the spec:\n%s", s.Canonical())
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	msdnet := &Spec{
		Name: "t", Input: [3]int{3, 32, 32}, Classes: 10, Activation: "relu",
		Channels: 32, Growth: 6, Reduction: 0.5, Bottleneck: true,
		Scales: Scales{GrFactor: []int{1, 2, 4}, BnFactor: []int{1, 2, 4}},
		Blocks: Blocks{Count: 1, Base: 4, Step: 1, StepMode: "even"},
		Fusion: Fusion{Rule: "msdnet", Prune: "max"},
		Stem:   Stem{Kind: "msdnet-cifar"},
		Head:   Head{Kind: "msdnet-cifar", Channels: 128},
	}
	ranet := &Spec{
		Name: "t", Input: [3]int{3, 32, 32}, Classes: 10, Activation: "relu",
		Channels: 16, Growth: 6, Reduction: 0.5, Bottleneck: true,
		Scales: Scales{GrFactor: []int{4, 2, 1, 1}, BnFactor: []int{4, 2, 1, 1}, Resolution: []int{1, 2, 3, 3}},
		Blocks: Blocks{Count: 2, Step: 4, StepMode: "even", BlockStep: 2},
		Fusion: Fusion{Rule: "ranet", CompressFactor: 0.25},
		Stem:   Stem{Kind: "msdnet-cifar"},
		Head:   Head{Kind: "msdnet-cifar", Channels: 128},
	}
	with := func(s *Spec, edit func(*Spec)) *Spec {
		c := *s
		edit(&c)
		return &c
	}
	tests := []struct {
		name string
		doc  string
		want *Spec
	}{
		{"name only", "name = \"t\"", msdnet},
		{"dense rule", "name = \"t\"\nfusion.rule = \"dense\"", with(msdnet, func(s *Spec) { s.Fusion.Rule = "dense" })},
		{"ranet rule", "name = \"t\"\n[fusion]\nrule = \"ranet\"", ranet},
		{"addad stem gets stride 1", "name = \"t\"\nstem.kind = \"addad-separable\"", with(msdnet, func(s *Spec) { s.Stem = Stem{Kind: "addad-separable", Stride: 1} })},
		{"imagenet head has no width", "name = \"t\"\nhead.kind = \"addad-imagenet\"", with(msdnet, func(s *Spec) { s.Head = Head{Kind: "addad-imagenet"} })},
		{"lists as reference strings", "name = \"t\"\n[scales]\ngr_factor = \"1-2-2\"\nbn_factor = \"1-1-1\"", with(msdnet, func(s *Spec) {
			s.Scales = Scales{GrFactor: []int{1, 2, 2}, BnFactor: []int{1, 1, 1}}
		})},
		{"name given", "name = \"mine\"", with(msdnet, func(s *Spec) { s.Name = "mine" })},
		{"integer for a float", "name = \"t\"\nreduction = 0", with(msdnet, func(s *Spec) { s.Reduction = 0 })},
		{"shape as a string", "name = \"t\"\ninput = \"1x28x28\"", with(msdnet, func(s *Spec) { s.Input = [3]int{1, 28, 28} })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("dir/t.toml", []byte(tc.doc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreOrigin); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	base := "name = \"x\"\n[blocks]\ncount = 5\nstep = 2\n"
	tests := []struct {
		name string
		sets []string
		edit func(*Spec)
	}{
		{"int", []string{"blocks.count=7"}, func(s *Spec) { s.Blocks.Count = 7 }},
		{"later wins", []string{"blocks.count=7", "blocks.count=8"}, func(s *Spec) { s.Blocks.Count = 8 }},
		{"float", []string{"reduction=0.25"}, func(s *Spec) { s.Reduction = 0.25 }},
		{"bool", []string{"bottleneck=false"}, func(s *Spec) { s.Bottleneck = false }},
		{"bare string", []string{"activation=gelu"}, func(s *Spec) { s.Activation = "gelu" }},
		{"quoted string", []string{`name="a b"`, "description='it''s'"}, func(s *Spec) { s.Name, s.Description = "a b", "it''s" }},
		{"dashed list", []string{"scales.gr_factor=1-2-2", "scales.bn_factor=1-1-1"}, func(s *Spec) {
			s.Scales.GrFactor, s.Scales.BnFactor = []int{1, 2, 2}, []int{1, 1, 1}
		}},
		{"bracketed list", []string{"scales.gr_factor=[1, 2]", "scales.bn_factor=1,2"}, func(s *Spec) {
			s.Scales.GrFactor, s.Scales.BnFactor = []int{1, 2}, []int{1, 2}
		}},
		{"shape", []string{"input=1x64x48"}, func(s *Spec) { s.Input = [3]int{1, 64, 48} }},
		{"shape bracketed", []string{"input=[3,40,40]"}, func(s *Spec) { s.Input = [3]int{3, 40, 40} }},
		{"empty value restores the default", []string{"blocks.step="}, func(s *Spec) { s.Blocks.Step = 1 }},
		{"spaces around", []string{" blocks.count = 3 "}, func(s *Spec) { s.Blocks.Count = 3 }},
		{"stem kind brings its stride default", []string{"stem.kind=addad-code"}, func(s *Spec) { s.Stem = Stem{Kind: "addad-code", Stride: 1} }},
	}
	want0, err := Parse("x.toml", []byte(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("x.toml", []byte(base), tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			want := *want0
			want.Scales.GrFactor = append([]int(nil), want0.Scales.GrFactor...)
			tc.edit(&want)
			if diff := cmp.Diff(&want, got, ignoreOrigin); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverrideExtends(t *testing.T) {
	// --set extends=... starts from another preset; --set extends= drops the file's.
	doc := "extends = \"msdnet-cifar10-anytime\"\nclasses = 100\n"
	got, err := Parse("x.toml", []byte(doc), []string{"extends=msdnet-cifar100-budget"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Preset("msdnet-cifar100-budget")
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != want.Hash() {
		t.Errorf("extends override: got\n%s\nwant\n%s", got.Canonical(), want.Canonical())
	}
	got, err = Parse("x.toml", []byte(doc), []string{"extends=", "name=x"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Channels != 32 || got.Classes != 100 {
		t.Errorf("without extends: channels %d classes %d, want defaults 32 and the file's 100", got.Channels, got.Classes)
	}
}

func TestErrorf(t *testing.T) {
	doc := "extends = \"msdnet-cifar10-anytime\"\n\n[head]\nkind = \"msdnet-cifar\"\n\n[blocks]\ncount = 4\n"
	s, err := Parse("my.toml", []byte(doc), []string{"growth=8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		field string
		want  string
	}{
		{"head.kind", "my.toml:4: head.kind: boom"},
		{"blocks.count", "my.toml:7: blocks.count: boom"},
		{"head.channels", "<preset msdnet-cifar10-anytime>:33: head.channels: boom (value from the preset named by extends)"},
		{"growth", "--set:1: growth: boom (--set growth=8)"},
		{"blocks.block_step", "my.toml:6: blocks.block_step: boom (default value)"},
		{"fusion.compress_factor", "<preset msdnet-cifar10-anytime>:24: fusion.compress_factor: boom (default value)"},
		{"nosuch", "my.toml: nosuch: boom (default value)"},
	}
	for _, tc := range tests {
		if got := s.Errorf(tc.field, "boom").Error(); got != tc.want {
			t.Errorf("Errorf(%q) = %q, want %q", tc.field, got, tc.want)
		}
	}
	// A Spec built in code has no origin; its errors name the spec.
	code := &Spec{Name: "coded"}
	if got, want := code.Errorf("classes", "bad %d", 3).Error(), "coded: classes: bad 3"; got != want {
		t.Errorf("Errorf without origin = %q, want %q", got, want)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(path, []byte("extends = \"ranet-cifar10\"\nclasses = 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := Resolve(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	preset, err := Resolve("ranet-cifar100", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.Hash() != preset.Hash() {
		t.Errorf("file extending ranet-cifar10 with 100 classes differs from ranet-cifar100:\n%s\n%s", fromFile.Canonical(), preset.Canonical())
	}
	if fromFile.Name != "mine" || fromFile.Description != "" {
		t.Errorf("name %q and description %q, want the file's base name mine and none: extends does not inherit them", fromFile.Name, fromFile.Description)
	}
	withSet, err := Resolve("ranet-cifar10", []string{"classes=100"})
	if err != nil {
		t.Fatal(err)
	}
	if withSet.Hash() != preset.Hash() {
		t.Errorf("preset plus --set classes=100 differs from ranet-cifar100")
	}
	for _, bad := range []string{"no-such-preset", filepath.Join(dir, "missing.toml")} {
		_, err := Resolve(bad, nil)
		var list ErrorList
		if !errors.As(err, &list) || len(list) != 1 || list[0].File != bad {
			t.Errorf("Resolve(%q) = %v, want one error naming it", bad, err)
		}
	}
}

func TestLoadFileName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.toml")
	tests := []struct {
		name string
		doc  string
		want string // the spec's name, or the error
	}{
		{"error names the file", "name = \"x\"\nclasses = 0\n", path + ":2: classes: 0 is out of range [1, 100000]"},
		{"name given", "name = \"x\"\n", "x"},
		{"extends defaults the name to the base name", "extends = \"msdnet-cifar10-small\"\n", "tiny"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			var got string
			s, err := Load(path, nil)
			if err != nil {
				got = err.Error()
			} else {
				got = s.Name
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("name or error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseNameless checks that a spec which writes neither a name nor extends is reported,
// at its file, rather than silently being the reference MSDNet (issue 12).
func TestParseNameless(t *testing.T) {
	nameless := `t.toml: name: a spec needs a name (or extends = "PRESET")`
	tests := []struct {
		name string
		doc  string
		sets []string
		want []string // errors; nil: accepted
	}{
		{"empty file", "", nil, []string{nameless}},
		{"comments only", "# my spec\n", nil, []string{nameless}},
		{"fields but no name", "channels = 16\n[blocks]\ncount = 3\n", nil, []string{nameless}},
		{"reported with the other problems", "classes = 0\n", nil, []string{
			nameless, "t.toml:1: classes: 0 is out of range [1, 100000]",
		}},
		{"override removes the only extends", "extends = \"msdnet-cifar10-small\"\n", []string{"extends="}, []string{nameless}},
		{"override removes the only name", "name = \"x\"\n", []string{"name="}, []string{nameless}},
		{"empty name", "name = \"\"\n", nil, []string{"t.toml:1: name: must not be empty"}},
		{"name in the file", "name = \"x\"\n", nil, nil},
		{"name from an override", "", []string{"name=x"}, nil},
		{"extends in the file", "extends = \"msdnet-cifar10-small\"\n", nil, nil},
		{"extends from an override", "", []string{"extends=msdnet-cifar10-small"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tc.doc), tc.sets)
			var got []string
			var list ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					got = append(got, e.Error())
				}
			} else if err != nil {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckSet(t *testing.T) {
	tests := []struct {
		text string
		want string // "" for no error
	}{
		{"growth=8", ""},
		{"scales.gr_factor=1-2-4", ""},
		{"fusion.prune=", ""},
		{"growth=eight", `want an integer, got "eight"`},
		{"blocks.cont=3", `unknown field (did you mean "blocks.count"?)`},
		{"blocks=3", "is a table; set one of its fields, e.g. blocks.count"},
		{"growth", "want path=value"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := ""
			if err := CheckSet(tt.text); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckSet(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}
