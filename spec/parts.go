package spec

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/internal/tomlconf"
)

// Layer is one layer of a declared stem or head: an op from the layer registry (LayerOps)
// with its arguments. Args holds every argument of the op as text, defaults filled in when
// the spec is resolved: widths and sizes are Exprs ("width", "2*head.channels", "3"),
// switches "true" or "false", choices a word.
type Layer struct {
	// Op names the layer's op, e.g. "conv" or "se".
	Op string `json:"op"`
	// Name names the layer: its nodes are called PART/NAME/... (and a residual add names
	// the layer it reads). Segments of lower-case letters and digits, separated by "/".
	Name string `json:"name,omitempty"`
	// Args are the op's arguments.
	Args map[string]string `json:"args,omitempty"`
}

// argType is how a layer argument is written and checked.
type argType int

const (
	argExpr argType = iota // an integer or an Expr
	argBool                // true or false
	argWord                // one of a few words, or (for "from") a layer name
)

// argDef is one argument of a layer op.
type argDef struct {
	name string
	typ  argType
	// def is the default when the argument is left out: "" makes it required (for
	// argExpr and "from") or means "not given" (linear's "in", "act").
	def string
	// min is the least value an argExpr may take.
	min int
	// words are the values an argWord may take (nil for "from").
	words []string
	doc   string
}

// LayerOp describes one op of the layer registry: what a declaration may write and which
// graph op kinds the layer becomes.
type LayerOp struct {
	// Name is the op's name in declarations.
	Name string
	// Kinds are the graph op kinds the layer emits (each registered in package graph, with
	// its shape, parameter, cost, forward, backward and export rules).
	Kinds []graph.Kind
	// Doc says what the layer does.
	Doc  string
	args []argDef
	// defaultName names the layer's node when the declaration gives no name; "" means
	// the part's prefix itself ("stem/conv", "stem/bn").
	defaultName string
}

// Args lists the argument names of the op, in canonical order.
func (o LayerOp) Args() []string {
	names := make([]string, len(o.args))
	for i, a := range o.args {
		names[i] = a.name
	}
	return names
}

var actWords = []string{"", ActReLU, ActGELU, "none"}

// layerOps is the layer registry.
var layerOps = []LayerOp{
	{Name: "conv", Kinds: []graph.Kind{graph.Conv, graph.BatchNorm, graph.ReLU, graph.GELU},
		Doc: "a 2-D conv (out channels, kernel, stride, padding, groups: \"in\" for depthwise, bias), by default followed by batch norm and the activation",
		args: []argDef{
			{name: "out", typ: argExpr, min: 1, doc: "output channels"},
			{name: "kernel", typ: argExpr, min: 1},
			{name: "stride", typ: argExpr, def: "1", min: 1},
			{name: "padding", typ: argExpr, min: 0, doc: "default kernel//2"},
			{name: "groups", typ: argExpr, def: "1", min: 1},
			{name: "bias", typ: argBool, def: "false"},
			{name: "norm", typ: argWord, def: "bn", words: []string{"bn", "none"}, doc: "bn: batch norm and activation after the conv"},
			{name: "act", typ: argWord, words: actWords, doc: "the activation after the batch norm; default the spec's"},
		}},
	{Name: "bn", Kinds: []graph.Kind{graph.BatchNorm, graph.ReLU, graph.GELU},
		Doc:  "batch norm, then the activation",
		args: []argDef{{name: "act", typ: argWord, words: actWords}}},
	{Name: "maxpool", Kinds: []graph.Kind{graph.MaxPool}, defaultName: "maxpool",
		Doc: "max pooling over kernel×kernel windows",
		args: []argDef{
			{name: "kernel", typ: argExpr, min: 1},
			{name: "stride", typ: argExpr, min: 1, doc: "default kernel"},
			{name: "padding", typ: argExpr, def: "0", min: 0},
		}},
	{Name: "avgpool", Kinds: []graph.Kind{graph.AvgPool}, defaultName: "avgpool",
		Doc: "average pooling over kernel×kernel windows",
		args: []argDef{
			{name: "kernel", typ: argExpr, min: 1},
			{name: "stride", typ: argExpr, min: 1, doc: "default kernel"},
			{name: "padding", typ: argExpr, def: "0", min: 0},
		}},
	{Name: "adaptive_avgpool", Kinds: []graph.Kind{graph.AdaptiveAvgPool}, defaultName: "avgpool",
		Doc: "average over the whole map, to 1×1"},
	{Name: "linear", Kinds: []graph.Kind{graph.Linear}, defaultName: "linear",
		Doc: "a fully connected layer over the flattened input",
		args: []argDef{
			{name: "out", typ: argExpr, def: "classes", min: 1},
			{name: "in", typ: argExpr, min: 1, doc: "the number of input features it is built for; checked"},
			{name: "bias", typ: argBool, def: "true"},
		}},
	{Name: "add", Kinds: []graph.Kind{graph.Add}, defaultName: "add",
		Doc:  "adds the output of an earlier layer (from) to the previous layer's output",
		args: []argDef{{name: "from", typ: argWord, doc: "the name of an earlier layer"}}},
	{Name: "se", Kinds: []graph.Kind{graph.AdaptiveAvgPool, graph.Conv, graph.GELU, graph.Sigmoid, graph.ChannelScale}, defaultName: "se",
		Doc:  "squeeze-excitation as in the code of Addad et al.: adaptive pool, 1x1 conv with bias to hidden, GELU, 1x1 conv with bias, sigmoid, rescale (GELU, sigmoid and product are functions, which the reference counters do not see)",
		args: []argDef{{name: "hidden", typ: argExpr, min: 1}}},
}

