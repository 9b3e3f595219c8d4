package spec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// Wiring declares the fusion of an MSDNet-family network: what each new feature map at
// (scale s, layer l) is computed from. Every kept scale s of a layer gets g·gr[s] new
// channels, concatenated onto its running features in the order of Units; each unit that
// can run there gets a share of them in proportion to its weight (units whose source
// scale does not exist there, such as the finer scale of the finest kept scale, are left
// out and the others share the channels). MSDNet's wiring and the fusion of Addad et al.
// are the shipped parts "msdnet" and "dense" (spec/parts/fusion/).
type Wiring struct {
	// DropFiner says whether, at a layer that drops a scale, the first kept scale still
	// reads the dropped finer scale (as it entered the layer): MSDNet's down unit does,
	// the fusion of Addad et al. does not (the first kept scale is normal-only).
	DropFiner bool `json:"drop_finer"`
	// Units are the units that compute a scale's new channels, in concatenation order.
	Units []Unit `json:"units"`
}

// Unit is one unit of a wiring: a conv unit (an optional 1×1 bottleneck, then a k×k conv,
// each with batch norm and activation) run on one scale's features.
type Unit struct {
	// From is the scale the unit reads: "self" (this scale), "finer" (scale s-1, through
	// a stride-2 conv), "finer2" (scale s-2, stride 4) or "coarser" (scale s+1; the unit
	// runs at its resolution and its output is bilinearly upsampled).
	From string `json:"from"`
	// State is "input" (the source scale's features as they entered this layer) or
	// "output" (as this layer updated them: the finer scales are then computed first, or
	// the coarser ones). "self" reads its input.
	State string `json:"state"`
	// Weight is the unit's share of the new channels, relative to the other units that
	// run: each gets new·weight/total, which must be whole.
	Weight int `json:"weight"`
	// Window, if positive, makes the unit read only the features the last Window layers
	// added to the source scale (the first layer's or a transition's output counting as
	// one), rather than all of them.
	Window int `json:"window,omitempty"`
	// Bottleneck sizes the unit's 1×1 bottleneck as min(C_in, bn·out) with bn the
	// bn_factor of the "source" scale (MSDNet) or of the "target" scale; "none" leaves the
	// bottleneck out. The spec's bottleneck = false leaves out every unit's.
	Bottleneck string `json:"bottleneck"`
	// Kernel is the unit's conv kernel (odd, padding kernel/2).
	Kernel int `json:"kernel"`
	// Name names the unit's nodes: layerL/scaleS/NAME/...; default "normal" for self,
	// "down" for finer, "down2" for finer2, "up" for coarser.
	Name string `json:"name"`
}

// Unit sources.
const (
	FromSelf    = "self"
	FromFiner   = "finer"
	FromFiner2  = "finer2"
	FromCoarser = "coarser"
)

// Offset returns the scale offset of the unit's source: 0, -1, -2 or +1.
func (u Unit) Offset() int {
	switch u.From {
	case FromFiner:
		return -1
	case FromFiner2:
		return -2
	case FromCoarser:
		return 1
	}
	return 0
}

var unitKeys = []string{"from", "state", "weight", "window", "bottleneck", "kernel", "name"}

// wiringKeys are the keys of a fusion part file besides part and description.
var wiringKeys = []string{"drop_finer", "units"}

func wiringKey(k string) bool {
	for _, w := range wiringKeys {
		if k == w {
			return true
		}
	}
	return false
}

func defaultUnitName(from string) string {
	switch from {
	case FromFiner:
		return "down"
	case FromFiner2:
		return "down2"
	case FromCoarser:
		return "up"
	}
	return "normal"
}

