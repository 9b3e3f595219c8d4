package recipe

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/msdx/msdx/internal/tomlconf"
)

// Canonical returns the recipe as TOML in a fixed form: every field in declaration order,
// top-level keys first, then one table per section; schedule fields that the schedule kind
// does not use and an empty description, exit_weights or resized_crop_* are left out (so
// recipes written before those keys existed keep their bytes). Loading the result
// gives back an equal Recipe, and equal recipes give identical bytes, so it can be stored in
// a run directory and compared.
func (r *Recipe) Canonical() []byte {
	var w tomlconf.Writer
	w.Comment("msdx training recipe (canonical form)")
	rv := reflect.ValueOf(r).Elem()
	rt := rv.Type()
	// Top-level scalars must come before the first table header.
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).Type.Kind() != reflect.Struct {
			writeKey(&w, r, rt.Field(i).Tag.Get("toml"), rv.Field(i))
		}
	}
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).Type.Kind() != reflect.Struct {
			continue
		}
		table := rt.Field(i).Tag.Get("toml")
		sv, st := rv.Field(i), rt.Field(i).Type
		for j := 0; j < st.NumField(); j++ {
			writeKey(&w, r, table+"."+st.Field(j).Tag.Get("toml"), sv.Field(j))
		}
	}
	return w.Bytes()
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

func writeKey(w *tomlconf.Writer, r *Recipe, path string, v reflect.Value) {
	if omitted(r, path, v) {
		return
	}
	w.Key(path, formatValue(v))
}

func formatValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return tomlconf.Float(v.Float())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.String:
		return tomlconf.String(v.String())
	case reflect.Slice:
		return tomlconf.Floats(v.Interface().([]float64))
	}
	panic(fmt.Sprintf("recipe: cannot encode %s", v.Type()))
}
