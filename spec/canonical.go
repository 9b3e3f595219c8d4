package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/msdx/msdx/internal/tomlconf"
)

// Canonical returns s as TOML in a fixed form: keys in schema order, one table per section,
// every value explicit (defaults included), no extends, and the fields that the fusion rule,
// stem or head do not use left out. Two specs describe the same network exactly when their
// canonical forms without name and description are equal; Parse(Canonical()) gives s back.
func (s *Spec) Canonical() []byte {
	return s.canonical(true)
}

// Hash returns the hex SHA-256 of the canonical form without name and description: it
// identifies the architecture, whatever the file's formatting, key order, comments, use of
// extends or defaults, and whatever it is called. Use it to cache and deduplicate trials.
func (s *Spec) Hash() string {
	sum := sha256.Sum256(s.canonical(false))
	return hex.EncodeToString(sum[:])
}

func (s *Spec) canonical(withMeta bool) []byte {
	var w tomlconf.Writer
	for _, f := range fields {
		switch f.path {
		case "extends":
			continue
		case "name", "description":
			if !withMeta {
				continue
			}
		}
		v := f.ptr(s)
		if f.optional && isZero(v) {
			continue
		}
		w.Key(f.path, tomlValue(v))
	}
	return w.Bytes()
}

func isZero(v any) bool {
	switch p := v.(type) {
	case *string:
		return *p == ""
	case *int:
		return *p == 0
	case *float64:
		return *p == 0
	case *bool:
		return !*p
	case *[]int:
		return len(*p) == 0
	case *[3]int:
		return *p == [3]int{}
	case *Expr:
		return *p == ""
	case *[]Layer:
		return len(*p) == 0
	case *[]Unit:
		return len(*p) == 0
	}
	panic(fmt.Sprintf("spec: unexpected field type %T", v))
}

// tomlValue formats a field value (given by pointer) as a TOML value.
func tomlValue(v any) string {
	switch p := v.(type) {
	case *string:
		return tomlconf.String(*p)
	case *int:
		return strconv.Itoa(*p)
	case *float64:
		return tomlconf.Float(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *[]int:
		return tomlconf.Ints(*p)
	case *[3]int:
		return tomlconf.Ints(p[:])
	case *Expr:
		if isIntLiteral(string(*p)) {
			return string(*p)
		}
		return tomlconf.String(string(*p))
	case *[]Layer:
		return layersTOML(*p)
	case *[]Unit:
		return unitsTOML(*p)
	}
	panic(fmt.Sprintf("spec: unexpected field type %T", v))
}
