package tomlconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Decode functions convert a value of a decoded document to Go, and the Parse functions
// the text of a --set override; both say what they wanted and what they got.

// DecodeString converts a TOML string.
func DecodeString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("want a string, got %s", Describe(v))
}

// DecodeInt converts a TOML integer within ±limit. A float with an integer value is refused
// with the integer to write instead.
func DecodeInt(v any, limit int64) (int64, error) {
	x, ok := v.(int64)
	if !ok {
		if fl, isFloat := v.(float64); isFloat && fl == math.Trunc(fl) && math.Abs(fl) <= float64(limit) {
			return 0, fmt.Errorf("want an integer, got float %v (write %d)", fl, int64(fl))
		}
		return 0, fmt.Errorf("want an integer, got %s", Describe(v))
	}
	return inRange(x, limit)
}

func inRange(x, limit int64) (int64, error) {
	if x > limit || x < -limit {
		return 0, fmt.Errorf("%d is out of range (at most %d)", x, limit)
	}
	return x, nil
}

// DecodeFloat converts a TOML integer or float; infinities and NaN are refused.
func DecodeFloat(v any) (float64, error) {
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case int64:
		x = float64(n)
	default:
		return 0, fmt.Errorf("want a number, got %s", Describe(v))
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, fmt.Errorf("want a finite number, got %v", x)
	}
	return x, nil
}

// DecodeBool converts a TOML boolean.
func DecodeBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, fmt.Errorf("want true or false, got %s", Describe(v))
}

// DecodeFloats converts a TOML array of numbers.
func DecodeFloats(v any) ([]float64, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of numbers, got %s", Describe(v))
	}
	xs := make([]float64, len(items))
	for i, item := range items {
		x, err := DecodeFloat(item)
		if err != nil {
			return nil, fmt.Errorf("element %d: %v", i+1, err)
		}
		xs[i] = x
	}
	return xs, nil
}

// ParseString reads an override's string: as written, or quoted as in TOML ("a\tb", 'a').
func ParseString(text string) (string, error) {
	text = strings.TrimSpace(text)
	if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
		if text[0] == '\'' {
			return text[1 : len(text)-1], nil
		}
		u, err := strconv.Unquote(text)
		if err != nil {
			return "", fmt.Errorf("bad quoted string %s", text)
		}
		text = u
	}
	if !utf8.ValidString(text) {
		return "", fmt.Errorf("not valid UTF-8")
	}
	return text, nil
}

// ParseInt reads an override's integer within ±limit.
func ParseInt(text string, limit int64) (int64, error) {
	text = strings.TrimSpace(text)
	x, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %q", text)
	}
	return inRange(x, limit)
}

// ParseFloat reads an override's finite number.
func ParseFloat(text string) (float64, error) {
	text = strings.TrimSpace(text)
	x, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("want a finite number, got %q", text)
	}
	return x, nil
}

// ParseBool reads an override's true or false.
func ParseBool(text string) (bool, error) {
	text = strings.TrimSpace(text)
	b, err := strconv.ParseBool(text)
	if err != nil {
		return false, fmt.Errorf("want true or false, got %q", text)
	}
	return b, nil
}

// ParseFloats reads an override's list of numbers: "[0.5, 1]" or "0.5,1"; "[]" is empty.
func ParseFloats(text string) ([]float64, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
		t = strings.TrimSpace(t[1 : len(t)-1])
	}
	xs := []float64{}
	if t == "" {
		return xs, nil
	}
	for i, item := range strings.Split(t, ",") {
		x, err := ParseFloat(item)
		if err != nil {
			return nil, fmt.Errorf("element %d: %v", i+1, err)
		}
		xs = append(xs, x)
	}
	return xs, nil
}

// SplitSet splits an override "path=value" at its first "=", both sides trimmed; ok is false
// when there is no "=".
func SplitSet(text string) (path, value string, ok bool) {
	path, value, ok = strings.Cut(text, "=")
	return strings.TrimSpace(path), strings.TrimSpace(value), ok
}
