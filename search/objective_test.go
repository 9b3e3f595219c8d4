package search

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/curve"
)

func TestCurveObjectives(t *testing.T) {
	exits := []curve.Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}, {MACs: 40, Top1: 80}}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"last top1", LastTop1(exits), 80},
		{"mean top1", MeanTop1(exits), 200.0 / 3},
		{"last MACs", LastMACs(exits), 40},
		{"mean MACs", MeanMACs(exits), 70.0 / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.Abs(tt.got-tt.want) > 1e-12 {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	if !math.IsNaN(LastTop1(nil)) {
		t.Errorf("empty curves should give NaN")
	}
}

func TestParseObjectives(t *testing.T) {
	tests := []struct {
		text    string
		want    []string // name:direction
		wantErr string
	}{
		{text: "last_top1,last_macs", want: []string{"last_top1:max", "last_macs:min"}},
		{text: "max:params, anytime_auc", want: []string{"params:max", "anytime_auc:max"}},
		{text: "flops", wantErr: `unknown objective "flops" (known: last_top1, mean_top1, anytime_auc, budget_auc, last_macs, mean_macs, first_macs, params, exits)`},
		{text: "up:params", wantErr: `objective "up:params": direction "up" is not min or max`},
		{text: "params,params", wantErr: `objective "params" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			objs, err := ParseObjectives(tt.text)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			var got []string
			for _, o := range objs {
				dir := "min"
				if o.Maximize {
					dir = "max"
				}
				got = append(got, o.Name+":"+dir)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("objectives (-want +got):\n%s", diff)
			}
		})
	}
}
