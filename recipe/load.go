package recipe

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/msdx/msdx/internal/tomlconf"
)

// origin is where a key's value came from.
type origin struct {
	file string
	line int
	set  string // the override's text, for values from an override (file is then its flag)
}

// loader decodes one recipe, collecting every problem.
type loader struct {
	file    string            // the recipe file, for problems with no line (missing keys)
	origins map[string]origin // dotted path -> where it was set
	bad     map[string]bool   // paths with a type error, skipped by validation
	errs    ErrorList
	setFlag string // the flag of the overrides, named in errors
}

// where returns the origin of path, or of its nearest ancestor that has one (keys inside
// an inline table share the table's line).
func (l *loader) where(path string) origin {
	for p := path; ; {
		if o, ok := l.origins[p]; ok {
			return o
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return origin{file: l.file}
}

func (l *loader) errorf(path, format string, args ...any) {
	o := l.where(path)
	if o.set != "" {
		l.errs = append(l.errs, tomlconf.SetError(o.file, o.line-1, o.set, path, format, args...))
		return
	}
	l.errs = append(l.errs, &Error{File: o.file, Line: o.line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// originsOf records where every key of doc was set.
func originsOf(doc *tomlconf.Doc) map[string]origin {
	origins := make(map[string]origin)
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			path := joinPath(prefix, k)
			origins[path] = origin{file: doc.File, line: doc.Lines.Of(path)}
			if sub, ok := v.(map[string]any); ok {
				walk(sub, path)
			}
		}
	}
	walk(doc.Values, "")
	return origins
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// merge overlays top on base, recursing into tables present in both.
func merge(base, top map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(top))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range top {
		bt, bok := out[k].(map[string]any)
		tt, tok := v.(map[string]any)
		if bok && tok {
			out[k] = merge(bt, tt)
		} else {
			out[k] = v
		}
	}
	return out
}

// presets are the recipe presets, for extends.
var presets = tomlconf.Presets{Find: presetSource, Names: PresetNames}

// load parses src, follows extends, applies the overrides and validates.
func load(file string, src []byte, o Overrides) (*Recipe, error) {
	doc, err := tomlconf.Decode(file, src)
	if err != nil {
		return nil, ErrorList{err}
	}
	m, origins := doc.Values, originsOf(doc)
	l := &loader{file: file, origins: origins, bad: make(map[string]bool), setFlag: cmp.Or(o.Flag, tomlconf.SetFlag)}
	if ext, ok := m[tomlconf.ExtendsKey]; ok {
		delete(m, tomlconf.ExtendsKey)
		if name, isString := ext.(string); !isString {
			l.errorf(tomlconf.ExtendsKey, "want a string naming a preset, got %s", tomlconf.Describe(ext))
		} else if chain, errs := presets.Chain(name, tomlconf.Error{File: file, Line: doc.Lines.Of(tomlconf.ExtendsKey)}); errs != nil {
			l.errs = append(l.errs, errs...)
		} else {
			// The chain's documents lie under this one, the deepest first.
			base, baseOrigins := map[string]any{}, map[string]origin{}
			for _, d := range chain {
				delete(d.Values, tomlconf.ExtendsKey)
				base = merge(base, d.Values)
				maps.Copy(baseOrigins, originsOf(d))
			}
			maps.Copy(baseOrigins, origins)
			m = merge(base, m)
			l.origins = baseOrigins
		}
	}

	var r Recipe
	l.decodeTable(m, reflect.ValueOf(&r).Elem(), "")
	if r.Optimizer.Kind == "" && !l.isSet("optimizer.kind") {
		r.Optimizer.Kind = "sgd"
	}
	for i, s := range o.Sets {
		l.override(&r, i, s)
	}
	if o.Epochs > 0 {
		r.Epochs = o.Epochs
		l.origins["epochs"] = origin{file: "--epochs " + strconv.Itoa(o.Epochs)}
		delete(l.bad, "epochs")
	}
	l.fitWarmup(&r, o.Note)
	l.validate(&r)
	if len(l.errs) > 0 {
		tomlconf.Sort(l.errs, nil)
		return nil, l.errs
	}
	return &r, nil
}

// fitWarmup shortens a cosine warm-up that a built-in preset wrote and that is at least as
// long as the run, whose epochs a command-line override set, to epochs-1, telling note.
// A warm-up the recipe file or an override wrote, or epochs that a file wrote, are left
// for validate to report where they came from.
func (l *loader) fitWarmup(r *Recipe, note func(string)) {
	s := &r.Schedule
	w, e := l.where("schedule.warmup_epochs"), l.where("epochs")
	if s.Kind != Cosine || r.Epochs < 1 || s.WarmupEpochs < r.Epochs || !strings.HasPrefix(w.file, presetDir) ||
		!e.isOverride() || l.bad["epochs"] || l.bad["schedule.warmup_epochs"] {
		return
	}
	was := s.WarmupEpochs
	s.WarmupEpochs = r.Epochs - 1
	if note != nil {
		note(fmt.Sprintf("schedule.warmup_epochs: %s writes %d, too long for %s: warming up for %d epochs instead (choose with --recipe-set schedule.warmup_epochs=N)",
			w, was, l.epochsFrom(r.Epochs), s.WarmupEpochs))
	}
}

// epochsFrom says where the run's epochs came from: "--epochs 1", "epochs = 3 in mine.toml:2".
func (l *loader) epochsFrom(epochs int) string {
	o := l.where("epochs")
	if strings.HasPrefix(o.file, "--epochs ") {
		return o.file
	}
	return fmt.Sprintf("epochs = %d from %s", epochs, o)
}

// isOverride reports whether the value came from a command-line override rather than a file.
func (o origin) isOverride() bool {
	return o.set != "" || strings.HasPrefix(o.file, "--epochs ")
}

// String formats an origin as "file:line", "file" when no line applies, or "--set TEXT".
func (o origin) String() string {
	if o.set != "" {
		return o.file + " " + o.set
	}
	if o.line > 0 {
		return fmt.Sprintf("%s:%d", o.file, o.line)
	}
	return o.file
}

func (l *loader) isSet(path string) bool {
	_, ok := l.origins[path]
	return ok
}

// decodeTable fills the struct rv from m, reporting missing required keys, unknown keys and
// type mismatches.
func (l *loader) decodeTable(m map[string]any, rv reflect.Value, prefix string) {
	rt := rv.Type()
	known := make(map[string]bool)
	var knownPaths []string
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		key := f.Tag.Get("toml")
		known[key] = true
		path := joinPath(prefix, key)
		knownPaths = append(knownPaths, path)
		v, ok := m[key]
		if !ok {
			if f.Tag.Get("recipe") == "required" {
				l.errorf(path, "missing (required)")
				l.bad[path] = true
			}
			if f.Type.Kind() == reflect.Struct {
				l.decodeTable(nil, rv.Field(i), path)
			}
			continue
		}
		l.decodeValue(v, rv.Field(i), path)
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		path := joinPath(prefix, k)
		l.errorf(path, "unknown key%s", tomlconf.Suggest(path, knownPaths))
	}
}

// decodeValue stores the TOML value v in dst, or reports why it cannot.
func (l *loader) decodeValue(v any, dst reflect.Value, path string) {
	if dst.Kind() == reflect.Struct {
		sub, ok := v.(map[string]any)
		if !ok {
			l.errorf(path, "want a table, got %s", tomlconf.Describe(v))
			l.bad[path] = true
			return
		}
		l.decodeTable(sub, dst, path)
		return
	}
	var x any
	var err error
	switch dst.Kind() {
	case reflect.Int, reflect.Int64:
		var n int64
		n, err = tomlconf.DecodeInt(v, intLimit(dst))
		x = n
	case reflect.Float64:
		x, err = tomlconf.DecodeFloat(v)
	case reflect.Bool:
		x, err = tomlconf.DecodeBool(v)
	case reflect.String:
		x, err = tomlconf.DecodeString(v)
	case reflect.Slice: // []float64
		x, err = tomlconf.DecodeFloats(v)
	default:
		panic(fmt.Sprintf("recipe: field %s has unsupported type %s", path, dst.Type()))
	}
	if err != nil {
		l.errorf(path, "%v", err)
		l.bad[path] = true
		return
	}
	store(dst, x)
}

// intLimit is the largest magnitude the integer field dst holds.
func intLimit(dst reflect.Value) int64 {
	return 1<<(dst.Type().Bits()-1) - 1
}

// store puts a converted value into its field.
func store(dst reflect.Value, x any) {
	if n, ok := x.(int64); ok {
		dst.SetInt(n)
		return
	}
	dst.Set(reflect.ValueOf(x))
}

// fieldByPath returns the struct field of r at the dotted path, if any.
func fieldByPath(r *Recipe, path string) (reflect.Value, bool) {
	v := reflect.ValueOf(r).Elem()
	for _, key := range strings.Split(path, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		found := false
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Tag.Get("toml") == key {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}

// allPaths lists every leaf field path of a Recipe, for suggestions.
func allPaths() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			p := joinPath(prefix, f.Tag.Get("toml"))
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, p)
			} else {
				out = append(out, p)
			}
		}
	}
	walk(reflect.TypeFor[Recipe](), "")
	return out
}

