package recipe

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Canonical returns the recipe as TOML in a fixed form: every field in declaration order,
// top-level keys first, then one table per section; schedule fields that the schedule kind
// does not use and an empty description, exit_weights or resized_crop_* are left out (so
// recipes written before those keys existed keep their bytes). Loading the result
// gives back an equal Recipe, and equal recipes give identical bytes, so it can be stored in
// a run directory and compared.
func (r *Recipe) Canonical() []byte {
	var b strings.Builder
	b.WriteString("# msdx training recipe (canonical form)\n")
	rv := reflect.ValueOf(r).Elem()
	rt := rv.Type()
	// Top-level scalars must come before the first table header.
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).Type.Kind() != reflect.Struct {
			writeKey(&b, r, rt.Field(i).Tag.Get("toml"), rv.Field(i))
		}
	}
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).Type.Kind() != reflect.Struct {
			continue
		}
		table := rt.Field(i).Tag.Get("toml")
		fmt.Fprintf(&b, "\n[%s]\n", table)
		sv, st := rv.Field(i), rt.Field(i).Type
		for j := 0; j < st.NumField(); j++ {
			writeKey(&b, r, table+"."+st.Field(j).Tag.Get("toml"), sv.Field(j))
		}
	}
	return []byte(b.String())
}

// omitted reports whether Canonical leaves out the field at path.
func omitted(r *Recipe, path string, v reflect.Value) bool {
	switch path {
	case "description", "loss.exit_weights", "augmentation.resized_crop_scale", "augmentation.resized_crop_ratio":
		return v.Len() == 0
	case "schedule.milestones", "schedule.gamma":
		return r.Schedule.Kind != MultiStep && v.IsZero()
	case "schedule.warmup_epochs", "schedule.min_lr":
		return r.Schedule.Kind != Cosine && v.IsZero()
	}
	return false
}

func writeKey(b *strings.Builder, r *Recipe, path string, v reflect.Value) {
	if omitted(r, path, v) {
		return
	}
	key := path[strings.LastIndexByte(path, '.')+1:]
	fmt.Fprintf(b, "%s = %s\n", key, formatValue(v))
}

func formatValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return formatFloat(v.Float())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.String:
		return quote(v.String())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	panic(fmt.Sprintf("recipe: cannot encode %s", v.Type()))
}

// formatFloat writes the shortest decimal that reads back as x, always as a TOML float.
func formatFloat(x float64) string {
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f || c == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04X`, c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
