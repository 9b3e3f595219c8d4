// Package search is msdx's architecture search: a search space of spec overrides read
// from TOML, constraints on the analytic per-exit cost that are checked before anything
// trains, samplers (grid, random, NSGA-II), the objectives that score a multi-exit
// network by its accuracy-versus-cost curve, and a driver that trains candidates with
// successive halving and Pareto-aware pruning on a study directory.
//
// # Space files
//
// A space file names a base spec and the parameters to vary:
//
//	base = "msdnet-cifar10-small"   # a preset, or a spec file relative to this file
//	sets = ["classes=10"]           # fixed overrides, applied first (optional)
//
//	[[param]]
//	path = "growth"                 # any spec field path, as for --set
//	values = [4, 6, 8]              # choices: TOML scalars, or integer lists ([1, 2, 4])
//
//	[[param]]
//	path = "blocks.count"
//	int = [2, 8]                    # integers lo..hi, both included
//	step = 2                        # optional, default 1
//
//	[[param]]
//	path = "reduction"
//	float = [0.25, 0.75]            # reals in [lo, hi]
//	log = false                     # optional: sample log-uniformly
//	levels = 3                      # optional: points of the grid sampler (default 5)
//
//	[[constraint]]
//	exit = "last"                   # "first", "last" or a 1-based exit number
//	max_macs = 64e6                 # and/or min_macs, max_params, min_params
//
//	[match]                         # optional: place every candidate on a cost
//	by = "channels"                 # the integer spec field scaled
//	macs = 64.5e6                   # the cost to reach
//	measure = "last-exit"           # or "curve": the mean over exits (default last-exit)
//
// With [match], a candidate's spec ends with "by=value", the value of the field that
// brings its cost nearest macs (package costmatch), so that candidates which differ in
// shape are compared at the same cost; a candidate no value brings within
// costmatch.Tolerance of it is infeasible, with the nearest value and gap as the reason.
// The field cannot also be a parameter.
//
// A candidate is one value per parameter; its spec is the base resolved with the fixed
// sets, written in canonical form (every field explicit, as a study's base.toml), then
// "path=value" for every parameter (see Space.Resolve), and its cost comes from the
// builder and package flops. MACs and parameters are
// cumulative per exit in the reference (execution) semantics. A candidate that does not
// resolve or build, or that violates a constraint, is infeasible: it is reported with the
// reason and never trains.
//
// Problems in a space file are reported together, each naming the file, line and field
// ("space.toml:9: param[2].int: lo 8 is above hi 2").
package search

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/msdx/msdx/costmatch"
	"github.com/msdx/msdx/internal/tomlconf"
	"github.com/msdx/msdx/spec"
)

// Space is a parsed search space.
type Space struct {
	// File is the space file's name, as given.
	File string
	// Base is the base spec: a preset name, or a spec file path (made relative to the
	// working directory when the space file gave it relative to itself).
	Base string
	// Sets are fixed overrides applied to the base before the parameters.
	Sets []string
	// Params are the varied fields, in file order.
	Params []Param
	// Constraints are the cost constraints, in file order.
	Constraints []Constraint
	// Match, when not nil, places every candidate on a cost.
	Match *Match

	// base is the base resolved with Sets, in canonical form: what a study's base.toml
	// holds, and what every candidate resolves against.
	base []byte

	mu     sync.Mutex
	placed map[string]placement // by Candidate.Key
}

// Match places the candidates of a space on a cost by scaling one integer field.
type Match struct {
	// By is the spec field path scaled ("channels").
	By string
	// MACs is the cost every candidate is brought to, in Measure.
	MACs    float64
	Measure costmatch.Measure
	// Line is the line of the [match] header.
	Line int
}

// placement is a candidate's matched field value, or why it has none.
type placement struct {
	result *costmatch.Result
	err    error
}

// Param kinds.
const (
	Choice = "choice" // one of Values
	Int    = "int"    // integers Lo..Hi by Step
	Float  = "float"  // reals in [Lo, Hi], log-uniform when Log
)

