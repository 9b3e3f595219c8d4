package evaluate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/curve"
)

func TestDir(t *testing.T) {
	for _, tt := range []struct{ weights, split, want string }{
		{"final", "test", filepath.Join("r", "eval")},
		{"best", "test", filepath.Join("r", "eval", "best-test")},
		{"final", "val", filepath.Join("r", "eval", "final-val")},
	} {
		if got := Dir("r", tt.weights, tt.split); got != tt.want {
			t.Errorf("Dir(r, %s, %s) = %s, want %s", tt.weights, tt.split, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	const settings = `"budgeted": {"settings": [
		{"test": {"top1_percent": 70, "expected_cost": {"reference": 20}}},
		{"test": {"top1_percent": 50, "expected_cost": {"reference": 10}}}]}`
	tests := []struct {
		name, doc, wantErr string
	}{
		{"ok", `{"spec": "s", ` + settings + `}`, ""},
		{"unknown field", `{"spec": "s", "spek": "t", ` + settings + `}`, `unknown field "spek"`},
		{"no budget", `{"spec": "s"}`, "no budget settings"},
		{"not JSON", `{"spec": `, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ReportFile), []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Load(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := rep.BudgetedCurve(CostReference)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]curve.Point{{MACs: 10, Top1: 50}, {MACs: 20, Top1: 70}}, got); diff != "" {
				t.Errorf("BudgetedCurve (-want +got):\n%s", diff)
			}
			if _, err := rep.BudgetedCurve(CostCone); err == nil {
				t.Errorf("BudgetedCurve(%s) of a report without that cost: no error", CostCone)
			}
		})
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a directory without %s: %v, want os.ErrNotExist", ReportFile, err)
	}
}
