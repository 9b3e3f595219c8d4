package recipe

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/msdx/msdx/internal/fielderr"
)

// origin is where a key's value came from.
type origin struct {
	file string
	line int
}

// loader decodes one recipe, collecting every problem.
type loader struct {
	file    string            // the recipe file, for problems with no line (missing keys)
	origins map[string]origin // dotted path -> where it was set
	bad     map[string]bool   // paths with a type error, skipped by validation
	errs    ErrorList
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
	l.errs = append(l.errs, &Error{File: o.file, Line: o.line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// parse decodes src into a generic map and records the line of every key. A syntax error
// is returned as a single *Error.
func parse(file string, src []byte) (map[string]any, map[string]origin, error) {
	var m map[string]any
	if _, err := toml.Decode(string(src), &m); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &Error{File: file, Line: pe.Position.Line, Field: pe.LastKey, Msg: pe.Message}
		}
		return nil, nil, &Error{File: file, Msg: err.Error()}
	}
	lines := keyLines(string(src))
	origins := make(map[string]origin)
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			path := joinPath(prefix, k)
			origins[path] = origin{file, lineOf(lines, path)}
			if sub, ok := v.(map[string]any); ok {
				walk(sub, path)
			}
		}
	}
	walk(m, "")
	return m, origins, nil
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// lineOf returns the line recorded for path or its nearest ancestor, 0 if none.
func lineOf(lines map[string]int, path string) int {
	for p := path; ; {
		if n, ok := lines[p]; ok {
			return n
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return 0
		}
		p = p[:i]
	}
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

const extendsKey = "extends"

// load parses src, follows extends, applies the overrides and validates.
func load(file string, src []byte, o Overrides) (*Recipe, error) {
	m, origins, err := parse(file, src)
	if err != nil {
		return nil, ErrorList{err.(*Error)}
	}
	l := &loader{file: file, origins: origins, bad: make(map[string]bool)}
	if ext, ok := m[extendsKey]; ok {
		delete(m, extendsKey)
		name, isString := ext.(string)
		baseFile, baseSrc, found := presetSource(name)
		switch {
		case !isString:
			l.errorf(extendsKey, "must be a string naming a preset, not %s", tomlType(ext))
		case !found:
			l.errorf(extendsKey, "unknown preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
		default:
			base, baseOrigins, err := parse(baseFile, baseSrc)
			if err != nil {
				panic(err) // presets are tested to parse
			}
			for p, o := range origins {
				baseOrigins[p] = o
			}
			m = merge(base, m)
			l.origins = baseOrigins
		}
	}

	var r Recipe
	l.decodeTable(m, reflect.ValueOf(&r).Elem(), "")
	if r.Optimizer.Kind == "" && !l.isSet("optimizer.kind") {
		r.Optimizer.Kind = "sgd"
	}
	setOrder := make(map[string]int)
	for i, s := range o.Sets {
		setOrder["--set "+s] = i
		l.override(&r, s)
	}
	if o.Epochs > 0 {
		r.Epochs = o.Epochs
		l.origins["epochs"] = origin{file: "--epochs " + strconv.Itoa(o.Epochs)}
		delete(l.bad, "epochs")
	}
	l.fitWarmup(&r, o.Note)
	l.validate(&r)
	if len(l.errs) > 0 {
		sortErrors(l.errs, setOrder)
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
		!isOverride(e.file) || l.bad["epochs"] || l.bad["schedule.warmup_epochs"] {
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

// isOverride reports whether file names a command-line override rather than a file.
func isOverride(file string) bool {
	return strings.HasPrefix(file, "--set ") || strings.HasPrefix(file, "--epochs ")
}

// String formats an origin as "file:line", or "file" when no line applies.
func (o origin) String() string {
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
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		key := f.Tag.Get("toml")
		known[key] = true
		path := joinPath(prefix, key)
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
		msg := "unknown key"
		if s := closest(k, slices.Collect(mapKeys(known))); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		l.errorf(path, "%s", msg)
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// decodeValue stores the TOML value v in dst, or reports why it cannot.
func (l *loader) decodeValue(v any, dst reflect.Value, path string) {
	fail := func(want string) {
		l.errorf(path, "must be %s, not %s", want, tomlType(v))
		l.bad[path] = true
	}
	switch dst.Kind() {
	case reflect.Struct:
		sub, ok := v.(map[string]any)
		if !ok {
			fail("a table")
			return
		}
		l.decodeTable(sub, dst, path)
	case reflect.Int, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			fail("an integer")
			return
		}
		if dst.OverflowInt(n) {
			l.errorf(path, "%d is out of range", n)
			l.bad[path] = true
			return
		}
		dst.SetInt(n)
	case reflect.Float64:
		x, ok := number(v)
		if !ok {
			fail("a number")
			return
		}
		if math.IsInf(x, 0) || math.IsNaN(x) {
			l.errorf(path, "must be finite, not %v", x)
			l.bad[path] = true
			return
		}
		dst.SetFloat(x)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			fail("true or false")
			return
		}
		dst.SetBool(b)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			fail("a string")
			return
		}
		dst.SetString(s)
	case reflect.Slice: // []float64
		items, ok := v.([]any)
		if !ok {
			fail("an array of numbers")
			return
		}
		xs := make([]float64, 0, len(items))
		for i, item := range items {
			x, ok := number(item)
			if !ok || math.IsInf(x, 0) || math.IsNaN(x) {
				l.errorf(path, "element %d must be a finite number, not %s", i, tomlValue(item))
				l.bad[path] = true
				return
			}
			xs = append(xs, x)
		}
		dst.Set(reflect.ValueOf(xs))
	default:
		panic(fmt.Sprintf("recipe: field %s has unsupported type %s", path, dst.Type()))
	}
}

// number converts a TOML integer or float to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date/time"
}

func tomlValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return tomlType(v)
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

// override applies one "path=value" setting.
func (l *loader) override(r *Recipe, set string) {
	file := "--set " + set
	path, value, ok := strings.Cut(set, "=")
	path = strings.TrimSpace(path)
	report := func(format string, args ...any) {
		l.errs = append(l.errs, &Error{File: file, Field: path, Msg: fmt.Sprintf(format, args...)})
		l.bad[path] = true
	}
	if !ok {
		report("want path=value")
		return
	}
	value = strings.TrimSpace(value)
	dst, found := fieldByPath(r, path)
	if !found {
		msg := "unknown field"
		if s := closest(path, allPaths()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		report("%s", msg)
		return
	}
	switch dst.Kind() {
	case reflect.Struct:
		report("is a table; set one of its fields, e.g. %s.%s", path, dst.Type().Field(0).Tag.Get("toml"))
		return
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || dst.OverflowInt(n) {
			report("%q is not an integer in range", value)
			return
		}
		dst.SetInt(n)
	case reflect.Float64:
		x, err := parseFinite(value)
		if err != nil {
			report("%v", err)
			return
		}
		dst.SetFloat(x)
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			report("%q is not true or false", value)
			return
		}
		dst.SetBool(b)
	case reflect.String:
		if uq, err := strconv.Unquote(value); err == nil && strings.HasPrefix(value, `"`) {
			value = uq
		}
		dst.SetString(value)
	case reflect.Slice:
		list := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(value, "["), "]"))
		xs := []float64{}
		if list != "" {
			for i, item := range strings.Split(list, ",") {
				x, err := parseFinite(strings.TrimSpace(item))
				if err != nil {
					report("element %d: %v", i, err)
					return
				}
				xs = append(xs, x)
			}
		}
		dst.Set(reflect.ValueOf(xs))
	}
	l.origins[path] = origin{file: file}
	delete(l.bad, path)
}

func parseFinite(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return x, nil
}

// closest returns the candidate within edit distance 2 of s (and at most half its
// length), or "" if there is none.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	slices.Sort(candidates)
	for _, c := range candidates {
		if d := fielderr.EditDistance(s, c); d < bestD && d*2 <= len(c) {
			best, bestD = c, d
		}
	}
	return best
}
