package spec

import (
	"fmt"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// kind is the type of a spec field, as TOML and --set see it.
type kind int

const (
	kindString kind = iota
	kindInt
	kindFloat
	kindBool
	kindInts  // a list of integers: [1, 2, 4] or "1-2-4"
	kindShape // an input shape: [3, 32, 32] or "3x32x32"
	kindExpr  // an Expr: an integer or an expression such as "new//2"
	// Declarations, written in files only (not with --set): a list of layers, a list of
	// wiring units.
	kindLayers
	kindUnits
)

// field is one leaf of the schema. The table drives decoding, --set overrides and the
// canonical form, so the three cannot disagree.
type field struct {
	path string
	kind kind
	// ptr returns a pointer to the field in s: *string, *int, *float64, *bool, *[]int or
	// *[3]int according to kind.
	ptr func(s *Spec) any
	// optional fields are left out of the canonical form when zero: they only apply to
	// some fusion rules or stem/head kinds.
	optional bool
}

// fieldPaths lists the path of every field, in schema order, for suggestions.
var fieldPaths = func() []string {
	paths := make([]string, len(fields))
	for i, f := range fields {
		paths[i] = f.path
	}
	return paths
}()

// fields is the schema, in canonical order.
var fields = []field{
	{path: "name", kind: kindString, ptr: func(s *Spec) any { return &s.Name }},
	{path: "description", kind: kindString, ptr: func(s *Spec) any { return &s.Description }, optional: true},
	{path: "extends", kind: kindString, ptr: func(s *Spec) any { return &s.Extends }, optional: true},
	{path: "input", kind: kindShape, ptr: func(s *Spec) any { return &s.Input }},
	{path: "classes", kind: kindInt, ptr: func(s *Spec) any { return &s.Classes }},
	{path: "activation", kind: kindString, ptr: func(s *Spec) any { return &s.Activation }},
	{path: "channels", kind: kindInt, ptr: func(s *Spec) any { return &s.Channels }},
	{path: "growth", kind: kindInt, ptr: func(s *Spec) any { return &s.Growth }},
	{path: "reduction", kind: kindFloat, ptr: func(s *Spec) any { return &s.Reduction }},
	{path: "bottleneck", kind: kindBool, ptr: func(s *Spec) any { return &s.Bottleneck }},
	{path: "scales.gr_factor", kind: kindInts, ptr: func(s *Spec) any { return &s.Scales.GrFactor }},
	{path: "scales.bn_factor", kind: kindInts, ptr: func(s *Spec) any { return &s.Scales.BnFactor }},
	{path: "scales.resolution", kind: kindInts, ptr: func(s *Spec) any { return &s.Scales.Resolution }, optional: true},
	{path: "blocks.count", kind: kindInt, ptr: func(s *Spec) any { return &s.Blocks.Count }},
	{path: "blocks.base", kind: kindInt, ptr: func(s *Spec) any { return &s.Blocks.Base }, optional: true},
	{path: "blocks.step", kind: kindInt, ptr: func(s *Spec) any { return &s.Blocks.Step }},
	{path: "blocks.step_mode", kind: kindString, ptr: func(s *Spec) any { return &s.Blocks.StepMode }},
	{path: "blocks.block_step", kind: kindInt, ptr: func(s *Spec) any { return &s.Blocks.BlockStep }, optional: true},
	{path: "blocks.attention", kind: kindBool, ptr: func(s *Spec) any { return &s.Blocks.Attention }, optional: true},
	{path: "blocks.attention_width", kind: kindInt, ptr: func(s *Spec) any { return &s.Blocks.AttentionWidth }, optional: true},
	{path: "fusion.rule", kind: kindString, ptr: func(s *Spec) any { return &s.Fusion.Rule }, optional: true},
	{path: "fusion.prune", kind: kindString, ptr: func(s *Spec) any { return &s.Fusion.Prune }, optional: true},
	{path: "fusion.compress_factor", kind: kindFloat, ptr: func(s *Spec) any { return &s.Fusion.CompressFactor }, optional: true},
	{path: "fusion.se", kind: kindBool, ptr: func(s *Spec) any { return &s.Fusion.SE }, optional: true},
	{path: "fusion.se_hidden", kind: kindExpr, ptr: func(s *Spec) any { return &s.Fusion.SEHidden }, optional: true},
	{path: "fusion.drop_finer", kind: kindBool, ptr: func(s *Spec) any { return &s.Fusion.DropFiner }, optional: true},
	{path: "fusion.units", kind: kindUnits, ptr: func(s *Spec) any { return &s.Fusion.Units }, optional: true},
	{path: "stem.kind", kind: kindString, ptr: func(s *Spec) any { return &s.Stem.Kind }, optional: true},
	{path: "stem.stride", kind: kindInt, ptr: func(s *Spec) any { return &s.Stem.Stride }, optional: true},
	{path: "stem.layers", kind: kindLayers, ptr: func(s *Spec) any { return &s.Stem.Layers }, optional: true},
	{path: "head.kind", kind: kindString, ptr: func(s *Spec) any { return &s.Head.Kind }, optional: true},
	{path: "head.channels", kind: kindInt, ptr: func(s *Spec) any { return &s.Head.Channels }, optional: true},
	{path: "head.layers", kind: kindLayers, ptr: func(s *Spec) any { return &s.Head.Layers }, optional: true},
}

// tables are the schema's sub-tables, in canonical order.
var tables = []string{"scales", "blocks", "fusion", "stem", "head"}

// fieldByPath finds a schema entry.
func fieldByPath(path string) (field, bool) {
	for _, f := range fields {
		if f.path == path {
			return f, true
		}
	}
	return field{}, false
}

// isTable reports whether path names one of the schema's tables.
func isTable(path string) bool {
	for _, t := range tables {
		if t == path {
			return true
		}
	}
	return false
}

// set stores v, which has the Go type of f.kind, into s.
func (f field) set(s *Spec, v any) {
	switch p := f.ptr(s).(type) {
	case *string:
		*p = v.(string)
	case *int:
		*p = v.(int)
	case *float64:
		*p = v.(float64)
	case *bool:
		*p = v.(bool)
	case *[]int:
		*p = append([]int(nil), v.([]int)...)
	case *[3]int:
		*p = v.([3]int)
	case *Expr:
		*p = v.(Expr)
	case *[]Layer:
		*p = cloneLayers(v.([]Layer))
	case *[]Unit:
		*p = append([]Unit(nil), v.([]Unit)...)
	default:
		panic(fmt.Sprintf("spec: field %s has pointer type %T", f.path, p))
	}
}

// maxInt bounds every integer in a spec; larger values cannot describe a network that
// could be built, and bounding them keeps every later product within int64.
const maxInt = 1 << 20

// fromTOML converts a decoded TOML value to f's Go type.
func (f field) fromTOML(v any) (any, error) {
	switch f.kind {
	case kindString:
		return tomlconf.DecodeString(v)
	case kindInt:
		return tomlInt(v)
	case kindExpr:
		text, err := argText(argDef{typ: argExpr}, v)
		return Expr(text), err
	case kindLayers, kindUnits:
		panic("spec: declarations are decoded with their lines (decodeLayer)")
	case kindFloat:
		return tomlconf.DecodeFloat(v)
	case kindBool:
		return tomlconf.DecodeBool(v)
	case kindInts:
		switch x := v.(type) {
		case string:
			return parseInts(x)
		case []any:
			return tomlInts(x)
		}
		return nil, fmt.Errorf(`want a list of integers like [1, 2, 4] or "1-2-4", got %s`, tomlconf.Describe(v))
	case kindShape:
		var list []int
		var err error
		switch x := v.(type) {
		case string:
			return parseShape(x)
		case []any:
			list, err = tomlInts(x)
		default:
			err = fmt.Errorf(`want [channels, height, width] like [3, 32, 32] or "3x32x32", got %s`, tomlconf.Describe(v))
		}
		if err != nil {
			return nil, err
		}
		return shapeOf(list)
	}
	panic("spec: unknown field kind")
}

// fromText converts a --set value to f's Go type.
func (f field) fromText(text string) (any, error) {
	text = strings.TrimSpace(text)
	switch f.kind {
	case kindString:
		return tomlconf.ParseString(text)
	case kindInt:
		return parseInt(text)
	case kindExpr:
		if _, err := Expr(text).Vars(); err != nil {
			return nil, err
		}
		return Expr(text), nil
	case kindLayers, kindUnits:
		return nil, fmt.Errorf("a declaration is written in a file; with --set, name a part file (e.g. stem.kind=parts/my-stem.toml)")
	case kindFloat:
		return tomlconf.ParseFloat(text)
	case kindBool:
		return tomlconf.ParseBool(text)
	case kindInts:
		return parseInts(text)
	case kindShape:
		return parseShape(text)
	}
	panic("spec: unknown field kind")
}

func tomlInt(v any) (int, error) {
	x, err := tomlconf.DecodeInt(v, maxInt)
	return int(x), err
}

func tomlInts(list []any) ([]int, error) {
	out := make([]int, len(list))
	for i, v := range list {
		x, err := tomlInt(v)
		if err != nil {
			return nil, fmt.Errorf("element %d: %v", i+1, err)
		}
		out[i] = x
	}
	return out, nil
}

func parseInt(text string) (int, error) {
	x, err := tomlconf.ParseInt(text, maxInt)
	return int(x), err
}

// parseInts reads "1-2-4" (the reference repos' style), "1,2,4" or "[1, 2, 4]".
func parseInts(text string) ([]int, error) {
	t := strings.TrimSpace(text)
	sep := "-"
	if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		t, sep = strings.TrimSpace(t[1:len(t)-1]), ","
	} else if strings.Contains(t, ",") {
		sep = ","
	}
	if t == "" {
		return nil, fmt.Errorf(`want a list of integers like [1, 2, 4] or "1-2-4", got %q`, text)
	}
	parts := strings.Split(t, sep)
	out := make([]int, len(parts))
	for i, p := range parts {
		x, err := parseInt(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf(`want a list of integers like [1, 2, 4] or "1-2-4", got %q`, text)
		}
		out[i] = x
	}
	return out, nil
}

