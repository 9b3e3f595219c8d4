package spec

import (
	"slices"
	"strings"
	"testing"

	"github.com/msdx/msdx/graph"
)

// TestLayerOpsAreGraphKinds checks the layer registry against the op kinds of package graph:
// every kind a layer op emits is registered there with its shape, parameter and cost rules
// (and, as graph's sample tests show, its forward, backward and export rules).
func TestLayerOpsAreGraphKinds(t *testing.T) {
	kinds := graph.Kinds()
	for _, op := range LayerOps() {
		if len(op.Kinds) == 0 {
			t.Errorf("layer op %s lists no graph kinds", op.Name)
		}
		for _, k := range op.Kinds {
			if !slices.Contains(kinds, k) {
				t.Errorf("layer op %s emits %s, which package graph does not register", op.Name, k)
			}
		}
	}
}

// TestShippedPartsDecode decodes every shipped part and checks the names the spec accepts.
func TestShippedPartsDecode(t *testing.T) {
	want := map[string][]string{
		PartStem:   {StemAddadCode, StemAddadSeparable, StemMSDNetCIFAR, StemMSDNetImageNet},
		PartHead:   {HeadAddad, HeadAddadImageNet, HeadMSDNetCIFAR, HeadMSDNetImageNet},
		PartFusion: {RuleDense, RuleMSDNet},
	}
	for kind, names := range want {
		if got := ShippedParts(kind); !slices.Equal(got, names) {
			t.Errorf("shipped %s parts %v, want %v", kind, got, names)
		}
		for _, name := range names {
			p := ShippedPart(kind, name)
			if p == nil || p.Description == "" {
				t.Errorf("%s part %s: %+v", kind, name, p)
			}
		}
	}
}

// TestExprEval covers the expression language of declared widths.
func TestExprEval(t *testing.T) {
	vars := map[string]int{"width": 16, "in": 6, "head.channels": 128}
	tests := []struct {
		expr string
		want int
		err  string
	}{
		{"16", 16, ""},
		{"2*width", 32, ""},
		{"width/2 + in", 14, ""},
		{"(width + 1)//2", 8, ""},
		{"head.channels - 4*(in-2)", 112, ""},
		{"-width + 17", 1, ""},
		{"width/3", 0, `"width/3" (width = 16) is 16/3, not a whole number`},
		{"in - 6", 0, `"in - 6" (in = 6) is 0; want at least 1`},
		{"width/(in-6)", 0, "division by zero"},
		{"widht", 0, `unknown name "widht"`},
		{"2 *", 0, "ends early"},
		{"(2", 0, "missing )"},
		{"3x3", 0, `unexpected "x3"`},
		{"", 0, "empty expression"},
	}
	for _, tt := range tests {
		got, err := Expr(tt.expr).Eval(vars, 1)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q = %d, %v; want %d", tt.expr, got, err, tt.want)
		case tt.err != "" && (err == nil || !contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want %q", tt.expr, err, tt.err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
