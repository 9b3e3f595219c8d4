package spec

import (
	"fmt"
	"math"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// Bounds on the numbers in a spec. They are far above every published configuration and
// keep what the builder has to construct small enough to count and allocate.
const (
	MaxInputChannels = 4
	MinInputSize     = 8
	MaxInputSize     = 2048
	MaxClasses       = 100000
	MaxChannels      = 1024 // channels and head.channels
	MaxGrowth        = 256
	MaxFactor        = 16 // each entry of gr_factor and bn_factor
	MaxScales        = 8
	MaxBlocks        = 100 // blocks.count
	MaxBlockLayers   = 100 // blocks.base and blocks.step
	MaxBlockStep     = 20
	MaxLayers        = 500 // layers in the whole network
)

// Activations.
const (
	ActReLU = "relu"
	ActGELU = "gelu"
)

// Step modes.
const (
	StepEven    = "even"     // every block after the first has blocks.step layers
	StepLinGrow = "lin_grow" // MSDNet: block i+1 has step*i+1 layers
	StepLG      = "lg"       // RANet: block j has step*j layers
)

// Prune schedules (MSDNet and dense rules).
const (
	PruneMax = "max"
	PruneMin = "min"
)

// validator collects the problems of one resolved Spec.
type validator struct {
	s    *Spec
	errs ErrorList
}

func (v *validator) errorf(field, format string, args ...any) {
	v.errs = append(v.errs, v.s.Errorf(field, format, args...))
}

// given reports whether path was written by some source rather than defaulted.
func (v *validator) given(path string) bool {
	if v.s.Origin == nil {
		return false
	}
	_, ok := v.s.Origin.Fields[path]
	return ok
}

// overridden reports whether path's value came from a --set override.
func (v *validator) overridden(path string) bool {
	return v.s.Origin != nil && v.s.Origin.Fields[path].File == setFile
}

// blame picks, among fields that conflict, the first of the paths that a --set override
// wrote (the override caused the conflict, not the file it changed), else the first that
// was written, else the first.
func (v *validator) blame(paths ...string) string {
	for _, p := range paths {
		if v.overridden(p) {
			return p
		}
	}
	for _, p := range paths {
		if v.given(p) {
			return p
		}
	}
	return paths[0]
}

// lengths reports that lists a and b, of na and nb entries, differ in length: against
// a, unless an override wrote b and not a (the override caused it); want says what the
// entries are for.
func (v *validator) lengths(a string, na int, b string, nb int, want string) {
	if v.overridden(b) && !v.overridden(a) {
		a, na, b, nb = b, nb, a, na
	}
	v.errorf(a, "has %d entries and %s %d; want %s", na, b[strings.LastIndexByte(b, '.')+1:], nb, want)
}

func (v *validator) intRange(field string, x, lo, hi int) bool {
	if x < lo || x > hi {
		v.errorf(field, "%d is out of range [%d, %d]", x, lo, hi)
		return false
	}
	return true
}

func (v *validator) oneOf(field, x string, allowed ...string) bool {
	for _, a := range allowed {
		if x == a {
			return true
		}
	}
	v.errorf(field, "%q is not one of %s", x, quoteList(allowed))
	return false
}

// notApplicable rejects a value written for a field that the rest of the spec does not use.
func (v *validator) notApplicable(field string, isSet bool, why string) {
	if isSet {
		v.errorf(field, "not used %s", why)
	}
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// Validate checks a Spec built in code (or edited after loading) and returns every problem
// as an ErrorList, or nil. Load, Parse and Resolve already validate what they return.
func (s *Spec) Validate() error {
	if errs := validate(s); len(errs) > 0 {
		return errs
	}
	return nil
}

// validate checks every field and every combination that the spec alone decides. Checks that
// need the built graph's shapes (for example the MSDNet CIFAR head's 8x8 map) are the
// builder's.
func validate(s *Spec) ErrorList {
	v := &validator{s: s}

	if s.Input[0] < 1 || s.Input[0] > MaxInputChannels {
		v.errorf("input", "%d channels is out of range [1, %d]", s.Input[0], MaxInputChannels)
	}
	for i, dim := range []string{"height", "width"} {
		if x := s.Input[i+1]; x < MinInputSize || x > MaxInputSize {
			v.errorf("input", "%s %d is out of range [%d, %d]", dim, x, MinInputSize, MaxInputSize)
		}
	}
	v.intRange("classes", s.Classes, 1, MaxClasses)
	v.oneOf("activation", s.Activation, ActReLU, ActGELU)
	v.intRange("channels", s.Channels, 1, MaxChannels)
	growthOK := v.intRange("growth", s.Growth, 1, MaxGrowth)
	if !(s.Reduction >= 0) || math.IsInf(s.Reduction, 1) {
		v.errorf("reduction", "%v is out of range: want a finite reduction >= 0 (0 disables transitions)", s.Reduction)
	}

	rule := s.Fusion.Rule
	ranet := rule == RuleRANet
	var wiring *Wiring
	ruleOK := true
	switch {
	case len(s.Fusion.Units) > 0 && rule != "":
		v.errorf("fusion.units", "fusion.rule %q names the wiring and fusion.units declares it; write one of them", rule)
		ruleOK = false
	case len(s.Fusion.Units) > 0:
		wiring = s.Wiring()
		for _, e := range checkWiring(wiring, v.s.Errorf, "fusion.") {
			v.errs = append(v.errs, e)
			ruleOK = false
		}
	case rule == "":
		v.errorf("fusion.rule", "a spec needs a fusion: a rule (%s) or fusion.units", quoteList(append(ShippedParts(PartFusion), RuleRANet)))
		ruleOK = false
	case !ranet:
		ruleOK = v.oneOf("fusion.rule", rule, append(ShippedParts(PartFusion), RuleRANet)...)
		wiring = s.Wiring()
	}
	if ranet || !ruleOK {
		v.notApplicable("fusion.drop_finer", s.Fusion.DropFiner && len(s.Fusion.Units) == 0, "without fusion.units")
	}

	// Scales.
	gr, bn := s.Scales.GrFactor, s.Scales.BnFactor
	factorsOK := true
	if len(gr) < 1 || len(gr) > MaxScales {
		v.errorf("scales.gr_factor", "has %d entries; want 1 to %d scales", len(gr), MaxScales)
		factorsOK = false
	}
	if len(bn) != len(gr) {
		v.lengths("scales.bn_factor", len(bn), "scales.gr_factor", len(gr), "one entry per scale")
		factorsOK = false
	}
	for _, list := range []struct {
		path string
		xs   []int
	}{{"scales.gr_factor", gr}, {"scales.bn_factor", bn}} {
		for i, x := range list.xs {
			if x < 1 || x > MaxFactor {
				v.errorf(list.path, "entry %d is %d; want 1 to %d", i+1, x, MaxFactor)
				factorsOK = false
			}
		}
	}
	res := s.Scales.Resolution
	if ranet {
		switch {
		case len(res) == 0:
			v.errorf("scales.resolution", "the ranet rule needs one resolution per flow, e.g. [1, 2, 3, 3]")
		case len(res) != len(gr):
			v.lengths("scales.resolution", len(res), "scales.gr_factor", len(gr), "one entry per flow")
		default:
			for i, r := range res {
				prev := 1
				if i > 0 {
					prev = res[i-1]
				}
				if i == 0 && r != 1 || i > 0 && r != prev && r != prev+1 {
					v.errorf("scales.resolution", "%s is not a resolution list: want it to start at 1 and rise by 0 or 1 per flow, e.g. [1, 2, 3, 3]", tomlconf.Ints(res))
					break
				}
			}
		}
	} else {
		v.notApplicable("scales.resolution", len(res) > 0, "by fusion rule "+quote(rule)+" (only by ranet)")
	}

	// Blocks.
	b := s.Blocks
	countOK := v.intRange("blocks.count", b.Count, 1, MaxBlocks)
	stepOK := v.intRange("blocks.step", b.Step, 1, MaxBlockLayers)
	var modeOK bool
	if ranet {
		modeOK = v.oneOf("blocks.step_mode", b.StepMode, StepEven, StepLG)
		v.notApplicable("blocks.base", b.Base != 0, "by fusion rule ranet (every RANet block has blocks.step layers, or step*j with lg)")
		blockStepOK := v.intRange("blocks.block_step", b.BlockStep, 1, MaxBlockStep)
		if countOK && stepOK && modeOK && blockStepOK && len(gr) <= MaxScales {
			if n := ranetLayers(b, len(gr)); n > MaxLayers {
				v.errorf(v.blame("blocks.count", "blocks.step", "blocks.block_step"), "the network would have %d layers; at most %d", n, MaxLayers)
			}
		}
	} else {
		modeOK = v.oneOf("blocks.step_mode", b.StepMode, StepEven, StepLinGrow)
		baseOK := v.intRange("blocks.base", b.Base, 1, MaxBlockLayers)
		v.notApplicable("blocks.block_step", b.BlockStep != 0, "by fusion rule "+quote(rule)+" (only by ranet)")
		if countOK && stepOK && modeOK && baseOK {
			if n := msdnetLayers(b); n > MaxLayers {
				v.errorf(v.blame("blocks.count", "blocks.step", "blocks.base"), "the network would have %d layers; at most %d", n, MaxLayers)
			}
		}
	}

	if wiring != nil && growthOK && factorsOK && countOK && stepOK && modeOK && b.Base >= 1 && b.Base <= MaxBlockLayers && msdnetLayers(b) <= MaxLayers && (s.Fusion.Prune == PruneMax || s.Fusion.Prune == PruneMin) {
		v.checkSplits(wiring)
	}

	// The attention last block.
	switch {
	case !b.Attention:
		v.notApplicable("blocks.attention_width", b.AttentionWidth != 0, "without blocks.attention = true")
	case ranet:
		v.errorf(v.blame("blocks.attention", "fusion.rule"), "the attention last block belongs to the msdnet-family wirings, not to ranet")
	case b.Count < 2:
		v.errorf(v.blame("blocks.attention", "blocks.count"), "the attention block replaces the last block, so a network with it needs at least 2 blocks, not %d", b.Count)
	case v.intRange("blocks.attention_width", b.AttentionWidth, 1, MaxChannels) && factorsOK:
		if w := b.AttentionWidth * gr[len(gr)-1]; w%AttentionHeadDim != 0 {
			v.errorf(v.blame("blocks.attention_width", "scales.gr_factor"), "attention_width %d x gr_factor[%d] %d = %d channels do not split into attention heads of %d", b.AttentionWidth, len(gr), gr[len(gr)-1], w, AttentionHeadDim)
		}
	}

	// Fusion.
	f := s.Fusion
	if !ranet {
		v.notApplicable("fusion.se_hidden", f.SEHidden != "" && !f.SE, "without fusion.se = true")
		if f.SE && f.SEHidden != "" {
			if used, err := f.SEHidden.Vars(); err != nil {
				v.errorf("fusion.se_hidden", "%v", err)
			} else {
				for _, u := range used {
					if u != "new" && u != "out" && u != "in" {
						v.errorf("fusion.se_hidden", "unknown name %q in %q (an SE width may use new, out and in)", u, f.SEHidden)
						break
					}
				}
			}
		}
	} else {
		v.notApplicable("fusion.se", f.SE, "by fusion rule ranet (SE blocks go on the units of a declared wiring)")
		v.notApplicable("fusion.se_hidden", f.SEHidden != "", "by fusion rule ranet")
	}
	if ranet {
		v.notApplicable("fusion.prune", f.Prune != "", "by fusion rule ranet")
		if !(f.CompressFactor > 0 && f.CompressFactor < 1) {
			v.errorf("fusion.compress_factor", "%v is out of range: want 0 < compress_factor < 1", f.CompressFactor)
		} else if growthOK && factorsOK {
			for i := 1; i < len(gr); i++ {
				g := s.Growth * gr[i]
				low := int(math.Floor(float64(g) * f.CompressFactor))
				if low < 1 || g-low < 1 {
					v.errorf(v.blame("fusion.compress_factor", "growth", "scales.gr_factor"), "flow %d grows %d channels per layer, split %d from the lower flow and %d from its own; both parts must be at least 1",
						i+1, g, low, g-low)
					break
				}
			}
		}
	} else if ruleOK {
		v.oneOf("fusion.prune", f.Prune, PruneMax, PruneMin)
		v.notApplicable("fusion.compress_factor", f.CompressFactor != 0, "by fusion rule "+quote(rule)+" (only by ranet)")
	}

	// Stem.
	v.checkPart(PartStem, s.Stem.Kind, s.Stem.Layers, "stem.kind", "stem.layers")
	stemLayers := s.StemLayers()
	if stemLayers != nil {
		if layersUse(stemLayers, "stem.stride") {
			if s.Stem.Stride != 1 && s.Stem.Stride != 2 {
				v.errorf("stem.stride", "%d is neither 1 (CIFAR) nor 2 (ImageNet)", s.Stem.Stride)
			}
		} else {
			v.notApplicable("stem.stride", s.Stem.Stride != 0, "by stem "+v.partLabel(s.Stem.Kind)+" (only by stems whose layers use stem.stride, such as the addad stems)")
		}
		if p := ShippedPart(PartStem, s.Stem.Kind); ranet && p != nil && p.Family != "" {
			v.errorf(v.blame("stem.kind", "fusion.rule"), "the %s stem is defined for the msdnet-family wirings only; ranet uses %q or %q", s.Stem.Kind, StemMSDNetCIFAR, StemMSDNetImageNet)
		}
	}

	// Head.
	v.checkPart(PartHead, s.Head.Kind, s.Head.Layers, "head.kind", "head.layers")
	if headLayers := s.HeadLayers(); headLayers != nil {
		if layersUse(headLayers, "head.channels") {
			v.intRange("head.channels", s.Head.Channels, 1, MaxChannels)
		} else {
			v.notApplicable("head.channels", s.Head.Channels != 0, "by head "+v.partLabel(s.Head.Kind)+" (it works at its input width)")
		}
	}
	return v.errs
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// partLabel names a stem or head in messages: its kind, or "declared here".
func (v *validator) partLabel(kind string) string {
	if kind == "" {
		return "(declared in the spec)"
	}
	return quote(kind)
}

// checkPart checks a stem or head: a shipped part named by kind, or layers declared in
// the spec (checked against the layer registry).
func (v *validator) checkPart(part, kind string, layers []Layer, kindField, layersField string) {
	switch {
	case kind != "" && len(layers) > 0:
		v.errorf(layersField, "%s names the part and %s declares it; write one of them", kindField, layersField)
	case len(layers) > 0:
		v.errs = append(v.errs, checkLayers(part, layers, v.s.Errorf, layersField)...)
	case kind == "":
		v.errorf(kindField, "a spec needs a %s: a shipped one (%s), a part file or %s", part, quoteList(ShippedParts(part)), layersField)
	default:
		v.oneOf(kindField, kind, ShippedParts(part)...)
	}
}

// checkSplits checks, on every layer of the schedule, that the units of the wiring that
// run on each kept scale split its new channels into whole shares of at least one.
func (v *validator) checkSplits(w *Wiring) {
	s := v.s
	gr := s.Scales.GrFactor
	total := msdnetLayers(s.Blocks)
	for n := 1; n <= total; n++ {
		in, out := ScaleSpan(s.Fusion.Prune, len(gr), n, total)
		for sc := len(gr) - out; sc < len(gr); sc++ {
			units := w.Present(sc, len(gr), in, out)
			newCh := s.Growth * gr[sc]
			if _, err := SplitChannels(newCh, units); err != nil {
				if len(units) == 2 && units[0].Weight == units[1].Weight {
					v.errorf(v.blame("scales.gr_factor", "growth"), "growth %d x gr_factor[%d] %d = %d new channels on scale %d is odd; the %s and %s units each make half, so it must be even",
						s.Growth, sc+1, gr[sc], newCh, sc+1, units[0].Name, units[1].Name)
				} else {
					v.errorf(v.blame("scales.gr_factor", "growth", "fusion.units"), "growth %d x gr_factor[%d] %d = %d new channels on scale %d (layer %d): %v",
						s.Growth, sc+1, gr[sc], newCh, sc+1, n, err)
				}
				return
			}
		}
	}
}

// msdnetLayers is the number of MSDN layers L of the msdnet and dense rules.
func msdnetLayers(b Blocks) int {
	n := b.Base
	for i := 1; i < b.Count; i++ {
		if b.StepMode == StepLinGrow {
			n += b.Step*i + 1
		} else {
			n += b.Step
		}
	}
	return n
}

// ranetLayers is the number of dense layers over all RANet flows.
func ranetLayers(b Blocks, flows int) int {
	n := 0
	for i := 0; i < flows; i++ {
		for j := 1; j <= b.Count+i*b.BlockStep; j++ {
			if b.StepMode == StepLG {
				n += b.Step * j
			} else {
				n += b.Step
			}
		}
	}
	return n
}
