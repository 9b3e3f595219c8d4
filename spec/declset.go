package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// declSet is a --set override of one argument of a declared part: "stem.layers[2].kernel=5",
// "head.layers[1].out=2*width" or "fusion.units[1].state=output". A part named by kind or
// rule becomes its declaration, with the argument changed, so that exploration can vary one
// argument of a shipped part.
type declSet struct {
	path  string // the whole path, e.g. "fusion.units[1].state"
	list  string // "stem.layers", "head.layers" or "fusion.units"
	index int    // 1-based
	key   string
	value string
	pos   Pos
}

var declSetPath = regexp.MustCompile(`^(stem\.layers|head\.layers|fusion\.units)\[([0-9]{1,3})\]\.([a-z_]+)$`)

func parseDeclSet(path string) (declSet, bool) {
	m := declSetPath.FindStringSubmatch(path)
	if m == nil {
		return declSet{}, false
	}
	i, _ := strconv.Atoi(m[2])
	return declSet{path: path, list: m[1], index: i, key: m[3]}, true
}

// check checks what can be checked without the spec: the value's form.
func (d declSet) check() error {
	if d.index < 1 {
		return fmt.Errorf("entries are numbered from 1")
	}
	if d.value == "" {
		return fmt.Errorf("want a value (an argument of a declaration cannot be removed)")
	}
	if d.list == "fusion.units" {
		_, err := unitValue(d.key, d.value)
		return err
	}
	return nil
}

// unitValue converts a --set text to the TOML value a unit key takes.
func unitValue(key, text string) (any, error) {
	switch key {
	case "weight", "window", "kernel":
		n, err := parseInt(text)
		if err != nil {
			return nil, err
		}
		return int64(n), nil
	case "from", "state", "bottleneck", "name":
		return strings.Trim(text, `"'`), nil
	}
	return nil, fmt.Errorf("unknown key of a unit%s (keys: %s)", tomlconf.Suggest(key, unitKeys), strings.Join(unitKeys, ", "))
}

// applyDeclSet turns the part d overrides into a declaration if it is named, and changes
// the argument.
func (s *Spec) applyDeclSet(d declSet) *Error {
	fail := func(format string, args ...any) *Error {
		return &Error{File: d.pos.File, Line: d.pos.Line, Field: d.path, Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (--set %s)", d.pos.Text)}
	}
	switch d.list {
	case "fusion.units":
		if len(s.Fusion.Units) == 0 {
			w := s.Wiring()
			if w == nil {
				return fail("fusion rule %q declares no units", s.Fusion.Rule)
			}
			s.Fusion.Rule, s.Fusion.DropFiner, s.Fusion.Units = "", w.DropFiner, append([]Unit(nil), w.Units...)
		}
		if d.index > len(s.Fusion.Units) {
			return fail("the wiring has %d units", len(s.Fusion.Units))
		}
		u := s.Fusion.Units[d.index-1]
		raw := map[string]any{"from": u.From, "state": u.State, "weight": int64(u.Weight), "window": int64(u.Window), "bottleneck": u.Bottleneck, "kernel": int64(u.Kernel)}
		if u.Name != defaultUnitName(u.From) {
			raw["name"] = u.Name
		}
		v, _ := unitValue(d.key, d.value)
		raw[d.key] = v
		if d.key == "from" && raw["name"] == nil {
			delete(raw, "name")
		}
		units, errs := decodeUnits(d.pos.File, "units", []map[string]any{raw}, nil)
		if len(errs) > 0 {
			return fail("%s", errs[0].Msg)
		}
		s.Fusion.Units[d.index-1] = units[0]
	default:
		part, layers := &s.Stem.Layers, s.StemLayers()
		if d.list == "head.layers" {
			part, layers = &s.Head.Layers, s.HeadLayers()
		}
		if layers == nil {
			return fail("no such part to change")
		}
		if len(*part) == 0 {
			*part = cloneLayers(layers)
			if d.list == "head.layers" {
				s.Head.Kind = ""
			} else {
				s.Stem.Kind = ""
			}
		}
		if d.index > len(*part) {
			return fail("the part has %d layers", len(*part))
		}
		l := &(*part)[d.index-1]
		if d.key == "name" {
			l.Name = d.value
			return nil
		}
		op, _ := layerOpByName(l.Op)
		a, ok := op.arg(d.key)
		if !ok {
			return fail("op %q has no argument %q (arguments: %s)", op.Name, d.key, strings.Join(op.Args(), ", "))
		}
		var v any = d.value
		switch a.typ {
		case argBool:
			b, err := strconv.ParseBool(d.value)
			if err != nil {
				return fail("want true or false, got %q", d.value)
			}
			v = b
		case argExpr:
			if n, err := strconv.ParseInt(d.value, 10, 64); err == nil {
				v = n
			}
		}
		text, err := argText(a, v)
		if err != nil {
			return fail("%v", err)
		}
		// An argument that defaulted from the kernel (a conv's padding, a pool's stride)
		// follows it.
		if d.key == "kernel" {
			old := l.Args["kernel"]
			if l.Op == "conv" && l.Args["padding"] == halfOf(old) {
				l.Args["padding"] = halfOf(text)
			}
			if (l.Op == "maxpool" || l.Op == "avgpool") && l.Args["stride"] == old {
				l.Args["stride"] = text
			}
		}
		l.Args[d.key] = text
	}
	return nil
}

// halfOf is the default padding of a conv with the given kernel: kernel//2.
func halfOf(kernel string) string {
	if n, err := strconv.Atoi(kernel); err == nil {
		return strconv.Itoa(n / 2)
	}
	return "(" + kernel + ")//2"
}
