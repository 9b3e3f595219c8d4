package builder_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/spec"
)

// writeFiles writes name -> content files into a fresh directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestShippedPartsAsDeclarations checks that a spec declaring the shipped parts' layers
// and units itself (inline, or through part files holding the shipped text) builds the very
// graph that naming the shipped parts builds.
func TestShippedPartsAsDeclarations(t *testing.T) {
	stem, _ := spec.ShippedPartSource(spec.PartStem, "addad-code")
	head, _ := spec.ShippedPartSource(spec.PartHead, "addad")
	fusion, _ := spec.ShippedPartSource(spec.PartFusion, "dense")
	dir := writeFiles(t, map[string]string{
		"parts/stem.toml":   string(stem),
		"parts/head.toml":   string(head),
		"parts/fusion.toml": string(fusion),
		"files.toml":        "extends = \"addad-cifar10\"\n[stem]\nkind = \"parts/stem.toml\"\n[head]\nkind = \"parts/head.toml\"\n[fusion]\nrule = \"parts/fusion.toml\"\n",
	})
	want, err := spec.Preset("addad-cifar10")
	if err != nil {
		t.Fatal(err)
	}
	files, err := spec.Load(filepath.Join(dir, "files.toml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The canonical form of the part-file spec writes the declarations inline.
	inline, err := spec.Parse("inline.toml", files.Canonical(), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, files.Canonical())
	}
	for _, s := range []*spec.Spec{files, inline} {
		if len(s.Stem.Layers) == 0 || len(s.Head.Layers) == 0 || len(s.Fusion.Units) == 0 {
			t.Fatalf("%s: declarations not expanded: %+v", s.Name, s)
		}
		gw, err := builder.Build(want)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := graphDigest(gw), graphDigest(g); a != b {
			t.Errorf("%s builds a different graph from the shipped parts'", s.Origin.File)
		}
	}
	if files.Hash() != inline.Hash() {
		t.Error("the part-file spec and its canonical form hash differently")
	}
}

// TestBadDeclarations checks that every kind of bad declaration is reported with the file,
// line and field that caused it, before anything is built or trained, and never panics.
func TestBadDeclarations(t *testing.T) {
	const base = "extends = \"addad-cifar10\"\n"
	tests := []struct {
		name  string
		files map[string]string // "spec.toml" is loaded
		want  []string
	}{
		{
			name:  "unknown op",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nop = \"conv3d\"\nout = \"width\"\n"},
			want:  []string{"spec.toml:3: stem.layers[1].op: unknown op \"conv3d\""},
		},
		{
			name: "add from a later layer",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nname = \"a\"\nop = \"add\"\nfrom = \"b\"\n" +
				"[[stem.layers]]\nname = \"b\"\nop = \"conv\"\nout = \"width\"\nkernel = 3\n"},
			want: []string{"spec.toml:5: stem.layers[1].from: layer \"b\" comes later"},
		},
		{
			name:  "add from nothing",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nop = \"conv\"\nout = \"width\"\nkernel = 3\n[[stem.layers]]\nop = \"add\"\nfrom = \"nope\"\n"},
			want:  []string{"spec.toml:8: stem.layers[2].from: no earlier layer is named \"nope\""},
		},
		{
			name:  "unknown name in a width",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nop = \"conv\"\nout = \"2*widht\"\nkernel = 3\n"},
			want:  []string{"spec.toml:4: stem.layers[1].out: unknown name \"widht\""},
		},
		{
			name:  "width not whole",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nname = \"a\"\nop = \"conv\"\nout = \"width/3\"\nkernel = 3\n[[stem.layers]]\nname = \"b\"\nop = \"conv\"\nout = \"width\"\nkernel = 1\n"},
			want:  []string{"spec.toml:5: stem.layers[1].out: layer 1 (conv a): out: \"width/3\" (width = 16) is 16/3, not a whole number"},
		},
		{
			name:  "width below 1",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nop = \"conv\"\nout = \"width-16\"\nkernel = 3\n"},
			want:  []string{"spec.toml:4: stem.layers[1].out: layer 1 (conv): out: \"width-16\" (width = 16) is 0; want at least 1"},
		},
		{
			name:  "kernel larger than the input",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nop = \"conv\"\nout = \"width\"\nkernel = 41\npadding = 0\n"},
			want:  []string{"spec.toml:5: stem.layers[1].kernel: layer 1 (conv): a 41x41 kernel with padding 0 does not fit the 3x32x32 input"},
		},
		{
			name: "add of different shapes",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nname = \"a\"\nop = \"conv\"\nout = \"width\"\nkernel = 3\n" +
				"[[stem.layers]]\nname = \"b\"\nop = \"conv\"\nout = \"width\"\nkernel = 3\nstride = 2\n[[stem.layers]]\nname = \"sum\"\nop = \"add\"\nfrom = \"a\"\n"},
			want: []string{"spec.toml:16: stem.layers[3].from: layer 3 (add sum): adds layer \"a\"'s 16x32x32 output to a 16x16x16 map; an add needs equal shapes"},
		},
		{
			name:  "stem of the wrong width",
			files: map[string]string{"spec.toml": base + "[[stem.layers]]\nop = \"conv\"\nout = \"2*width\"\nkernel = 3\n"},
			want:  []string{"spec.toml:2: stem.layers[1]: layer 1 (conv): the stem ends with 32 channels; it must end with width = 16"},
		},
		{
			name:  "head without a linear end",
			files: map[string]string{"spec.toml": base + "[[head.layers]]\nop = \"adaptive_avgpool\"\n"},
			want:  []string{"spec.toml:3: head.layers[1].op: a head must end with a linear layer"},
		},
		{
			name:  "linear built for other features",
			files: map[string]string{"spec.toml": base + "[[head.layers]]\nop = \"linear\"\nin = \"width\"\n"},
			want:  []string{"spec.toml:4: head.layers[1].in: layer 1 (linear): its 160x4x4 input gives 2560 features to a linear layer built for 160"},
		},
		{
			name:  "unknown argument",
			files: map[string]string{"spec.toml": base + "[[head.layers]]\nop = \"linear\"\nstride = 2\n"},
			want:  []string{"spec.toml:4: head.layers[1].stride: op \"linear\" has no argument \"stride\""},
		},
		{
			name: "bad part file",
			files: map[string]string{
				"spec.toml": base + "[stem]\nkind = \"stem.toml\"\nstride = 1\n",
				"stem.toml": "part = \"stem\"\n\n[[layers]]\nop = \"conv\"\nout = \"width\"\nkernel = \"3x3\"\n",
			},
			want: []string{"stem.toml:6: layers[1].kernel: unexpected \"x3\""},
		},
		{
			name:  "missing part file",
			files: map[string]string{"spec.toml": base + "[head]\nkind = \"heads/none.toml\"\n"},
			want:  []string{"spec.toml:3: head.kind: part file"},
		},
		{
			name:  "part of the wrong kind",
			files: map[string]string{"spec.toml": base + "[head]\nkind = \"f.toml\"\n", "f.toml": "part = \"fusion\"\n[[units]]\nfrom = \"self\"\n"},
			want:  []string{"f.toml:1: part: this file is a fusion part"},
		},
		{
			name:  "both a kind and layers",
			files: map[string]string{"spec.toml": "name = \"x\"\n[head]\nkind = \"addad\"\n[[head.layers]]\nop = \"linear\"\n"},
			want:  []string{"head.layers: head.kind names the part and head.layers declares it"},
		},
		{
			name:  "unit of an unknown source",
			files: map[string]string{"spec.toml": base + "[fusion]\nrule = \"\"\n[[fusion.units]]\nfrom = \"sideways\"\n"},
			want:  []string{"spec.toml:5: fusion.units[1].from: \"sideways\" is not one of"},
		},
		{
			name:  "wiring that reads both directions' outputs",
			files: map[string]string{"spec.toml": base + "[fusion]\n[[fusion.units]]\nfrom = \"finer\"\nstate = \"output\"\n[[fusion.units]]\nfrom = \"coarser\"\nstate = \"output\"\n[[fusion.units]]\nfrom = \"self\"\n"},
			want:  []string{"spec.toml:3: fusion.units: units read both a finer and a coarser scale's output"},
		},
		{
			name:  "shares that are not whole",
			files: map[string]string{"spec.toml": base + "[fusion]\n[[fusion.units]]\nfrom = \"finer\"\nweight = 4\n[[fusion.units]]\nfrom = \"self\"\n"},
			want:  []string{"scales.gr_factor: growth 6 x gr_factor[2] 2 = 12 new channels on scale 2 (layer 1): do not split into whole shares"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			s, err := spec.Load(filepath.Join(dir, "spec.toml"), nil)
			if err == nil {
				_, err = builder.Build(s)
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", msg, w)
				}
			}
		})
	}
}

