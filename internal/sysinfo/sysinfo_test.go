package sysinfo

import (
	"path/filepath"
	"testing"
)

func TestCPUModel(t *testing.T) {
	tests := []struct{ path, want string }{
		{filepath.Join("testdata", "cpuinfo"), "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"},
		{filepath.Join("testdata", "missing"), ""},
	}
	for _, tt := range tests {
		if got := cpuModel(tt.path); got != tt.want {
			t.Errorf("cpuModel(%s) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
