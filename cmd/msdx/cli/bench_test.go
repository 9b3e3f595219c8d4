package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBenchScalingPiped checks that piped, "msdx bench --scaling" prints both tables, each
// after a "# " line naming it, with one scaling row per thread count in the order asked.
func TestBenchScalingPiped(t *testing.T) {
	out, errOut, code := run(t, false, "bench", "msdnet-cifar10-small", "--batch", "2", "--time", "1ms",
		"--scaling", "2,1", "--rounds", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var titles, scalingRows []string
	inScaling := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			titles = append(titles, line)
			inScaling = strings.HasPrefix(line, "# scaling")
		case inScaling && !strings.HasPrefix(line, "threads"):
			scalingRows = append(scalingRows, strings.Split(line, "\t")[0])
		}
	}
	if len(titles) != 2 || !strings.HasPrefix(titles[0], "# msdnet-cifar10-small  batch 2") {
		t.Errorf("titles %q, want the run's and the scaling table's", titles)
	}
	if diff := cmp.Diff([]string{"2", "1"}, scalingRows); diff != "" {
		t.Errorf("scaling rows' thread counts (-want +got):\n%s\n%s", diff, out)
	}
}

// TestBenchUsage checks that bad flags are usage errors.
func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--scaling", "1,0"},
		{"--rounds", "0"},
		{"--batch", "0"},
	} {
		_, errOut, code := run(t, false, append([]string{"bench", "msdnet-cifar10-small"}, args...)...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errOut)
		}
	}
}
