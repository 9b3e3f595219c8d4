// Package builder compiles a spec into a graph: the single description of a network that
// both the cost model (package flops) and the executable network (package nn) read.
//
// Stems, heads and MSDNet-family fusion wirings are declarations (spec.Layer, spec.Wiring:
// shipped part files, users' part files or tables in a spec), which the builder interprets;
// RANet's wiring is a rule registered in Go (RegisterWiring). Every node records its part
// (stem, layer, transition, head), and its op kind carries its own shape, parameter and cost
// rules (package graph), so any network that can be built can be costed. A declaration that
// cannot be built is reported at the file, line and field that declared it.
package builder

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// WiringFunc emits the whole body of a network (first layer, layers, transitions and the
// heads at every exit) for a fusion rule registered in Go: RANet's. The MSDNet-family
// wirings are declared (spec.Wiring) and interpreted by one builder.
type WiringFunc func(a *Arch)

var wirings = map[string]WiringFunc{}

// RegisterWiring adds a fusion rule written in Go; it panics on a duplicate name.
func RegisterWiring(name string, f WiringFunc) {
	if _, dup := wirings[name]; dup {
		panic(fmt.Sprintf("builder: fusion rule %q registered twice", name))
	}
	wirings[name] = f
}

// Wirings lists the fusion rules registered in Go, sorted.
func Wirings() []string {
	ks := make([]string, 0, len(wirings))
	for k := range wirings {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Arch is the state shared by the parts while one spec is built.
type Arch struct {
	// Spec is the spec being built.
	Spec *spec.Spec
	// B receives the nodes.
	B *graph.Builder
	// Act is the activation op kind after every batch norm.
	Act graph.Kind

	segment   int         // the exit the nodes being added lead to (1-based)
	headInput graph.Shape // the input of the head being built, for its errors
}

// Build compiles s into a graph. Configurations that cannot run are rejected with an error
// naming the spec field responsible.
func Build(s *spec.Spec) (*graph.Graph, error) {
	wiring := s.Wiring()
	wire, ok := wirings[s.Fusion.Rule]
	if wiring == nil && !ok {
		return nil, s.Errorf("fusion.rule", "unknown fusion rule %q (known: %v)", s.Fusion.Rule, append(spec.ShippedParts(spec.PartFusion), Wirings()...))
	}
	if wiring != nil {
		wire = func(a *Arch) { buildMSDNet(a, wiring) }
	}
	if s.StemLayers() == nil {
		return nil, s.Errorf("stem.kind", "unknown stem %q (known: %v)", s.Stem.Kind, spec.ShippedParts(spec.PartStem))
	}
	if s.HeadLayers() == nil {
		return nil, s.Errorf("head.kind", "unknown head %q (known: %v)", s.Head.Kind, spec.ShippedParts(spec.PartHead))
	}
	a := &Arch{
		Spec:    s,
		B:       graph.NewBuilder(s.Name, graph.Shape{C: s.Input[0], H: s.Input[1], W: s.Input[2]}),
		segment: 1,
	}
	switch s.Activation {
	case spec.ActReLU:
		a.Act = graph.ReLU
	case spec.ActGELU:
		a.Act = graph.GELU
	default:
		return nil, s.Errorf("activation", "unknown activation %q (known: relu, gelu)", s.Activation)
	}
	wire(a)
	g, err := a.B.Finish()
	if err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: cannot build the network: %w", s.Name, err)
	}
	return g, nil
}

// at labels the backbone nodes added next with their part, the current segment and a
// layer label.
func (a *Arch) at(part graph.Part, layer string) {
	a.B.SetPart(part)
	a.B.At(a.segment, layer)
}

// Stem emits the spec's stem on the image and returns its output, which must have channels
// channels (the finest scale's width).
func (a *Arch) Stem(image, channels int) int {
	s := a.Spec
	site := partSite{part: spec.PartStem, kind: s.Stem.Kind, field: "stem.layers", prefix: "stem"}
	if len(s.Stem.Layers) > 0 {
		site.kind = ""
	}
	out := a.emitLayers(site, s.StemLayers(), image, channels)
	if a.B.Err() == nil {
		if c := a.B.Shape(out).C; c != channels {
			layers := s.StemLayers()
			a.B.Fail(a.layerError(site, len(layers)-1, layers[len(layers)-1], "",
				fmt.Sprintf("the stem ends with %d channels; it must end with width = %d, the finest scale's channels", c, channels)))
		}
	}
	return out
}

// Exit emits the spec's head on node in as the next exit and starts the next segment.
func (a *Arch) Exit(in int) {
	if a.B.Err() != nil {
		return
	}
	s := a.Spec
	a.headInput = a.B.Shape(in)
	site := partSite{part: spec.PartHead, kind: s.Head.Kind, field: "head.layers", prefix: fmt.Sprintf("exit%d", a.segment)}
	if len(s.Head.Layers) > 0 {
		site.kind = ""
	}
	a.B.At(a.segment, "head")
	a.B.BeginHead()
	layers := s.HeadLayers()
	out := a.emitLayers(site, layers, in, a.headInput.C)
	if a.B.Err() == nil {
		if sh := a.B.Shape(out); sh != (graph.Shape{C: s.Classes, H: 1, W: 1}) {
			a.B.Fail(a.layerError(site, len(layers)-1, layers[len(layers)-1], "out",
				fmt.Sprintf("the head ends with a %s output; an exit needs %d logits (classes)", sh, s.Classes)))
		}
	}
	a.B.EndHead(out)
	a.segment++
}

// Conv emits a bias-free k×k conv with padding k/2.
func (a *Arch) Conv(name string, in, out, k, stride, groups int) int {
	return a.B.Add(name, graph.Op{Kind: graph.Conv, Out: out, Kernel: k, Stride: stride, Pad: k / 2, Groups: groups}, in)
}

// BNAct emits batch norm and the activation on in.
func (a *Arch) BNAct(name string, in int) int {
	bn := a.B.Add(name+"/bn", graph.Op{Kind: graph.BatchNorm}, in)
	return a.B.Add(name+"/"+string(a.Act), graph.Op{Kind: a.Act}, bn)
}

// ConvBasic emits conv, batch norm and activation (the references' ConvBasic).
func (a *Arch) ConvBasic(name string, in, out, k, stride int) int {
	return a.BNAct(name, a.Conv(name+"/conv", in, out, k, stride, 1))
}

// Unit emits the references' ConvBN as RANet uses it: an optional 1×1 bottleneck of width
// min(C_in, bnWidth·out), then a 3×3 conv (stride 2 for a down unit), each with batch
// norm and activation. (The MSDNet-family wirings' units are wiredUnit.)
func (a *Arch) Unit(name string, in, out, bnWidth int, down bool) int {
	x := in
	if a.Spec.Bottleneck {
		inner := min(a.B.Shape(in).C, bnWidth*out)
		x = a.ConvBasic(name+"/bottleneck", x, inner, 1, 1)
	}
	stride := 1
	if down {
		stride = 2
	}
	return a.ConvBasic(name+"/conv3x3", x, out, 3, stride)
}

// Concat emits a channel concatenation.
func (a *Arch) Concat(name string, in ...int) int {
	return a.B.Add(name, graph.Op{Kind: graph.Concat}, in...)
}

// MaxTransitionWidth is the most channels a transition may give one scale: larger
// reductions than 1 widen the network at every transition, and beyond this width its costs
// would overflow.
const MaxTransitionWidth = 1 << 20

// transitionFits checks that a transition from c channels (the running count) to
// floor(reduction·c), times gr on its widest scale, gives at least one channel and at most
// MaxTransitionWidth. Otherwise it fails the build with an error on the reduction field
// naming the transition (where) and returns false. While the build has failed already it
// returns false too.
func (a *Arch) transitionFits(c, gr int, where string) bool {
	if a.B.Err() != nil {
		return false
	}
	r := a.Spec.Reduction
	// In float64, as floorMul computes it, so that a huge reduction cannot overflow.
	reduced := math.Floor(r * float64(c))
	switch {
	case reduced < 1:
		a.B.Fail(a.Spec.Errorf("reduction", "%v gives floor(%v*%d) = 0 channels at the transition after %s; want at least 1/%d there, or 0 for no transitions",
			r, r, c, where, c))
		return false
	case reduced*float64(gr) > MaxTransitionWidth:
		a.B.Fail(a.Spec.Errorf("reduction", "%v gives floor(%v*%d)*%d = %.0f channels at the transition after %s, more than the %d msdx supports",
			r, r, c, gr, reduced*float64(gr), where, MaxTransitionWidth))
		return false
	}
	return true
}

// floorMul is floor(f·n) computed as the references do, in float64.
func floorMul(f float64, n int) int { return int(math.Floor(f * float64(n))) }