// LayerOps returns the layer registry: every op a declared stem or head may use.
func LayerOps() []LayerOp { return append([]LayerOp(nil), layerOps...) }

func layerOpByName(name string) (LayerOp, bool) {
	for _, o := range layerOps {
		if o.Name == name {
			return o, true
		}
	}
	return LayerOp{}, false
}

func layerOpNames() []string {
	names := make([]string, len(layerOps))
	for i, o := range layerOps {
		names[i] = o.Name
	}
	return names
}

// Part kinds, the "part" key of a part file.
const (
	PartStem   = "stem"
	PartHead   = "head"
	PartFusion = "fusion"
)

// partVars are the names a part's expressions may read, besides "in" (the layer's input
// channels).
var partVars = map[string][]string{
	PartStem: {"width", "channels", "growth", "classes", "stem.stride"},
	PartHead: {"width", "channels", "growth", "classes", "head.channels"},
}

// partFS holds the shipped parts: stems, heads and fusion wirings defined as data.
//
//go:embed parts/*/*.toml
var partFS embed.FS

// ShippedParts lists the names of the shipped parts of a kind (PartStem, PartHead,
// PartFusion), sorted.
func ShippedParts(kind string) []string {
	entries, err := partFS.ReadDir(path.Join("parts", kind))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// ShippedPartSource returns the TOML text of a shipped part.
func ShippedPartSource(kind, name string) ([]byte, bool) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, false
	}
	data, err := partFS.ReadFile(path.Join("parts", kind, name+".toml"))
	return data, err == nil
}

func shippedPartFile(kind, name string) string { return "<part " + kind + "/" + name + ">" }

// PartDecl is a decoded part file.
type PartDecl struct {
	// Kind is PartStem, PartHead or PartFusion.
	Kind string
	// Description is free text.
	Description string
	// Family is "msdnet" for a stem or head that only the MSDNet-family wirings use, ""
	// otherwise.
	Family string
	// Layers are a stem's or head's layers.
	Layers []Layer
	// Wiring is a fusion part's wiring.
	Wiring *Wiring
	// origin locates every key of the file.
	origin map[string]Pos
}

// shippedParts caches the decoded shipped parts; they are part of the program, so a
// broken one is a programming error (the package tests decode every one).
var shippedParts = map[string]*PartDecl{}

// ShippedPart returns the decoded shipped part kind/name, or nil if there is none.
func ShippedPart(kind, name string) *PartDecl {
	key := kind + "/" + name
	if p, ok := shippedParts[key]; ok {
		return p
	}
	data, ok := ShippedPartSource(kind, name)
	if !ok {
		return nil
	}
	p, errs := decodePart(shippedPartFile(kind, name), data, kind)
	if len(errs) > 0 {
		panic(fmt.Sprintf("spec: shipped part %s: %v", key, errs))
	}
	shippedParts[key] = p
	return p
}

