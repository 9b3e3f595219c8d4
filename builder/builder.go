// Package builder compiles a spec into a graph: the single description of a network that
// both the cost model (package flops) and the executable network (package nn) read.
//
// Architectures are assembled from registered parts — stems, heads and fusion rules — in
// the manner of timm's model registry: each part is a function that emits graph nodes, and
// every node's op kind carries its own shape, parameter and cost rules (package graph), so
// any network that can be built can be costed.
package builder

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

// StemFunc emits the stem on the image and returns the node of the finest features, with
// channels output channels.
type StemFunc func(a *Arch, image int, channels int) int

// HeadFunc emits the classifier of one exit on node in and returns the logits node. It is
// called between graph.Builder.BeginHead and EndHead.
type HeadFunc func(a *Arch, in int) int

// HeadCheck reports, before anything is built, why a head cannot run on a map of the given
// shape; nil means it can.
type HeadCheck func(a *Arch, in graph.Shape) error

// WiringFunc emits the whole body of a network (first layer, layers, transitions and the
// heads at every exit) for one fusion rule.
type WiringFunc func(a *Arch)

type headKind struct {
	build HeadFunc
	check HeadCheck
}

var (
	stems   = map[string]StemFunc{}
	heads   = map[string]headKind{}
	wirings = map[string]WiringFunc{}
)

// RegisterStem adds a stem kind; it panics on a duplicate name.
func RegisterStem(name string, f StemFunc) { register(stems, "stem", name, f) }

// RegisterHead adds a head kind with the check of the map sizes it accepts.
func RegisterHead(name string, f HeadFunc, check HeadCheck) {
	register(heads, "head", name, headKind{f, check})
}

// RegisterWiring adds a fusion rule.
func RegisterWiring(name string, f WiringFunc) { register(wirings, "fusion rule", name, f) }

func register[T any](m map[string]T, what, name string, v T) {
	if _, dup := m[name]; dup {
		panic(fmt.Sprintf("builder: %s %q registered twice", what, name))
	}
	m[name] = v
}

// Stems, Heads and Wirings list the registered part names, sorted.
func Stems() []string   { return keys(stems) }
func Heads() []string   { return keys(heads) }
func Wirings() []string { return keys(wirings) }

func keys[T any](m map[string]T) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
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

	segment int // the exit the nodes being added lead to (1-based)
}

// Build compiles s into a graph. Configurations that cannot run are rejected with an error
// naming the spec field responsible.
func Build(s *spec.Spec) (*graph.Graph, error) {
	wire, ok := wirings[s.Fusion.Rule]
	if !ok {
		return nil, s.Errorf("fusion.rule", "unknown fusion rule %q (known: %v)", s.Fusion.Rule, Wirings())
	}
	if _, ok := stems[s.Stem.Kind]; !ok {
		return nil, s.Errorf("stem.kind", "unknown stem %q (known: %v)", s.Stem.Kind, Stems())
	}
	if _, ok := heads[s.Head.Kind]; !ok {
		return nil, s.Errorf("head.kind", "unknown head %q (known: %v)", s.Head.Kind, Heads())
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

// Stem emits the spec's stem.
func (a *Arch) Stem(image, channels int) int { return stems[a.Spec.Stem.Kind](a, image, channels) }

// Exit emits the spec's head on node in as the next exit, after checking that the head can
// run on in's map, and starts the next segment.
func (a *Arch) Exit(in int) {
	h := heads[a.Spec.Head.Kind]
	if a.B.Err() != nil {
		return
	}
	if err := h.check(a, a.B.Shape(in)); err != nil {
		a.B.Fail(err)
		return
	}
	a.B.At(a.segment, "head")
	a.B.BeginHead()
	out := h.build(a, in)
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

// Depthwise emits a k×k depthwise conv with batch norm and activation.
func (a *Arch) Depthwise(name string, in, k, stride int) int {
	c := a.B.Shape(in).C
	return a.BNAct(name, a.Conv(name+"/conv", in, c, k, stride, c))
}

// Unit emits the references' ConvBN: an optional 1×1 bottleneck of width
// min(C_in, bnWidth·out), then a 3×3 conv (stride 2 for a down unit), each with batch
// norm and activation.
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