// parseShape reads "3x32x32" or "[3, 32, 32]".
func parseShape(text string) ([3]int, error) {
	t := strings.TrimSpace(text)
	var list []int
	if strings.HasPrefix(t, "[") {
		l, err := parseInts(t)
		if err != nil {
			return [3]int{}, fmt.Errorf(`want [channels, height, width] like [3, 32, 32] or "3x32x32", got %q`, text)
		}
		list = l
	} else {
		for _, p := range strings.Split(t, "x") {
			x, err := parseInt(strings.TrimSpace(p))
			if err != nil {
				return [3]int{}, fmt.Errorf(`want [channels, height, width] like [3, 32, 32] or "3x32x32", got %q`, text)
			}
			list = append(list, x)
		}
	}
	return shapeOf(list)
}

func shapeOf(list []int) ([3]int, error) {
	if len(list) != 3 {
		return [3]int{}, fmt.Errorf("want 3 numbers (channels, height, width), got %d", len(list))
	}
	return [3]int{list[0], list[1], list[2]}, nil
}

func cloneLayers(layers []Layer) []Layer {
	out := make([]Layer, len(layers))
	for i, l := range layers {
		out[i] = Layer{Op: l.Op, Name: l.Name, Args: make(map[string]string, len(l.Args))}
		for k, v := range l.Args {
			out[i].Args[k] = v
		}
	}
	return out
}