// decodeWiring reads drop_finer and units from a fusion part (prefix "") or a spec's
// [fusion] table (prefix "fusion.").
func decodeWiring(file, prefix string, raw map[string]any, lines tomlconf.Lines) (*Wiring, ErrorList) {
	var errs ErrorList
	bad := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: lines.Of(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	w := &Wiring{}
	if v, ok := raw["drop_finer"]; ok {
		if b, isBool := v.(bool); isBool {
			w.DropFiner = b
		} else {
			bad(prefix+"drop_finer", "want true or false, got %s", tomlconf.Describe(v))
		}
	}
	units, uerrs := decodeUnits(file, prefix+"units", raw["units"], lines)
	errs = append(errs, uerrs...)
	w.Units = units
	if len(errs) > 0 {
		return nil, errs
	}
	errs = append(errs, checkWiring(w, func(field, format string, args ...any) *Error {
		return &Error{File: file, Line: lines.Of(field), Field: field, Msg: fmt.Sprintf(format, args...)}
	}, prefix)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return w, nil
}

func decodeUnits(file, at string, v any, lines tomlconf.Lines) ([]Unit, ErrorList) {
	var errs ErrorList
	bad := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: lines.Of(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	var list []map[string]any
	switch x := v.(type) {
	case nil:
		bad(at, "a wiring needs units ([[units]] tables with from = \"self\", \"finer\", ...)")
		return nil, errs
	case []map[string]any:
		list = x
	case []any:
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				bad(at, "want a list of unit tables, got an element that is %s", tomlconf.Describe(e))
				return nil, errs
			}
			list = append(list, m)
		}
	default:
		bad(at, "want a list of unit tables, got %s", tomlconf.Describe(v))
		return nil, errs
	}
	if len(list) == 0 || len(list) > MaxUnits {
		bad(at, "has %d units; want 1 to %d", len(list), MaxUnits)
		return nil, errs
	}
	var units []Unit
	for i, m := range list {
		base := fmt.Sprintf("%s[%d]", at, i+1)
		u := Unit{State: "input", Weight: 1, Bottleneck: "source", Kernel: 3}
		for _, k := range sortedKeys(m) {
			val := m[k]
			field := base + "." + k
			str := func(words ...string) (string, bool) {
				s, ok := val.(string)
				if !ok {
					bad(field, "want a string, got %s", tomlconf.Describe(val))
					return "", false
				}
				if words == nil {
					return s, true
				}
				for _, w := range words {
					if s == w {
						return s, true
					}
				}
				bad(field, "%q is not one of %s", s, quoteList(words))
				return "", false
			}
			integer := func(lo, hi int) (int, bool) {
				n, err := tomlInt(val)
				if err == nil && (n < lo || n > hi) {
					err = fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
				}
				if err != nil {
					bad(field, "%v", err)
					return 0, false
				}
				return n, true
			}
			switch k {
			case "from":
				if s, ok := str(FromSelf, FromFiner, FromFiner2, FromCoarser); ok {
					u.From = s
				}
			case "state":
				if s, ok := str("input", "output"); ok {
					u.State = s
				}
			case "weight":
				if n, ok := integer(1, MaxUnitWeight); ok {
					u.Weight = n
				}
			case "window":
				if n, ok := integer(0, MaxLayers); ok {
					u.Window = n
				}
			case "bottleneck":
				if s, ok := str("source", "target", "none"); ok {
					u.Bottleneck = s
				}
			case "kernel":
				if n, ok := integer(1, 15); ok {
					if n%2 == 0 {
						bad(field, "%d is even; a unit's kernel is odd (padding kernel/2 keeps the size)", n)
					} else {
						u.Kernel = n
					}
				}
			case "name":
				if s, ok := str(); ok {
					u.Name = s
				}
			default:
				bad(field, "unknown key in a unit%s (keys: %s)", tomlconf.Suggest(k, unitKeys), strings.Join(unitKeys, ", "))
			}
		}
		if m["from"] == nil {
			bad(base, "a unit needs from = %s", quoteList([]string{FromSelf, FromFiner, FromFiner2, FromCoarser}))
		}
		if u.Name == "" {
			u.Name = defaultUnitName(u.From)
		}
		units = append(units, u)
	}
	return units, errs
}

// Bounds of wirings.
const (
	MaxUnits      = 8
	MaxUnitWeight = 64
)

// checkWiring checks the consistency of a decoded wiring.
func checkWiring(w *Wiring, errf func(field, format string, args ...any) *Error, prefix string) ErrorList {
	var errs ErrorList
	names := map[string]int{}
	finerOut, coarserOut, self := false, false, false
	for i, u := range w.Units {
		base := fmt.Sprintf("%sunits[%d]", prefix, i+1)
		if !validNodeName(u.Name) || strings.Contains(u.Name, "/") {
			errs = append(errs, errf(base+".name", "%q is not a unit name: want lower-case letters and digits", u.Name))
		} else if j, dup := names[u.Name]; dup {
			errs = append(errs, errf(base+".name", "units %d and %d are both named %q; name them apart", j+1, i+1, u.Name))
		}
		names[u.Name] = i
		switch {
		case u.From == FromSelf && u.State == "output":
			errs = append(errs, errf(base+".state", `a "self" unit reads this scale as it entered the layer; "output" would read its own result`))
		case u.State == "output" && u.Offset() < 0:
			finerOut = true
		case u.State == "output" && u.Offset() > 0:
			coarserOut = true
		}
		if u.From == FromSelf {
			self = true
		}
	}
	if finerOut && coarserOut {
		errs = append(errs, errf(prefix+"units", "units read both a finer and a coarser scale's output of the same layer; the scales cannot be computed in an order that gives both"))
	}
	if !self {
		errs = append(errs, errf(prefix+"units", `no unit reads "self": the finest kept scale would have no unit that can run`))
	}
	if w.DropFiner && finerOut {
		for i, u := range w.Units {
			if u.State == "output" && u.Offset() < 0 {
				errs = append(errs, errf(fmt.Sprintf("%sunits[%d].state", prefix, i+1), "drop_finer = true makes the first kept scale read the dropped scale, which a scale-drop layer does not update; read its input or set drop_finer = false"))
				break
			}
		}
	}
	return errs
}

// unitsTOML writes units as a TOML array of inline tables, one per line.
func unitsTOML(units []Unit) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, u := range units {
		parts := []string{
			"from = " + tomlconf.String(u.From),
			"state = " + tomlconf.String(u.State),
			"weight = " + strconv.Itoa(u.Weight),
			"window = " + strconv.Itoa(u.Window),
			"bottleneck = " + tomlconf.String(u.Bottleneck),
			"kernel = " + strconv.Itoa(u.Kernel),
			"name = " + tomlconf.String(u.Name),
		}
		b.WriteString("  {" + strings.Join(parts, ", ") + "},\n")
	}
	b.WriteString("]")
	return b.String()
}

