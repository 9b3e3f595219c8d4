package spec

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// Load reads the spec file at path, applies the --set overrides in sets ("path=value", in
// order) and returns the resolved, validated Spec. Problems with the content are returned as
// an ErrorList naming file, line and field of each.
func Load(path string, sets []string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: tomlconf.ReadErrorMsg(err)}}
	}
	return Parse(path, data, sets)
}

// Parse is Load for a document already in memory; name is the file name used in errors.
func Parse(name string, data []byte, sets []string) (*Spec, error) {
	return resolve(name, data, sets)
}

// Resolve loads nameOrPath as a spec file when a file of that name exists (or the name looks
// like a path: it contains a path separator or ends in ".toml"), and otherwise as the name
// of a built-in preset.
func Resolve(nameOrPath string, sets []string) (*Spec, error) {
	if _, err := os.Stat(nameOrPath); err == nil || looksLikePath(nameOrPath) {
		return Load(nameOrPath, sets)
	}
	data, ok := presetData(nameOrPath)
	if !ok {
		return nil, ErrorList{{File: nameOrPath, Msg: fmt.Sprintf("no such file or preset (presets: %s)", strings.Join(PresetNames(), ", "))}}
	}
	return resolve(presetFile(nameOrPath), data, sets)
}

func looksLikePath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) || strings.HasSuffix(s, ".toml")
}

// assignment is one value written for one field path.
type assignment struct {
	value any
	pos   Pos
}

// layer is what one source (a preset, the spec file, the overrides) writes. Tables maps
// the table headers it writes to their positions.
type layer struct {
	values map[string]assignment
	tables map[string]Pos
	// decl locates the keys inside declarations ("stem.layers[2].kernel").
	decl map[string]Pos
	// declSets are --set overrides of one argument of a declaration.
	declSets []declSet
}

func newLayer() *layer {
	return &layer{values: map[string]assignment{}, tables: map[string]Pos{}, decl: map[string]Pos{}}
}