// override applies the i-th (0-based) setting "path=value".
func (l *loader) override(r *Recipe, i int, set string) {
	path, value, ok := tomlconf.SplitSet(set)
	report := func(format string, args ...any) {
		l.errs = append(l.errs, tomlconf.SetError(l.setFlag, i, set, path, format, args...))
		l.bad[path] = true
	}
	if !ok {
		report("want path=value")
		return
	}
	dst, found := fieldByPath(r, path)
	if !found {
		report("unknown field%s", tomlconf.Suggest(path, allPaths()))
		return
	}
	var x any
	var err error
	switch dst.Kind() {
	case reflect.Struct:
		report("is a table; set one of its fields, e.g. %s.%s", path, dst.Type().Field(0).Tag.Get("toml"))
		return
	case reflect.Int, reflect.Int64:
		var n int64
		n, err = tomlconf.ParseInt(value, intLimit(dst))
		x = n
	case reflect.Float64:
		x, err = tomlconf.ParseFloat(value)
	case reflect.Bool:
		x, err = tomlconf.ParseBool(value)
	case reflect.String:
		x, err = tomlconf.ParseString(value)
	case reflect.Slice:
		x, err = tomlconf.ParseFloats(value)
	}
	if err != nil {
		report("%v", err)
		return
	}
	store(dst, x)
	l.origins[path] = origin{file: l.setFlag, line: i + 1, set: set}
	delete(l.bad, path)
}