// ScaleSpan returns how many scales layer n (1-based, of total) of an MSDNet-family network
// with the given number of scales reads and writes under the pruning schedule
// (architectures.md §2.1): the finest scales are dropped, the last out kept.
func ScaleSpan(prune string, scales, n, total int) (in, out int) {
	if prune == PruneMin {
		return min(scales, total-n+2), min(scales, total-n+1)
	}
	interval := (total + scales - 1) / scales
	return scales - max(0, n-2)/interval, scales - (n-1)/interval
}

// Present returns the units that run on scale sc of a layer that reads the last in of
// scales and keeps the last out: those whose source scale is there. The finer scales
// below the first kept one (the scale this layer drops) count only with DropFiner, and
// only as they entered the layer.
func (w *Wiring) Present(sc, scales, in, out int) []Unit {
	firstIn, first := scales-in, scales-out
	var units []Unit
	for _, u := range w.Units {
		src := sc + u.Offset()
		switch {
		case src < firstIn || src >= scales:
			continue
		case src < first && !(w.DropFiner && u.State == "input"):
			continue
		}
		units = append(units, u)
	}
	return units
}

// SplitChannels divides n new channels among units in proportion to their weights; every
// share must be whole and at least 1.
func SplitChannels(n int, units []Unit) ([]int, error) {
	total := 0
	for _, u := range units {
		total += u.Weight
	}
	out := make([]int, len(units))
	for i, u := range units {
		if n*u.Weight%total != 0 || n*u.Weight/total < 1 {
			names := make([]string, len(units))
			for j, v := range units {
				names[j] = fmt.Sprintf("%s %d", v.Name, v.Weight)
			}
			return nil, fmt.Errorf("do not split into whole shares of at least 1 among units weighted %s", strings.Join(names, ", "))
		}
		out[i] = n * u.Weight / total
	}
	return out, nil
}