// Param is one varied spec field.
type Param struct {
	// Path is the spec field path ("blocks.count").
	Path string
	// Kind is Choice, Int or Float.
	Kind string
	// Values are the choices, as --set value texts.
	Values []string
	// Lo, Hi and Step bound an Int or Float parameter; Step is 1 or more for Int.
	Lo, Hi float64
	Step   int
	// Log samples a Float log-uniformly.
	Log bool
	// Levels is the number of grid points of a Float.
	Levels int
	// Line is the line of the parameter's [[param]] header.
	Line int
}

// Constraint bounds the cost of one exit. Zero bounds are absent.
type Constraint struct {
	// Exit is the 1-based exit; 0 means the first exit and -1 the last.
	Exit                 int
	MaxMACs, MinMACs     float64
	MaxParams, MinParams float64
	Line                 int
}

// Exit numbers of a Constraint besides 1-based numbers.
const (
	FirstExit = 0
	LastExit  = -1
)

// levels is the number of distinct values of p in the grid and in the encoding.
func (p Param) levels() int {
	switch p.Kind {
	case Choice:
		return len(p.Values)
	case Int:
		return int(p.Hi-p.Lo)/p.Step + 1
	}
	return p.Levels
}

// Decode maps u in [0, 1] to the parameter's value text: the choices and integers are
// cut into equal intervals, reals are lo + u(hi-lo) (or the same in logarithms).
func (p Param) Decode(u float64) string {
	u = math.Min(math.Max(u, 0), 1)
	switch p.Kind {
	case Choice, Int:
		n := p.levels()
		i := min(int(u*float64(n)), n-1)
		return p.level(i)
	}
	var x float64
	if p.Log {
		x = math.Exp(math.Log(p.Lo) + u*(math.Log(p.Hi)-math.Log(p.Lo)))
	} else {
		x = p.Lo + u*(p.Hi-p.Lo)
	}
	return formatFloat(x)
}

// level returns the i-th grid value of p.
func (p Param) level(i int) string {
	switch p.Kind {
	case Choice:
		return p.Values[i]
	case Int:
		return strconv.Itoa(int(p.Lo) + i*p.Step)
	}
	if p.Levels == 1 {
		return formatFloat(p.Lo)
	}
	u := float64(i) / float64(p.Levels-1)
	if p.Log {
		return formatFloat(math.Exp(math.Log(p.Lo) + u*(math.Log(p.Hi)-math.Log(p.Lo))))
	}
	return formatFloat(p.Lo + u*(p.Hi-p.Lo))
}

// Encode maps a value text of p back to the centre of its interval in [0, 1] (a real's
// own position); ok is false when the value is not one of p's.
func (p Param) Encode(value string) (u float64, ok bool) {
	switch p.Kind {
	case Choice, Int:
		n := p.levels()
		for i := 0; i < n; i++ {
			if p.level(i) == value {
				return (float64(i) + 0.5) / float64(n), true
			}
		}
		return 0, false
	}
	x, err := strconv.ParseFloat(value, 64)
	if err != nil || x < p.Lo || x > p.Hi {
		return 0, false
	}
	if p.Hi == p.Lo {
		return 0.5, true
	}
	if p.Log {
		return (math.Log(x) - math.Log(p.Lo)) / (math.Log(p.Hi) - math.Log(p.Lo)), true
	}
	return (x - p.Lo) / (p.Hi - p.Lo), true
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

// ErrorList is every problem found in one space file, in line order. LoadSpace and
// ParseSpace return one for any problem with the file's content.
type ErrorList []*tomlconf.Error

// Error prints one problem per line.
func (l ErrorList) Error() string { return tomlconf.List(l).Error() }

// Unwrap gives the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error { return tomlconf.List(l).Unwrap() }

// LoadSpace reads and checks a space file.
func LoadSpace(path string) (*Space, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: tomlconf.ReadErrorMsg(err)}}
	}
	return ParseSpace(path, data)
}

// ParseSpace is LoadSpace for a document in memory; name is the file name used in errors
// and to find a base spec file given relative to the space file.
func ParseSpace(name string, data []byte) (*Space, error) {
	doc, err := tomlconf.Decode(name, data)
	if err != nil {
		return nil, ErrorList{err}
	}
	p := &spaceParser{doc: doc, sp: &Space{File: name}}
	p.parse(doc.Values)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	return p.sp, nil
}