// TestSECostsAsTheAuthorsCounter checks the SE blocks' cost against the counter rules of
// architectures.md §1 as the code of Addad et al. meets them: the global pool is a module
// (input numel), the two 1×1 convs have biases (counted in params, not in ops), and GELU,
// sigmoid and the product are function calls, not counted.
func TestSECostsAsTheAuthorsCounter(t *testing.T) {
	off, err := spec.Preset("addad-cifar10")
	if err != nil {
		t.Fatal(err)
	}
	on, err := spec.Resolve("addad-cifar10", []string{"fusion.se=true"})
	if err != nil {
		t.Fatal(err)
	}
	g0, err := builder.Build(off)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := builder.Build(on)
	if err != nil {
		t.Fatal(err)
	}
	// Count by hand, from the units' inputs in the SE-free graph: each unit's first conv
	// (bottleneck) reads the unit's input x with C channels at HxW; the SE block on x with
	// hidden (g·gr[s])//2 costs C·H·W (pool) + 2·C·hidden (two 1×1 convs on 1×1) and has
	// 2·C·hidden + hidden + C parameters.
	var macs, params int64
	for _, n := range g0.Nodes {
		if !strings.HasSuffix(n.Name, "/bottleneck/conv") || !strings.HasPrefix(n.Name, "layer") {
			continue
		}
		var sc int
		if _, err := fmtSscanScale(n.Name, &sc); err != nil {
			t.Fatal(err)
		}
		x := n.In[0]
		hidden := int64(on.Growth*on.Scales.GrFactor[sc]) / 2
		macs += x.Numel() + 2*int64(x.C)*hidden
		params += 2*int64(x.C)*hidden + hidden + int64(x.C)
	}
	t0, t1 := flops.Total(g0), flops.Total(g1)
	if t1.MACs-t0.MACs != macs || t1.Params-t0.Params != params {
		t.Errorf("SE blocks add %d MACs and %d params; the author's counter counts %d and %d", t1.MACs-t0.MACs, t1.Params-t0.Params, macs, params)
	}
	if macs == 0 {
		t.Fatal("no units found")
	}
}