// resolve turns one document plus overrides into a validated Spec.
func resolve(name string, data []byte, sets []string) (*Spec, error) {
	var errs ErrorList
	file, fileErrs, ok := decodeLayer(name, data)
	errs = append(errs, fileErrs...)
	if !ok {
		return nil, errs
	}
	over, setErrs := overrideLayer(sets)
	errs = append(errs, setErrs...)

	// The preset named by extends (the override's, else the file's) lies underneath.
	var layers []*layer
	if a, ok := topmost("extends", over, file); ok && a.value != (unset{}) {
		base, baseErrs := presetLayer(a.value.(string), a.pos)
		errs = append(errs, baseErrs...)
		if base != nil {
			// The preset's name and description describe the preset, not this spec.
			delete(base.values, "name")
			delete(base.values, "description")
			layers = append(layers, base)
		}
	}
	layers = append(layers, file, over)

	// A field whose value was rejected keeps its default; do not also report that.
	failed := map[string]bool{}
	for _, e := range errs {
		failed[e.Field] = true
	}
	s, partErrs, failedRefs := build(name, layers)
	errs = append(errs, partErrs...)
	for _, e := range partErrs {
		failed[e.Field] = true
	}
	for _, f := range failedRefs {
		failed[f] = true
	}
	if e := checkName(name, s, layers); e != nil && !failed["name"] {
		errs = append(errs, e)
	}
	for _, e := range validate(s) {
		if !failed[e.Field] {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	return s, nil
}

// checkName reports a spec that names nothing: one whose sources write no name and no
// extends (an empty file, say, which would otherwise silently be the reference MSDNet),
// or that writes an empty name. A spec that extends a preset may leave its name out: it is
// then the file's base name.
func checkName(file string, s *Spec, layers []*layer) *Error {
	var named, extends bool
	for _, l := range layers {
		if a, ok := l.values["name"]; ok {
			_, isUnset := a.value.(unset)
			named = !isUnset
		}
		if a, ok := l.values["extends"]; ok {
			_, isUnset := a.value.(unset)
			extends = !isUnset
		}
	}
	switch {
	case !named && !extends:
		return &Error{File: file, Field: "name", Msg: `a spec needs a name (or extends = "PRESET")`}
	case named && s.Name == "":
		return s.Errorf("name", "must not be empty")
	}
	return nil
}

// topmost returns the assignment of path in the first layer that has one.
func topmost(path string, layers ...*layer) (assignment, bool) {
	for _, l := range layers {
		if a, ok := l.values[path]; ok {
			return a, true
		}
	}
	return assignment{}, false
}

// presets are the spec presets, for extends.
var presets = tomlconf.Presets{
	Find: func(name string) (string, []byte, bool) {
		data, ok := presetData(name)
		return presetFile(name), data, ok
	},
	Names: PresetNames,
}

// presetLayer returns the merged layers of preset name and the presets it extends; at is
// where extends named it.
func presetLayer(name string, at Pos) (*layer, ErrorList) {
	docs, errs := presets.Chain(name, tomlconf.Error{File: at.File, Line: at.Line})
	if errs != nil {
		return nil, ErrorList(errs)
	}
	merged := newLayer()
	for _, doc := range docs {
		own, errs := docLayer(doc)
		if len(errs) > 0 {
			return nil, errs
		}
		maps.Copy(merged.values, own.values)
		maps.Copy(merged.tables, own.tables)
		maps.Copy(merged.decl, own.decl)
	}
	return merged, nil
}

// decodeLayer parses one TOML document into a layer. ok is false when the document could
// not be parsed at all (a syntax error); otherwise errs lists the keys that were unknown or
// of the wrong type, and those keys are left out of the layer.
func decodeLayer(name string, data []byte) (l *layer, errs ErrorList, ok bool) {
	doc, err := tomlconf.Decode(name, data)
	if err != nil {
		return nil, ErrorList{err}, false
	}
	l, errs = docLayer(doc)
	return l, errs, true
}

// docLayer is decodeLayer for a parsed document.
func docLayer(doc *tomlconf.Doc) (l *layer, errs ErrorList) {
	name, raw, lines := doc.File, doc.Values, doc.Lines
	pos := func(path string) Pos {
		return Pos{File: name, Line: lines.Of(path)}
	}
	l = newLayer()
	bad := func(path, format string, args ...any) {
		errs = append(errs, &Error{File: name, Line: lines.Of(path), Field: displayPath(path), Msg: fmt.Sprintf(format, args...)})
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			v := m[k]
			if isTable(path) {
				sub, isMap := v.(map[string]any)
				if !isMap {
					bad(path, "want a table ([%s]), got %s", path, tomlconf.Describe(v))
					continue
				}
				l.tables[path] = pos(path)
				walk(path, sub)
				continue
			}
			f, known := fieldByPath(path)
			if !known {
				bad(path, "unknown key%s", suggest(path))
				continue
			}
			switch f.kind {
			case kindLayers:
				layers, lerrs := decodeLayers(name, path, v, lines)
				errs = append(errs, lerrs...)
				if len(lerrs) == 0 {
					l.values[path] = assignment{value: layers, pos: pos(path)}
					l.declPos(path, name, lines)
				}
				continue
			case kindUnits:
				units, uerrs := decodeUnits(name, path, v, lines)
				errs = append(errs, uerrs...)
				if len(uerrs) == 0 {
					l.values[path] = assignment{value: units, pos: pos(path)}
					l.declPos(path, name, lines)
				}
				continue
			}
			x, err := f.fromTOML(v)
			if err != nil {
				bad(path, "%v", err)
				continue
			}
			l.values[path] = assignment{value: x, pos: pos(path)}
		}
	}
	walk("", raw)
	return l, errs
}

// declPos records where every key of a declaration (path "stem.layers" and the paths below
// it, "stem.layers[2].kernel") was written, so that later errors name their line.
func (l *layer) declPos(path, file string, lines tomlconf.Lines) {
	for k, n := range lines {
		if strings.HasPrefix(k, path+"[") {
			l.decl[k] = Pos{File: file, Line: n}
		}
	}
}

// displayPath shows a key path in an error; an empty key would otherwise vanish.
func displayPath(path string) string {
	if path == "" || strings.HasSuffix(path, ".") {
		return path + `""`
	}
	return path
}

// overrideLayer parses --set overrides ("path=value"). An empty value removes the key, so
// that a default (or a lower layer's value) applies again.
func overrideLayer(sets []string) (*layer, ErrorList) {
	l := newLayer()
	var errs ErrorList
	for i, text := range sets {
		p := Pos{File: setFile, Line: i + 1, Text: text}
		bad := func(path, format string, args ...any) {
			errs = append(errs, tomlconf.SetError(setFile, i, text, path, format, args...))
		}
		path, value, found := tomlconf.SplitSet(text)
		if !found {
			bad(path, "want path=value")
			continue
		}
		if ds, ok := parseDeclSet(path); ok {
			ds.value, ds.pos = value, p
			if err := ds.check(); err != nil {
				bad(path, "%v", err)
				continue
			}
			l.declSets = append(l.declSets, ds)
			continue
		}
		f, known := fieldByPath(path)
		if !known {
			if isTable(path) {
				bad(path, "is a table; set one of its fields, e.g. %s", tableExample(path))
			} else {
				bad(path, "unknown field%s", suggest(path))
			}
			continue
		}
		if value == "" {
			l.values[path] = assignment{value: unset{}, pos: p}
			continue
		}
		x, err := f.fromText(value)
		if err != nil {
			bad(path, "%v", err)
			continue
		}
		l.values[path] = assignment{value: x, pos: p}
	}
	return l, errs
}

// unset is the value of an override that removes a key.
type unset struct{}

func tableExample(table string) string {
	for _, f := range fields {
		if strings.HasPrefix(f.path, table+".") {
			return f.path
		}
	}
	return table
}

// suggest proposes the closest known field path for a misspelt one.
func suggest(path string) string {
	return tomlconf.Suggest(path, fieldPaths)
}

// exclusive are pairs of ways to give one part: a source that writes one of a pair drops
// what lower sources wrote for the other (a spec extending a preset with a shipped stem may
// declare its own layers), and a source that writes both is an error.
var exclusive = []struct{ ref, decl []string }{
	{[]string{"stem.kind"}, []string{"stem.layers"}},
	{[]string{"head.kind"}, []string{"head.layers"}},
	{[]string{"fusion.rule"}, []string{"fusion.units"}},
}

// build applies the defaults for the final fusion rule and then the layers, bottom first,
// and reads the part files that stem.kind, head.kind and fusion.rule name. It returns the
// problems of the part files and of parts given twice.
func build(name string, layers []*layer) (*Spec, ErrorList, []string) {
	var errs ErrorList
	merged := map[string]assignment{}
	tablePos := map[string]Pos{}
	declPos := map[string]Pos{}
	source := map[string]int{} // the index of the source that wrote each merged path
	for li, l := range layers {
		for _, ex := range exclusive {
			ref, decl := writesAny(l, ex.ref), writesAny(l, ex.decl)
			switch {
			case ref != "" && decl != "":
				a := l.values[decl]
				errs = append(errs, &Error{File: a.pos.File, Line: a.pos.Line, Field: decl,
					Msg: fmt.Sprintf("%s names the part and %s declares it; write one of them", ref, decl)})
			case ref != "":
				deleteAll(merged, ex.decl)
			case decl != "":
				deleteAll(merged, ex.ref)
			}
		}
		for k, a := range l.values {
			if _, isUnset := a.value.(unset); isUnset {
				delete(merged, k)
				continue
			}
			merged[k] = a
			source[k] = li
		}
		for k, p := range l.tables {
			tablePos[k] = p
		}
		for k, p := range l.decl {
			declPos[k] = p
		}
	}
	rule := RuleMSDNet
	if a, ok := merged["fusion.rule"]; ok {
		rule = a.value.(string)
	}
	s := defaults(rule)
	if _, ok := merged["fusion.units"]; ok {
		s.Fusion.Rule = ""
	}
	if _, ok := merged["stem.layers"]; ok {
		s.Stem.Kind = ""
	}
	if _, ok := merged["head.layers"]; ok {
		s.Head.Kind, s.Head.Channels = "", 0
	}
	s.Origin = &Origin{File: name, Fields: map[string]Pos{}}
	for k, p := range tablePos {
		s.Origin.Fields[k] = p
	}
	for k, p := range declPos {
		s.Origin.Fields[k] = p
	}
	for _, f := range fields {
		if a, ok := merged[f.path]; ok {
			f.set(s, a.value)
			s.Origin.Fields[f.path] = a.pos
		}
	}
	partErrs, failedRefs := s.readPartFiles(merged)
	errs = append(errs, partErrs...)
	// A drop_finer written over a named wiring, and overrides of single arguments of a
	// declaration, turn the named part into its declaration, which they then change.
	if _, ok := merged["fusion.drop_finer"]; ok && len(s.Fusion.Units) == 0 {
		if w := s.Wiring(); w != nil {
			s.Fusion.Rule, s.Fusion.Units = "", append([]Unit(nil), w.Units...)
		}
	}
	for _, l := range layers {
		for _, ds := range l.declSets {
			if err := s.applyDeclSet(ds); err != nil {
				errs = append(errs, err)
				failedRefs = append(failedRefs, ds.path)
			}
		}
	}
	// A stem.stride or head.channels written under (before) the source that chose the
	// part, and that the part does not use, belonged to the part it replaced: drop it.
	for _, dep := range []struct {
		field   string
		choices []string
		used    bool
	}{
		{"stem.stride", []string{"stem.kind", "stem.layers"}, layersUse(s.StemLayers(), "stem.stride")},
		{"head.channels", []string{"head.kind", "head.layers"}, layersUse(s.HeadLayers(), "head.channels")},
	} {
		if _, ok := merged[dep.field]; !ok || dep.used {
			continue
		}
		for _, c := range dep.choices {
			if src, ok := source[c]; ok && source[dep.field] < src {
				delete(merged, dep.field)
				delete(s.Origin.Fields, dep.field)
				if dep.field == "stem.stride" {
					s.Stem.Stride = 0
				} else {
					s.Head.Channels = 0
				}
				break
			}
		}
	}
	// Defaults that depend on other fields.
	if _, ok := merged["name"]; !ok {
		s.Name = defaultName(name)
	}
	if _, ok := merged["stem.stride"]; !ok && layersUse(s.StemLayers(), "stem.stride") {
		s.Stem.Stride = 1
	}
	if _, ok := merged["head.channels"]; !ok {
		s.Head.Channels = 0
		if layersUse(s.HeadLayers(), "head.channels") {
			s.Head.Channels = 128
		}
	}
	if _, ok := merged["blocks.attention_width"]; !ok && s.Blocks.Attention {
		s.Blocks.AttentionWidth = 96
	}
	if _, ok := merged["fusion.se_hidden"]; !ok && s.Fusion.SE {
		s.Fusion.SEHidden = DefaultSEHidden
	}
	s.Extends = ""
	return s, errs, failedRefs
}

// DefaultSEHidden is the hidden width of the SE blocks in the code of Addad et al.:
// (g·gr[s])//2 on scale s.
const DefaultSEHidden Expr = "new//2"

func writesAny(l *layer, paths []string) string {
	for _, p := range paths {
		if a, ok := l.values[p]; ok {
			if _, isUnset := a.value.(unset); !isUnset {
				return p
			}
		}
	}
	return ""
}

func deleteAll(m map[string]assignment, keys []string) {
	for _, k := range keys {
		delete(m, k)
	}
}

// IsPartFile reports whether a stem.kind, head.kind or fusion.rule value names a part
// file rather than a shipped part: it contains a path separator or ends in ".toml".
func IsPartFile(ref string) bool { return looksLikePath(ref) }

// readPartFiles replaces references to part files (stem.kind, head.kind, fusion.rule) by
// the parts they declare. A path is relative to the directory of the spec file that
// wrote it (to the working directory for --set); presets name shipped parts only. It
// returns the problems and the reference fields whose part file could not be read.
func (s *Spec) readPartFiles(merged map[string]assignment) (ErrorList, []string) {
	var errs ErrorList
	var failed []string
	for _, ref := range []struct{ field, kind string }{{"stem.kind", PartStem}, {"head.kind", PartHead}, {"fusion.rule", PartFusion}} {
		a, ok := merged[ref.field]
		if !ok {
			continue
		}
		file, _ := a.value.(string)
		if !IsPartFile(file) {
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, &Error{File: a.pos.File, Line: a.pos.Line, Field: ref.field, Msg: fmt.Sprintf(format, args...)})
		}
		failed = append(failed, ref.field)
		if strings.HasPrefix(a.pos.File, "<preset ") {
			fail("a preset names shipped parts only")
			continue
		}
		path := file
		if a.pos.File != setFile && !filepath.IsAbs(file) {
			path = filepath.Join(filepath.Dir(a.pos.File), file)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			fail("part file %s: %s", path, tomlconf.ReadErrorMsg(err))
			continue
		}
		p, perrs := decodePart(path, data, ref.kind)
		if len(perrs) > 0 {
			errs = append(errs, perrs...)
			continue
		}
		failed = failed[:len(failed)-1]
		prefix := strings.TrimSuffix(ref.field, ".kind")
		prefix = strings.TrimSuffix(prefix, ".rule")
		for k, pos := range p.origin {
			s.Origin.Fields[prefix+"."+k] = pos
		}
		switch ref.kind {
		case PartStem:
			s.Stem.Kind, s.Stem.Layers = "", p.Layers
			if p.Family != "" && s.Fusion.Rule == RuleRANet {
				fail("the stem of %s is defined for the msdnet-family wirings only (family = %q); ranet uses a stem that keeps the input's resolution", path, p.Family)
			}
		case PartHead:
			s.Head.Kind, s.Head.Layers = "", p.Layers
		case PartFusion:
			if s.Fusion.Rule == RuleRANet {
				break
			}
			s.Fusion.Rule, s.Fusion.DropFiner, s.Fusion.Units = "", p.Wiring.DropFiner, p.Wiring.Units
		}
	}
	return errs, failed
}