type spaceParser struct {
	doc  *tomlconf.Doc
	sp   *Space
	errs ErrorList
}

func (p *spaceParser) bad(field, format string, args ...any) {
	p.errs = append(p.errs, p.doc.Errorf(field, format, args...))
}

func (p *spaceParser) parse(raw map[string]any) {
	for _, k := range sortedKeys(raw) {
		switch k {
		case "base", "sets", "param", "constraint", "match":
		default:
			p.bad(k, "unknown key (want base, sets, [[param]], [[constraint]] or [match])")
		}
	}
	base, ok := raw["base"].(string)
	switch {
	case raw["base"] == nil:
		p.bad("base", `a space needs a base spec: base = "PRESET" or "spec.toml"`)
	case !ok || base == "":
		p.bad("base", "want a preset name or spec file, got %s", tomlconf.Describe(raw["base"]))
	default:
		if _, err := os.Stat(base); err != nil && !filepath.IsAbs(base) && strings.HasSuffix(base, ".toml") {
			if rel := filepath.Join(filepath.Dir(p.doc.File), base); fileExists(rel) {
				base = rel
			}
		}
		p.sp.Base = base
	}
	if v, ok := raw["sets"]; ok {
		list, isList := v.([]any)
		if !isList {
			p.bad("sets", `want a list of "path=value" strings, got %s`, tomlconf.Describe(v))
		}
		for i, x := range list {
			s, isStr := x.(string)
			if !isStr {
				p.bad("sets", "element %d: want a \"path=value\" string, got %s", i+1, tomlconf.Describe(x))
				continue
			}
			if err := spec.CheckSet(s); err != nil {
				p.bad("sets", "%q: %v", s, err)
				continue
			}
			p.sp.Sets = append(p.sp.Sets, s)
		}
	}
	params, _ := raw["param"].([]map[string]any)
	if v, ok := raw["param"]; ok && params == nil {
		p.bad("param", "want [[param]] tables, got %s", tomlconf.Describe(v))
	}
	seen := map[string]int{}
	for i, m := range params {
		if prm, ok := p.param(i+1, m); ok {
			if first, dup := seen[prm.Path]; dup {
				p.bad(fmt.Sprintf("param[%d].path", i+1), "%s is already varied by param[%d]", prm.Path, first)
				continue
			}
			seen[prm.Path] = i + 1
			p.sp.Params = append(p.sp.Params, prm)
		}
	}
	if len(params) == 0 && raw["param"] == nil {
		p.bad("param", "a space needs at least one [[param]]")
	}
	cons, _ := raw["constraint"].([]map[string]any)
	if v, ok := raw["constraint"]; ok && cons == nil {
		p.bad("constraint", "want [[constraint]] tables, got %s", tomlconf.Describe(v))
	}
	for i, m := range cons {
		if c, ok := p.constraint(i+1, m); ok {
			p.sp.Constraints = append(p.sp.Constraints, c)
		}
	}
	if v, ok := raw["match"]; ok {
		p.match(v, seen)
	}
	if p.sp.Base != "" && len(p.errs) == 0 {
		b, err := spec.Resolve(p.sp.Base, p.sp.Sets)
		if err != nil {
			p.bad("base", "the base spec does not resolve: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
		} else {
			p.sp.base = b.Canonical()
		}
	}
	if m := p.sp.Match; m != nil && p.sp.base != nil {
		// The base must have the field as an integer; its cost need not be near the target.
		resolve := func(extra []string) (*spec.Spec, error) { return spec.Parse(p.sp.Base, p.sp.base, extra) }
		if _, err := costmatch.Match(resolve, m.By, m.MACs, m.Measure); err != nil {
			p.bad("match.by", "%v", err)
		}
	}
}

// match parses the [match] table; params maps the varied paths to their param numbers.
func (p *spaceParser) match(v any, params map[string]int) {
	m, ok := v.(map[string]any)
	if !ok {
		p.bad("match", "want a [match] table, got %s", tomlconf.Describe(v))
		return
	}
	errs := len(p.errs)
	mt := &Match{Measure: costmatch.LastExit, Line: p.doc.Lines["match"]}
	for _, k := range sortedKeys(m) {
		at := "match." + k
		switch x := m[k]; k {
		case "by":
			by, ok := x.(string)
			if !ok || by == "" {
				p.bad(at, "want an integer spec field path such as \"channels\", got %s", tomlconf.Describe(x))
				continue
			}
			if n, varied := params[by]; varied {
				p.bad(at, "%s is varied by param[%d]; the matched field cannot also be a parameter", by, n)
				continue
			}
			mt.By = by
		case "macs":
			f, ok := p.positive(at, x, "number of MACs")
			if !ok {
				continue
			}
			mt.MACs = f
		case "measure":
			str, _ := x.(string)
			measure, err := costmatch.ParseMeasure(str)
			if err != nil {
				p.bad(at, "%v", err)
				continue
			}
			mt.Measure = measure
		default:
			p.bad(at, "unknown key (want by, macs, measure)")
		}
	}
	if len(p.errs) > errs {
		return
	}
	if mt.By == "" || mt.MACs == 0 {
		p.bad("match", "[match] needs by (the field to scale) and macs (the cost to reach)")
		return
	}
	p.sp.Match = mt
}

// BaseSpec returns the space's base resolved with its fixed sets: the base.toml of a
// study that trains the space's candidates.
func (s *Space) BaseSpec() (*spec.Spec, error) {
	if s.base == nil { // a Space not made by ParseSpace
		return spec.Resolve(s.Base, s.Sets)
	}
	return spec.Parse(s.Base, s.base, nil)
}

// Resolve returns candidate c's spec: the canonical form of BaseSpec with Overrides(c)
// applied. Resolving against the canonical form, in which every field is explicit, is
// what a study does with its base.toml, so a candidate's spec (and hash) is the same
// whether the space costs it or a study trains it. Defaults that follow other fields
// (stem.stride of the Addad stems, head.channels of a head kind, the fusion rule's
// defaults) are therefore the base's values unless a parameter sets them.
func (s *Space) Resolve(c Candidate) (*spec.Spec, error) {
	base := s.base
	if base == nil { // a Space not made by ParseSpace
		b, err := spec.Resolve(s.Base, s.Sets)
		if err != nil {
			return nil, err
		}
		base = b.Canonical()
	}
	return spec.Parse(s.Base, base, s.Overrides(c))
}

// canonicalBase returns the base in canonical form.
func (s *Space) canonicalBase() ([]byte, error) {
	if s.base != nil {
		return s.base, nil
	}
	b, err := spec.Resolve(s.Base, s.Sets) // a Space not made by ParseSpace
	if err != nil {
		return nil, err
	}
	return b.Canonical(), nil
}

// Place returns the value of the matched field that places candidate c on the space's
// cost (nil, nil when the space has no [match]); it is computed once per candidate.
func (s *Space) Place(c Candidate) (*costmatch.Result, error) {
	if s.Match == nil {
		return nil, nil
	}
	key := c.Key()
	s.mu.Lock()
	p, ok := s.placed[key]
	s.mu.Unlock()
	if ok {
		return p.result, p.err
	}
	base, err := s.canonicalBase()
	if err == nil {
		params := s.paramOverrides(c)
		resolve := func(extra []string) (*spec.Spec, error) {
			return spec.Parse(s.Base, base, append(append([]string(nil), params...), extra...))
		}
		p.result, p.err = costmatch.Match(resolve, s.Match.By, s.Match.MACs, s.Match.Measure)
	} else {
		p.err = err
	}
	s.mu.Lock()
	if s.placed == nil {
		s.placed = map[string]placement{}
	}
	s.placed[key] = p
	s.mu.Unlock()
	return p.result, p.err
}

func (p *spaceParser) param(n int, m map[string]any) (Param, bool) {
	at := func(k string) string { return fmt.Sprintf("param[%d].%s", n, k) }
	errs := len(p.errs)
	prm := Param{Line: p.doc.Lines[fmt.Sprintf("param[%d]", n)]}
	for _, k := range sortedKeys(m) {
		switch k {
		case "path", "values", "int", "float", "step", "log", "levels":
		default:
			p.bad(at(k), "unknown key (want path, and values, int or float; step, log, levels)")
		}
	}
	path, _ := m["path"].(string)
	if path == "" {
		p.bad(at("path"), "want a spec field path such as \"blocks.count\", got %s", tomlconf.Describe(m["path"]))
		return prm, false
	}
	prm.Path = path
	check := func(key, value string) bool {
		if err := spec.CheckSet(path + "=" + value); err != nil {
			p.bad(at(key), "%s=%s: %v", path, value, err)
			return false
		}
		return true
	}
	var kinds []string
	for _, k := range []string{"values", "int", "float"} {
		if _, ok := m[k]; ok {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		p.bad(at("path"), "want exactly one of values, int or float, got %d", len(kinds))
		return prm, false
	}
	if _, ok := m["step"]; ok && kinds[0] != "int" {
		p.bad(at("step"), "step belongs to int ranges")
	}
	for _, k := range []string{"log", "levels"} {
		if _, ok := m[k]; ok && kinds[0] != "float" {
			p.bad(at(k), "%s belongs to float ranges", k)
		}
	}
	switch kinds[0] {
	case "values":
		prm.Kind = Choice
		list, ok := m["values"].([]any)
		if !ok || len(list) == 0 {
			p.bad(at("values"), "want a non-empty list of values, got %s", tomlconf.Describe(m["values"]))
			break
		}
		dup := map[string]bool{}
		for i, v := range list {
			text, err := valueText(v)
			if err != nil {
				p.bad(at("values"), "element %d: %v", i+1, err)
				continue
			}
			if dup[text] {
				p.bad(at("values"), "element %d: %s appears twice", i+1, text)
				continue
			}
			dup[text] = true
			if check("values", text) {
				prm.Values = append(prm.Values, text)
			}
		}
	case "int":
		prm.Kind, prm.Step = Int, 1
		lo, hi, ok := p.pair(at("int"), m["int"], true)
		if !ok {
			break
		}
		prm.Lo, prm.Hi = lo, hi
		if v, ok := m["step"]; ok {
			s, isInt := v.(int64)
			if !isInt || s < 1 {
				p.bad(at("step"), "want a positive integer, got %s", tomlconf.Describe(v))
			} else {
				prm.Step = int(s)
			}
		}
		if (int(hi)-int(lo))%prm.Step != 0 {
			p.bad(at("step"), "step %d does not divide hi - lo = %d", prm.Step, int(hi)-int(lo))
		}
		check("int", strconv.Itoa(int(lo)))
		check("int", strconv.Itoa(int(hi)))
	case "float":
		prm.Kind, prm.Levels = Float, 5
		lo, hi, ok := p.pair(at("float"), m["float"], false)
		if !ok {
			break
		}
		prm.Lo, prm.Hi = lo, hi
		if v, ok := m["log"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				p.bad(at("log"), "want true or false, got %s", tomlconf.Describe(v))
			}
			prm.Log = b
			if b && lo <= 0 {
				p.bad(at("float"), "a log range needs lo > 0, got %v", lo)
			}
		}
		if v, ok := m["levels"]; ok {
			l, isInt := v.(int64)
			if !isInt || l < 1 || l > 1000 {
				p.bad(at("levels"), "want an integer from 1 to 1000, got %s", tomlconf.Describe(v))
			} else {
				prm.Levels = int(l)
			}
		}
		if lo == hi {
			prm.Levels = 1
		}
		check("float", formatFloat(lo))
	}
	return prm, len(p.errs) == errs
}

// pair reads [lo, hi] with lo <= hi.
func (p *spaceParser) pair(field string, v any, integer bool) (lo, hi float64, ok bool) {
	list, isList := v.([]any)
	want := "[lo, hi] of numbers"
	if integer {
		want = "[lo, hi] of integers"
	}
	if !isList || len(list) != 2 {
		p.bad(field, "want %s, got %s", want, tomlconf.Describe(v))
		return 0, 0, false
	}
	var xs [2]float64
	for i, x := range list {
		switch n := x.(type) {
		case int64:
			xs[i] = float64(n)
		case float64:
			if integer {
				p.bad(field, "want %s, got %s", want, tomlconf.Describe(x))
				return 0, 0, false
			}
			xs[i] = n
		default:
			p.bad(field, "want %s, got %s", want, tomlconf.Describe(x))
			return 0, 0, false
		}
	}
	if xs[0] > xs[1] {
		p.bad(field, "lo %v is above hi %v", xs[0], xs[1])
		return 0, 0, false
	}
	if integer && xs[1]-xs[0] > 1<<20 {
		p.bad(field, "range of %v integers is too wide", xs[1]-xs[0]+1)
		return 0, 0, false
	}
	return xs[0], xs[1], true
}

func (p *spaceParser) constraint(n int, m map[string]any) (Constraint, bool) {
	at := func(k string) string { return fmt.Sprintf("constraint[%d].%s", n, k) }
	errs := len(p.errs)
	c := Constraint{Exit: LastExit, Line: p.doc.Lines[fmt.Sprintf("constraint[%d]", n)]}
	bounds := 0
	for _, k := range sortedKeys(m) {
		v := m[k]
		var dst *float64
		switch k {
		case "exit":
			switch x := v.(type) {
			case string:
				switch x {
				case "first":
					c.Exit = FirstExit
				case "last":
					c.Exit = LastExit
				default:
					p.bad(at(k), `want "first", "last" or an exit number, got %s`, tomlconf.Describe(v))
				}
			case int64:
				if x < 1 {
					p.bad(at(k), "exit numbers start at 1, got %d", x)
				}
				c.Exit = int(x)
			default:
				p.bad(at(k), `want "first", "last" or an exit number, got %s`, tomlconf.Describe(v))
			}
			continue
		case "max_macs":
			dst = &c.MaxMACs
		case "min_macs":
			dst = &c.MinMACs
		case "max_params":
			dst = &c.MaxParams
		case "min_params":
			dst = &c.MinParams
		default:
			p.bad(at(k), "unknown key (want exit, max_macs, min_macs, max_params, min_params)")
			continue
		}
		x, ok := p.positive(at(k), v, "number")
		if !ok {
			continue
		}
		*dst = x
		bounds++
	}
	if bounds == 0 && len(p.errs) == errs {
		p.bad(fmt.Sprintf("constraint[%d]", n), "a constraint needs max_macs, min_macs, max_params or min_params")
	}
	if c.MinMACs > 0 && c.MaxMACs > 0 && c.MinMACs > c.MaxMACs {
		p.bad(at("min_macs"), "min_macs %g is above max_macs %g", c.MinMACs, c.MaxMACs)
	}
	if c.MinParams > 0 && c.MaxParams > 0 && c.MinParams > c.MaxParams {
		p.bad(at("min_params"), "min_params %g is above max_params %g", c.MinParams, c.MaxParams)
	}
	return c, len(p.errs) == errs
}

// positive reads a TOML number that must be positive and finite; what says what kind of
// number the field wants ("number of MACs").
func (p *spaceParser) positive(field string, v any, what string) (float64, bool) {
	var x float64
	switch y := v.(type) {
	case int64:
		x = float64(y)
	case float64:
		x = y
	default:
		p.bad(field, "want a %s, got %s", what, tomlconf.Describe(v))
		return 0, false
	}
	if !(x > 0) || math.IsInf(x, 0) {
		p.bad(field, "want a positive %s, got %v", what, x)
		return 0, false
	}
	return x, true
}

// valueText writes a TOML value as a --set value.
func valueText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("want a finite number, got %v", x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			n, ok := e.(int64)
			if !ok {
				return "", fmt.Errorf("a list value must hold integers, got %s", tomlconf.Describe(e))
			}
			parts[i] = strconv.FormatInt(n, 10)
		}
		return strings.Join(parts, "-"), nil
	}
	return "", fmt.Errorf("want a scalar or a list of integers, got %s", tomlconf.Describe(v))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func fileExists(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && !fi.IsDir()
}