// fmtSscanScale reads the scale index of a node named layerN/scaleS/....
func fmtSscanScale(name string, sc *int) (int, error) {
	parts := strings.Split(name, "/")
	return fmt.Sscanf(parts[1], "scale%d", sc)
}

// TestOverrideDeclaredArguments checks --set on single arguments of declared parts, which
// turn a named part into its declaration: MSDNet's wiring with its down unit reading the
// finer scale's output and no down unit at drop layers is exactly the dense wiring; a
// stem's kernel can be changed, its padding following.
func TestOverrideDeclaredArguments(t *testing.T) {
	build := func(preset string, sets ...string) string {
		t.Helper()
		s, err := spec.Resolve(preset, sets)
		if err != nil {
			t.Fatal(err)
		}
		g, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		return graphDigest(g)
	}
	dense := build("msdnet-cifar10-anytime", "fusion.rule=dense")
	if got := build("msdnet-cifar10-anytime", "fusion.units[1].state=output", "fusion.drop_finer=false"); got != dense {
		t.Error("msdnet's wiring with the finer unit reading the output and drop_finer = false is not the dense wiring")
	}
	if got := build("msdnet-cifar10-anytime"); got == dense {
		t.Fatal("the digests do not tell the wirings apart")
	}
	s, err := spec.Resolve("msdnet-cifar10-anytime", []string{"stem.layers[1].kernel=5"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if op := g.Nodes[0].Op; g.Nodes[0].Name != "stem/conv" || op.Kernel != 5 || op.Pad != 2 {
		t.Errorf("stem conv after --set stem.layers[1].kernel=5: %s %+v", g.Nodes[0].Name, op)
	}
	for _, bad := range []struct{ set, want string }{
		{"stem.layers[9].kernel=5", "--set:1: stem.layers[9].kernel: the part has 1 layers"},
		{"fusion.units[1].state=sideways", `--set:1: fusion.units[1].state: "sideways" is not one of`},
		{"head.layers[4].stride=2", `--set:1: head.layers[4].stride: op "linear" has no argument "stride"`},
	} {
		_, err := spec.Resolve("msdnet-cifar10-anytime", []string{bad.set})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("--set %s: error %v, want %q", bad.set, err, bad.want)
		}
	}
}

// TestExpandedPresetsBuildTheSame checks that every preset with its parts written out
// (msdx spec show --expand) builds the same graph, through its canonical form.
func TestExpandedPresetsBuildTheSame(t *testing.T) {
	for _, name := range spec.PresetNames() {
		s, err := spec.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		e, err := spec.Parse(name+"-expanded.toml", s.Expanded().Canonical(), nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, s.Expanded().Canonical())
		}
		g0, err := builder.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		g1, err := builder.Build(e)
		if err != nil {
			t.Fatal(err)
		}
		if graphDigest(g0) != graphDigest(g1) {
			t.Errorf("%s: the expanded spec builds a different graph", name)
		}
	}
}

