package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeSpace(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "space.toml")
	src := `base = "msdnet-cifar10-small"
[[param]]
path = "growth"
values = [4, 8]
[[param]]
path = "blocks.count"
int = [2, 4]
[[constraint]]
max_macs = 20e6
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSearchNoTrain(t *testing.T) {
	space := writeSpace(t)
	// The costs are msdx flops's: "msdx flops msdnet-cifar10-small --set growth=4 --set
	// blocks.count=3" gives 7231754, 10608660 and 13403422 MACs.
	t.Run("piped", func(t *testing.T) {
		stdout, stderr, code := run(t, false, "search", space, "--no-train")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		want := "growth\tblocks.count\texits\tfirst MACs\tlast MACs\tparams\texit MACs\n" +
			"4\t2\t2\t6708490\t8450580\t442708\t6708490 8450580\n" +
			"4\t3\t3\t7231754\t13403422\t768430\t7231754 10608660 13403422\n" +
			"4\t4\t4\t7231754\t15582504\t978800\t7231754 10608660 13403422 15582504\n"
		if diff := cmp.Diff(want, stdout); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
	})
	t.Run("json target range", func(t *testing.T) {
		stdout, stderr, code := run(t, false, "search", space, "--no-train", "--json", "--target-range", "7.2e6:13.4e6", "--tolerance", "0.05", "--front", "last_macs,params")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep SearchCostReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		got := []any{rep.Sampler, rep.Evaluated, rep.Feasible, rep.InRange, len(rep.Candidates)}
		if diff := cmp.Diff([]any{"grid", 6, 4, 1, 1}, got); diff != "" {
			t.Errorf("sampler, evaluated, feasible, in range, front (-want +got):\n%s", diff)
		}
		if len(rep.Candidates) == 1 {
			if diff := cmp.Diff([]string{"growth=4", "blocks.count=3"}, rep.Candidates[0].Sets); diff != "" {
				t.Errorf("sets (-want +got):\n%s", diff)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			args []string
			code int
			msg  string
		}{
			{[]string{"search", space}, ExitUsage, "training search is not available"},
			{[]string{"search", space, "--no-train", "--front", "last_top1"}, ExitUsage, "last_top1 needs training"},
			{[]string{"search", space, "--no-train", "--target-range", "5"}, ExitUsage, "want LO:HI"},
			{[]string{"search", space, "--no-train", "--sampler", "sobol"}, ExitUsage, "want auto, grid, random or nsga2"},
			{[]string{"search", filepath.Join(t.TempDir(), "none.toml"), "--no-train"}, ExitError, "no such file"},
		}
		for _, tt := range tests {
			_, stderr, code := run(t, false, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Errorf("msdx %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.msg)
			}
		}
	})
}