// StemLayers returns the layers of the spec's stem: those declared in the spec, else the
// shipped part's that Stem.Kind names (nil for an unknown one).
func (s *Spec) StemLayers() []Layer {
	if len(s.Stem.Layers) > 0 {
		return s.Stem.Layers
	}
	if p := ShippedPart(PartStem, s.Stem.Kind); p != nil {
		return p.Layers
	}
	return nil
}

// HeadLayers returns the layers of the spec's head, as StemLayers does for the stem.
func (s *Spec) HeadLayers() []Layer {
	if len(s.Head.Layers) > 0 {
		return s.Head.Layers
	}
	if p := ShippedPart(PartHead, s.Head.Kind); p != nil {
		return p.Layers
	}
	return nil
}

// Wiring returns the spec's declared fusion wiring: the one written in the spec, else the
// shipped wiring that Fusion.Rule names; nil for RANet's rule or an unknown name.
func (s *Spec) Wiring() *Wiring {
	if len(s.Fusion.Units) > 0 {
		return &Wiring{DropFiner: s.Fusion.DropFiner, Units: s.Fusion.Units}
	}
	if p := ShippedPart(PartFusion, s.Fusion.Rule); p != nil {
		return p.Wiring
	}
	return nil
}

// defaultName is the file's base name without its extension; for a preset, its name.
func defaultName(file string) string {
	if strings.HasPrefix(file, "<preset ") && strings.HasSuffix(file, ">") {
		return strings.TrimSuffix(strings.TrimPrefix(file, "<preset "), ">")
	}
	base := filepath.Base(file)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// defaults returns the reference repos' argparse defaults for a fusion rule (see the
// package documentation). An unknown rule gets MSDNet's defaults; validation rejects it.
func defaults(rule string) *Spec {
	s := &Spec{
		Input:      [3]int{3, 32, 32},
		Classes:    10,
		Activation: "relu",
		Growth:     6,
		Reduction:  0.5,
		Bottleneck: true,
		Fusion:     Fusion{Rule: rule},
		Stem:       Stem{Kind: StemMSDNetCIFAR},
		Head:       Head{Kind: HeadMSDNetCIFAR, Channels: 128},
	}
	if rule == RuleRANet {
		s.Channels = 16
		s.Scales = Scales{GrFactor: []int{4, 2, 1, 1}, BnFactor: []int{4, 2, 1, 1}, Resolution: []int{1, 2, 3, 3}}
		s.Blocks = Blocks{Count: 2, Step: 4, StepMode: "even", BlockStep: 2}
		s.Fusion.CompressFactor = 0.25
		return s
	}
	s.Channels = 32
	s.Scales = Scales{GrFactor: []int{1, 2, 4}, BnFactor: []int{1, 2, 4}}
	s.Blocks = Blocks{Count: 1, Base: 4, Step: 1, StepMode: "even"}
	s.Fusion.Prune = "max"
	return s
}

// CheckSet reports whether one override ("path=value") names a known field and holds a
// value of that field's type, the checks --set applies before a spec is resolved; it does
// not check the value against the rest of a spec. An empty value (which removes the key)
// passes. The error is the bare message, without file, line or the override's text.
func CheckSet(text string) error {
	_, errs := overrideLayer([]string{text})
	if len(errs) == 0 {
		return nil
	}
	msg := strings.TrimSuffix(errs[0].Msg, " (--set "+text+")")
	return errors.New(msg)
}