// decodePart reads a part file, which must be of the kind want.
func decodePart(file string, data []byte, want string) (*PartDecl, ErrorList) {
	doc, err := tomlconf.Decode(file, data)
	if err != nil {
		return nil, ErrorList{err}
	}
	raw, lines := doc.Values, doc.Lines
	var errs ErrorList
	p := &PartDecl{origin: map[string]Pos{}}
	for k, n := range lines {
		p.origin[k] = Pos{File: file, Line: n}
	}
	bad := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: lines.Of(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	kind, _ := raw["part"].(string)
	switch {
	case raw["part"] == nil:
		bad("part", "a part file needs part = %q", want)
		return nil, errs
	case kind != want:
		bad("part", "this file is a %s part (part = %s); want a %s part here", kind, tomlconf.Describe(raw["part"]), want)
		return nil, errs
	}
	p.Kind = kind
	keys := sortedKeys(raw)
	for _, k := range keys {
		v := raw[k]
		switch {
		case k == "part":
		case k == "description":
			if d, ok := v.(string); ok {
				p.Description = d
			} else {
				bad(k, "want a string, got %s", tomlconf.Describe(v))
			}
		case k == "family" && kind != PartFusion:
			if f, ok := v.(string); ok && f == "msdnet" {
				p.Family = f
			} else {
				bad(k, `want "msdnet" (the part works with the MSDNet-family wirings only), got %s`, tomlconf.Describe(v))
			}
		case k == "layers" && kind != PartFusion:
			layers, lerrs := decodeLayers(file, "layers", v, lines)
			errs = append(errs, lerrs...)
			p.Layers = layers
		case kind == PartFusion && wiringKey(k):
		default:
			bad(k, "unknown key in a %s part%s", kind, tomlconf.Suggest(k, partKeys(kind)))
		}
	}
	if kind == PartFusion {
		w, werrs := decodeWiring(file, "", raw, lines)
		errs = append(errs, werrs...)
		p.Wiring = w
	} else if raw["layers"] == nil {
		bad("part", "a %s part needs layers ([[layers]] tables)", kind)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if kind != PartFusion {
		errs = append(errs, checkLayers(kind, p.Layers, func(field, format string, args ...any) *Error {
			return &Error{File: file, Line: lines.Of(field), Field: field, Msg: fmt.Sprintf(format, args...)}
		}, "layers")...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

func partKeys(kind string) []string {
	if kind == PartFusion {
		return append([]string{"part", "description"}, wiringKeys...)
	}
	return []string{"part", "description", "family", "layers"}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeLayers reads a TOML array of tables (at path) into layers, normalised: every
// argument of each op present, defaults filled in.
func decodeLayers(file, at string, v any, lines tomlconf.Lines) ([]Layer, ErrorList) {
	var errs ErrorList
	bad := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: lines.Of(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	list, ok := v.([]map[string]any)
	if !ok {
		if anys, isList := v.([]any); isList {
			for _, x := range anys {
				m, isMap := x.(map[string]any)
				if !isMap {
					list = nil
					break
				}
				list = append(list, m)
			}
			ok = list != nil || len(anys) == 0
		}
	}
	if !ok {
		bad(at, "want a list of layer tables ([[%s]] with op = ...), got %s", at, tomlconf.Describe(v))
		return nil, errs
	}
	if len(list) == 0 {
		bad(at, "needs at least one layer")
		return nil, errs
	}
	layers := make([]Layer, 0, len(list))
	for i, m := range list {
		base := fmt.Sprintf("%s[%d]", at, i+1)
		l := Layer{Args: map[string]string{}}
		opName, isString := m["op"].(string)
		op, known := layerOpByName(opName)
		switch {
		case m["op"] == nil:
			bad(base, "a layer needs an op (one of %s)", quoteList(layerOpNames()))
			continue
		case !isString:
			bad(base+".op", "want a string, got %s", tomlconf.Describe(m["op"]))
			continue
		case !known:
			bad(base+".op", "unknown op %q (ops: %s)%s", opName, strings.Join(layerOpNames(), ", "), tomlconf.Suggest(opName, layerOpNames()))
			continue
		}
		l.Op = opName
		for _, k := range sortedKeys(m) {
			val := m[k]
			field := base + "." + k
			switch k {
			case "op":
				continue
			case "name":
				if n, ok := val.(string); ok {
					l.Name = n
				} else {
					bad(field, "want a string, got %s", tomlconf.Describe(val))
				}
				continue
			case "depthwise":
				// Sugar for groups = "in" (and out = "in" unless given).
				if op.Name != "conv" {
					break
				}
				if b, ok := val.(bool); !ok {
					bad(field, "want true or false, got %s", tomlconf.Describe(val))
				} else if b {
					if m["groups"] != nil {
						bad(field, "write depthwise = true or groups, not both")
					}
					l.Args["groups"] = "in"
					if m["out"] == nil {
						l.Args["out"] = "in"
					}
				}
				continue
			}
			def, known := op.arg(k)
			if !known {
				bad(field, "op %q has no argument %q (arguments: %s)%s", op.Name, k, strings.Join(op.Args(), ", "), tomlconf.Suggest(k, op.Args()))
				continue
			}
			text, err := argText(def, val)
			if err != nil {
				bad(field, "%v", err)
				continue
			}
			l.Args[k] = text
		}
		// Defaults.
		for _, a := range op.args {
			if _, given := l.Args[a.name]; given || m[a.name] != nil {
				continue // given, or given wrong and reported
			}
			switch {
			case a.def != "":
				l.Args[a.name] = a.def
			case a.name == "padding" && op.Name == "conv":
				if k, ok := l.Args["kernel"]; ok {
					l.Args["padding"] = halfOf(k)
				}
			case a.name == "stride" && (op.Name == "maxpool" || op.Name == "avgpool"):
				if k, ok := l.Args["kernel"]; ok {
					l.Args["stride"] = k
				}
			case a.name == "in" || a.name == "act":
				// Optional, no default.
			default:
				bad(base, "op %q needs %s", op.Name, a.name)
			}
		}
		layers = append(layers, l)
	}
	return layers, errs
}

func (o LayerOp) arg(name string) (argDef, bool) {
	for _, a := range o.args {
		if a.name == name {
			return a, true
		}
	}
	return argDef{}, false
}

// argText converts a decoded TOML value to an argument's text, checking its type.
func argText(a argDef, v any) (string, error) {
	switch a.typ {
	case argExpr:
		switch x := v.(type) {
		case int64:
			if x > maxInt || x < -maxInt {
				return "", fmt.Errorf("%d is out of range (at most %d)", x, maxInt)
			}
			return strconv.FormatInt(x, 10), nil
		case string:
			if _, err := Expr(x).Vars(); err != nil {
				return "", err
			}
			return x, nil
		}
		return "", fmt.Errorf(`want an integer or an expression such as "2*width", got %s`, tomlconf.Describe(v))
	case argBool:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("want true or false, got %s", tomlconf.Describe(v))
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", tomlconf.Describe(v))
	}
	if a.words != nil {
		for _, w := range a.words {
			if s == w && s != "" {
				return s, nil
			}
		}
		return "", fmt.Errorf("%q is not one of %s", s, quoteList(nonEmpty(a.words)))
	}
	return s, nil
}

func nonEmpty(words []string) []string {
	var out []string
	for _, w := range words {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// Base returns the name the layer's nodes go under, relative to the part's prefix: its
// Name, else its op's default ("linear", "avgpool", ...), else "" for a conv or batch norm,
// whose nodes are then PART/conv, PART/bn and PART/<activation>.
func (l Layer) Base() string {
	if l.Name != "" {
		return l.Name
	}
	op, _ := layerOpByName(l.Op)
	return op.defaultName
}

// layerNodeNames returns the names, relative to the part's prefix, of the nodes layer l
// makes (the activation as "act").
func layerNodeNames(l Layer) []string {
	base := l.Base()
	join := func(s string) string {
		if base == "" {
			return s
		}
		return base + "/" + s
	}
	switch l.Op {
	case "conv":
		if l.Args["norm"] == "none" {
			return []string{join("conv")}
		}
		return []string{join("conv"), join("bn"), join("act")}
	case "bn":
		return []string{join("bn"), join("act")}
	case "se":
		return []string{join("pool"), join("reduce"), join("gelu"), join("expand"), join("gate"), join("scale")}
	}
	return []string{base}
}

// checkLayers checks a decoded layer list of a stem or head: names, references and the
// variables of expressions. errf makes an error about a field (e.g. "layers[2].from").
func checkLayers(kind string, layers []Layer, errf func(field, format string, args ...any) *Error, at string) ErrorList {
	var errs ErrorList
	vars := map[string]bool{"in": true}
	for _, v := range partVars[kind] {
		vars[v] = true
	}
	names := map[string]int{} // layer name -> index
	nodes := map[string]int{}
	for i, l := range layers {
		base := fmt.Sprintf("%s[%d]", at, i+1)
		if l.Name != "" && !validNodeName(l.Name) {
			errs = append(errs, errf(base+".name", "%q is not a layer name: want lower-case letters and digits, in segments separated by /", l.Name))
		}
		for _, n := range layerNodeNames(l) {
			if j, dup := nodes[n]; dup {
				errs = append(errs, errf(base+".name", "layer %d makes a node %q as layer %d does; give the layers distinct names", i+1, n, j+1))
				break
			}
			nodes[n] = i
		}
		op, _ := layerOpByName(l.Op)
		for _, a := range op.args {
			text, ok := l.Args[a.name]
			if !ok || a.typ != argExpr {
				continue
			}
			used, err := Expr(text).Vars()
			if err != nil {
				errs = append(errs, errf(base+"."+a.name, "%v", err))
				continue
			}
			for _, u := range used {
				if !vars[u] {
					errs = append(errs, errf(base+"."+a.name, "unknown name %q in %q (a %s may use %s)", u, text, kind, strings.Join(append([]string{"in"}, partVars[kind]...), ", ")))
				}
			}
		}
		if l.Op == "add" {
			from := l.Args["from"]
			switch j, ok := names[from]; {
			case from == "":
				errs = append(errs, errf(base+".from", "an add needs from = the name of an earlier layer"))
			case !ok && layerNamed(layers[i:], from):
				errs = append(errs, errf(base+".from", "layer %q comes later; an add reads an earlier layer", from))
			case !ok:
				errs = append(errs, errf(base+".from", "no earlier layer is named %q", from))
			case j == i-1:
				// x + x: allowed, if odd.
			}
		}
		if l.Op == "linear" && kind == PartStem {
			errs = append(errs, errf(base+".op", "a stem cannot have a linear layer: it must end on a feature map"))
		}
		if l.Name != "" {
			names[l.Name] = i
		}
	}
	if kind == PartHead && len(layers) > 0 && layers[len(layers)-1].Op != "linear" {
		errs = append(errs, errf(fmt.Sprintf("%s[%d].op", at, len(layers)), "a head must end with a linear layer (the exit's logits)"))
	}
	return errs
}

func layerNamed(layers []Layer, name string) bool {
	for _, l := range layers {
		if l.Name == name {
			return true
		}
	}
	return false
}

// validNodeName reports whether s is a node name segment path: [a-z0-9]+(/[a-z0-9]+)*.
func validNodeName(s string) bool {
	if s == "" {
		return false
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" {
			return false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// layersUse reports whether any expression of the layers reads the variable name.
func layersUse(layers []Layer, name string) bool {
	for _, l := range layers {
		op, _ := layerOpByName(l.Op)
		for _, a := range op.args {
			if a.typ != argExpr {
				continue
			}
			used, _ := Expr(l.Args[a.name]).Vars()
			for _, u := range used {
				if u == name {
					return true
				}
			}
		}
	}
	return false
}

// layersTOML writes layers as a TOML array of inline tables, one per line, with the
// arguments in the registry's order.
func layersTOML(layers []Layer) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, l := range layers {
		op, _ := layerOpByName(l.Op)
		parts := []string{"op = " + tomlconf.String(l.Op)}
		if l.Name != "" {
			parts = append(parts, "name = "+tomlconf.String(l.Name))
		}
		for _, a := range op.args {
			text, ok := l.Args[a.name]
			if !ok {
				continue
			}
			switch {
			case a.typ == argBool:
				parts = append(parts, a.name+" = "+text)
			case a.typ == argExpr && isIntLiteral(text):
				parts = append(parts, a.name+" = "+text)
			default:
				parts = append(parts, a.name+" = "+tomlconf.String(text))
			}
		}
		b.WriteString("  {" + strings.Join(parts, ", ") + "},\n")
	}
	b.WriteString("]")
	return b.String()
}

func isIntLiteral(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && !strings.HasPrefix(s, "+")
}

// Expanded returns a copy of s with every part written out: a shipped stem, head or wiring
// that s names is replaced by its declaration (stem.layers, head.layers, fusion.units and
// fusion.drop_finer). It builds the same network; its canonical form shows every layer and
// unit (its hash differs from s's, which names the parts).
func (s *Spec) Expanded() *Spec {
	e := *s
	e.Scales.GrFactor = append([]int(nil), s.Scales.GrFactor...)
	e.Scales.BnFactor = append([]int(nil), s.Scales.BnFactor...)
	e.Scales.Resolution = append([]int(nil), s.Scales.Resolution...)
	e.Stem.Layers, e.Head.Layers = cloneLayers(s.StemLayers()), cloneLayers(s.HeadLayers())
	e.Stem.Kind, e.Head.Kind = "", ""
	if w := s.Wiring(); w != nil {
		e.Fusion.Rule, e.Fusion.DropFiner, e.Fusion.Units = "", w.DropFiner, append([]Unit(nil), w.Units...)
	}
	return &e
}
