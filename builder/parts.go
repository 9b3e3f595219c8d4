package builder

import (
	"fmt"
	"strings"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// partSite is where the layers of a stem or head come from, for locating their problems.
type partSite struct {
	part   string // spec.PartStem or spec.PartHead
	kind   string // the shipped part's name; "" when declared in the spec or a part file
	field  string // "stem.layers" or "head.layers"
	prefix string // node name prefix: "stem" or "exitK"
}

// emitLayers emits a declared stem or head on node in and returns its last node. width is
// the value of "width" in its expressions. A layer that cannot be built fails the build
// with an error at the layer's line and field (for a part written in the spec or a part
// file) or at the field that chose the shipped part.
func (a *Arch) emitLayers(site partSite, layers []spec.Layer, in, width int) int {
	s := a.Spec
	vars := map[string]int{"width": width, "channels": s.Channels, "growth": s.Growth, "classes": s.Classes}
	if site.part == spec.PartStem {
		vars["stem.stride"] = s.Stem.Stride
	} else {
		vars["head.channels"] = s.Head.Channels
	}
	outputs := map[string]int{} // layer name -> its last node
	x := in
	for i, l := range layers {
		if a.B.Err() != nil {
			return x
		}
		fail := func(arg string, format string, args ...any) {
			a.B.Fail(a.layerError(site, i, l, arg, fmt.Sprintf(format, args...)))
		}
		sh := a.B.Shape(x)
		vars["in"] = sh.C
		eval := func(arg string, lo int) (int, bool) {
			v, err := spec.Expr(l.Args[arg]).Eval(vars, lo)
			if err != nil {
				fail(arg, "%s: %v", arg, err)
				return 0, false
			}
			return v, true
		}
		base := l.Base()
		name := func(suffix string) string {
			parts := []string{site.prefix}
			if base != "" {
				parts = append(parts, base)
			}
			if suffix != "" {
				parts = append(parts, suffix)
			}
			return strings.Join(parts, "/")
		}
		switch l.Op {
		case "conv":
			out, ok1 := eval("out", 1)
			k, ok2 := eval("kernel", 1)
			stride, ok3 := eval("stride", 1)
			pad, ok4 := eval("padding", 0)
			groups, ok5 := eval("groups", 1)
			if !(ok1 && ok2 && ok3 && ok4 && ok5) {
				return x
			}
			if sh.C%groups != 0 || out%groups != 0 {
				fail("groups", "%d groups cannot map %d to %d channels (both must be multiples of the groups)", groups, sh.C, out)
				return x
			}
			if !a.windowFits(sh, k, pad) {
				fail("kernel", "a %dx%d kernel with padding %d does not fit the %s input", k, k, pad, sh)
				return x
			}
			x = a.B.Add(name("conv"), graph.Op{Kind: graph.Conv, Out: out, Kernel: k, Stride: stride, Pad: pad, Groups: groups, Bias: l.Args["bias"] == "true"}, x)
			if l.Args["norm"] != "none" {
				x = a.bnAct(name(""), x, l.Args["act"])
			}
		case "bn":
			x = a.bnAct(name(""), x, l.Args["act"])
		case "maxpool", "avgpool":
			k, ok1 := eval("kernel", 1)
			stride, ok2 := eval("stride", 1)
			pad, ok3 := eval("padding", 0)
			if !(ok1 && ok2 && ok3) {
				return x
			}
			if 2*pad > k {
				fail("padding", "padding %d is more than half the %dx%d window", pad, k, k)
				return x
			}
			if !a.windowFits(sh, k, pad) {
				fail("kernel", "its input is %s, too small for a %dx%d window with padding %d", sh, k, k, pad)
				return x
			}
			kind := graph.MaxPool
			if l.Op == "avgpool" {
				kind = graph.AvgPool
			}
			x = a.B.Add(name(""), graph.Op{Kind: kind, Kernel: k, Stride: stride, Pad: pad}, x)
		case "adaptive_avgpool":
			x = a.B.Add(name(""), graph.Op{Kind: graph.AdaptiveAvgPool}, x)
		case "linear":
			out, ok := eval("out", 1)
			if !ok {
				return x
			}
			if _, given := l.Args["in"]; given {
				want, ok := eval("in", 1)
				if !ok {
					return x
				}
				if got := sh.Numel(); got != int64(want) {
					fail("in", "its %s input gives %d features to a linear layer built for %d", sh, got, want)
					return x
				}
			}
			x = a.B.Add(name(""), graph.Op{Kind: graph.Linear, Out: out, Bias: l.Args["bias"] == "true"}, x)
		case "add":
			from := outputs[l.Args["from"]]
			if other := a.B.Shape(from); other != sh {
				fail("from", "adds layer %q's %s output to a %s map; an add needs equal shapes", l.Args["from"], other, sh)
				return x
			}
			x = a.B.Add(name(""), graph.Op{Kind: graph.Add}, x, from)
		case "se":
			hidden, ok := eval("hidden", 1)
			if !ok {
				return x
			}
			x = a.squeezeExcite(name(""), x, hidden)
		default:
			// The spec checks ops against the layer registry; one missing here is a
			// programming error.
			panic(fmt.Sprintf("builder: layer op %q has no builder", l.Op))
		}
		if l.Name != "" {
			outputs[l.Name] = x
		}
	}
	return x
}

func (a *Arch) windowFits(sh graph.Shape, k, pad int) bool {
	return sh.H+2*pad >= k && sh.W+2*pad >= k
}

// layerError locates a problem with layer i of a part.
func (a *Arch) layerError(site partSite, i int, l spec.Layer, arg, msg string) error {
	s := a.Spec
	what := fmt.Sprintf("layer %d (%s", i+1, l.Op)
	if l.Name != "" {
		what += " " + l.Name
	}
	what += ")"
	if site.kind == "" {
		field := fmt.Sprintf("%s[%d]", site.field, i+1)
		if arg != "" {
			field += "." + arg
		}
		return s.Errorf(field, "%s: %s", what, msg)
	}
	if site.part == spec.PartHead {
		// The head's input follows from the input size, the stem and the number of scales;
		// the scale list is what users change, so the error points there.
		in := a.headInput
		return s.Errorf("scales.gr_factor", "%d scales on a %dx%d input make the coarsest map %dx%d, but head.kind %q cannot run on it: %s: %s; use head.kind = \"addad\" (adaptive pooling) or change the scales",
			len(s.Scales.GrFactor), s.Input[1], s.Input[2], in.H, in.W, site.kind, what, msg)
	}
	return s.Errorf("stem.kind", "stem %q, %s: %s", site.kind, what, msg)
}

// bnAct emits batch norm and an activation ("" for the spec's, "none" for none).
func (a *Arch) bnAct(name string, in int, act string) int {
	if name == "" {
		panic("builder: unnamed batch norm")
	}
	bn := a.B.Add(name+"/bn", graph.Op{Kind: graph.BatchNorm}, in)
	kind := a.Act
	switch act {
	case "none":
		return bn
	case spec.ActReLU:
		kind = graph.ReLU
	case spec.ActGELU:
		kind = graph.GELU
	}
	return a.B.Add(name+"/"+string(kind), graph.Op{Kind: kind}, bn)
}

// squeezeExcite emits the SE block of the code of Addad et al. (architectures.md §2.3) on
// in: a global average pool (a module there, so counted), a 1×1 conv with bias to hidden,
// GELU, a 1×1 conv with bias back, sigmoid and the channel rescale (functions there, which
// the reference counter never sees).
func (a *Arch) squeezeExcite(name string, in, hidden int) int {
	c := a.B.Shape(in).C
	x := a.B.Add(name+"/pool", graph.Op{Kind: graph.AdaptiveAvgPool}, in)
	x = a.B.Add(name+"/reduce", graph.Op{Kind: graph.Conv, Out: hidden, Kernel: 1, Stride: 1, Groups: 1, Bias: true}, x)
	x = a.B.Add(name+"/gelu", graph.Op{Kind: graph.GELU, Functional: true}, x)
	x = a.B.Add(name+"/expand", graph.Op{Kind: graph.Conv, Out: c, Kernel: 1, Stride: 1, Groups: 1, Bias: true}, x)
	x = a.B.Add(name+"/gate", graph.Op{Kind: graph.Sigmoid, Functional: true}, x)
	return a.B.Add(name+"/scale", graph.Op{Kind: graph.ChannelScale}, in, x)
}