// TestAttentionLastBlock checks the attention block that replaces the last block: the
// exits before it cost what they cost without it, the last head reads the block's output,
// and the block has the parameters its parts have (a 3x3 conv with batch norm, the
// positional 7x7 depthwise conv with bias, and per attention block: batch norm, attention
// (3W² + W² + W), two layer scales, the 7x7 depthwise conv with batch norm, and the 1x1
// convs W→2W→W with biases).
func TestAttentionLastBlock(t *testing.T) {
	off, err := spec.Preset("addad-cifar10")
	if err != nil {
		t.Fatal(err)
	}
	on, err := spec.Resolve("addad-cifar10", []string{"blocks.attention=true"})
	if err != nil {
		t.Fatal(err)
	}
	g0, err := builder.Build(off)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := builder.Build(on)
	if err != nil {
		t.Fatal(err)
	}
	e0, e1 := flops.Exits(g0), flops.Exits(g1)
	for k := 0; k < len(e0)-1; k++ {
		if e0[k].Totals != e1[k].Totals {
			t.Errorf("exit %d: %+v with the attention block, %+v without", k+1, e1[k].Totals, e0[k].Totals)
		}
	}
	last := g1.Exits[len(g1.Exits)-1]
	if in := g1.Nodes[g1.Nodes[last.Head[0]].Inputs[0]].Name; in != "attention/block2/add2" {
		t.Errorf("the last head reads %s", in)
	}
	var params, cin int64
	for _, n := range g1.Nodes {
		if strings.HasPrefix(n.Name, "attention/") {
			params += n.Params
			if n.Name == "attention/stem/conv" {
				cin = int64(n.In[0].C)
			}
		}
	}
	w := int64(96 * 4)
	block := 2*w + (4*w*w + w) + w + 49*w + 2*w + (2*w*w + 2*w) + (2*w*w + w) + w
	if want := cin*w*9 + 2*w + 49*w + w + 2*block; params != want {
		t.Errorf("attention block has %d parameters, want %d", params, want)
	}
}
