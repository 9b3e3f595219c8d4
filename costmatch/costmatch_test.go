package costmatch

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/spec"
)

// quadratic is a cost known by hand: one exit of 100·v² MACs, and a second exit of
// twice that, so that the curve measure is 150·v².
func quadratic(unbuildable ...int) func(int) ([]flops.ExitCost, error) {
	return func(v int) ([]flops.ExitCost, error) {
		for _, u := range unbuildable {
			if v == u {
				return nil, errors.New("does not build")
			}
		}
		c := int64(100 * v * v)
		return []flops.ExitCost{{Exit: 1, Totals: flops.Totals{MACs: c}}, {Exit: 2, Totals: flops.Totals{MACs: 2 * c}}}, nil
	}
}

func TestMatchKnownAnswers(t *testing.T) {
	type want struct {
		Value int
		Cost  float64
	}
	for _, tc := range []struct {
		name        string
		from        int
		target      float64
		measure     Measure
		unbuildable []int
		want        want
	}{
		// last exit 200·v²: 200·30² = 180,000 exactly.
		{"exact from below", 4, 180000, LastExit, nil, want{30, 180000}},
		{"exact from above", 100, 180000, LastExit, nil, want{30, 180000}},
		{"exact at start", 30, 180000, LastExit, nil, want{30, 180000}},
		// 200·v² = 190,000 at v = 30.82: 31 (192,200, +1.2 %) is nearer than 30 (−5.3 %).
		{"nearest above", 8, 190000, LastExit, nil, want{31, 192200}},
		// curve 150·v²: 150·20² = 60,000.
		{"curve", 3, 60000, Curve, nil, want{20, 60000}},
		// 30 does not build: its neighbours 29 (168,200, −6.6 %) and 31 (192,200, +6.8 %).
		{"skips an unbuildable value", 4, 180000, LastExit, []int{30}, want{29, 168200}},
		// Even v = 1 costs 200: the smallest value is the nearest achievable.
		{"below reach", 16, 50, LastExit, nil, want{1, 200}},
		// Nothing reaches 1e12 below MaxValue = 16384 (200·16384² ≈ 5.4e10).
		{"above reach", 16, 1e12, LastExit, nil, want{16384, 200 * 16384 * 16384}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := match(quadratic(tc.unbuildable...), "width", tc.from, tc.target, tc.measure)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, want{r.Value, r.Cost}); diff != "" {
				t.Errorf("match (-want +got):\n%s", diff)
			}
			if r.From != tc.from || r.Knob != "width" || r.Set() != "width="+strconv.Itoa(r.Value) {
				t.Errorf("result %+v: from, knob or set wrong", r)
			}
			if gap := (r.Cost - tc.target) / tc.target; r.Gap != gap {
				t.Errorf("gap %g, want %g", r.Gap, gap)
			}
		})
	}
}

func TestMatchStartMustBuild(t *testing.T) {
	_, err := match(quadratic(7), "width", 7, 1000, LastExit)
	if err == nil || !strings.Contains(err.Error(), "width = 7") {
		t.Fatalf("err = %v, want one naming width = 7", err)
	}
}

// A real spec scaled back to a cost it has at a known value must find that value.
func TestMatchSpecRoundTrip(t *testing.T) {
	resolve := func(sets []string) Resolver {
		return func(extra []string) (*spec.Spec, error) {
			return spec.Resolve("msdnet-cifar10-small", append(append([]string(nil), sets...), extra...))
		}
	}
	for _, tc := range []struct {
		knob    string
		value   int
		measure Measure
	}{
		{"channels", 24, LastExit},
		{"channels", 11, Curve},
		{"growth", 10, LastExit},
		{"head.channels", 64, LastExit},
	} {
		exits, err := Cost(resolve([]string{tc.knob + "=" + strconv.Itoa(tc.value)}), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Match(resolve(nil), tc.knob, tc.measure.Of(exits), tc.measure)
		if err != nil {
			t.Fatal(err)
		}
		if r.Value != tc.value || r.Gap != 0 || !r.Within() {
			t.Errorf("%s %s: matched %d (gap %g), want %d exactly", tc.knob, tc.measure, r.Value, r.Gap, tc.value)
		}
	}
}

func TestMatchErrors(t *testing.T) {
	resolve := func(extra []string) (*spec.Spec, error) { return spec.Resolve("msdnet-cifar10-small", extra) }
	for _, tc := range []struct {
		knob   string
		target float64
		want   string
	}{
		{"reduction", 1e6, "not an integer"},
		{"no_such_field", 1e6, "not a field"},
		{"channels", 0, "positive"},
		{"channels", math.NaN(), "positive"},
	} {
		_, err := Match(resolve, tc.knob, tc.target, LastExit)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Match(%s, %g): err = %v, want one saying %q", tc.knob, tc.target, err, tc.want)
		}
	}
}

func TestParseMeasure(t *testing.T) {
	for in, want := range map[string]Measure{"last": LastExit, "last-exit": LastExit, "curve": Curve} {
		if got, err := ParseMeasure(in); err != nil || got != want {
			t.Errorf("ParseMeasure(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseMeasure("mean"); err == nil {
		t.Error("ParseMeasure(mean) succeeded")
	}
}
