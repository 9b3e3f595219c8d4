package tomlconf

import (
	"errors"
	"testing"
)

func TestError(t *testing.T) {
	for _, tt := range []struct {
		err  *Error
		want string
	}{
		{&Error{File: "a.toml", Line: 3, Field: "blocks.step", Msg: "must be positive"}, "a.toml:3: blocks.step: must be positive"},
		{&Error{File: "a.toml", Field: "classes", Msg: "missing"}, "a.toml: classes: missing"},
		{&Error{File: "a.toml", Line: 1, Msg: "syntax error"}, "a.toml:1: syntax error"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	first := &Error{File: "a", Line: 1, Field: "x", Msg: "bad"}
	var err error = List{first, {File: "a", Line: 2, Field: "y", Msg: "worse"}}
	if got, want := err.Error(), "a:1: x: bad\na:2: y: worse"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(err, &e) || e != first {
		t.Errorf("errors.As found %v, want the first error", e)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"count", "count", 0}, {"cuont", "count", 2}, {"step_mod", "step_mode", 1},
		{"gr_factor", "bn_factor", 2}, {string(make([]byte, 65)), "x", 64},
	} {
		if got := EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
