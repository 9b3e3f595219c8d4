package refargs_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/refargs"
	"github.com/msdx/msdx/spec"
)

// row is a configuration of architectures.md §4.1: the reference command line and what the
// reference op counter reports for it.
type row struct {
	name         string
	args         string
	macs, params []int64
	preset       string // the preset that reproduces the row, if any
}

// rows are some of the §4.1 rows, committed so that the test runs without ../shared;
// TestSharedReferenceRows reads all of them from architectures.md when it is there.
var rows = []row{
	{"A_c10_anytime_nb10", "--data cifar10 --arch msdnet --batch-size 64 --epochs 300 --nBlocks 10 --stepmode even --step 2 --base 4 --nChannels 16 -j 16",
		[]int64{15128842, 25482772, 37753630, 52015400, 62123570, 74001212, 87648326, 99946064, 110017370, 121563236},
		[]int64{422266, 853572, 1346798, 1781396, 2221486, 2723784, 3288290, 3772068, 4273550, 4839544}, "msdnet-cifar10-anytime"},
	{"B_c10_budget_nb8", "--data cifar10 --arch msdnet --batch-size 64 --epochs 300 --nBlocks 8 --stepmode lin_grow --step 1 --base 1 --nChannels 16 --use-valid -j 16",
		[]int64{6848266, 14326804, 27256606, 48402472, 81515570, 112568636, 152840006, 192596048},
		[]int64{288094, 626520, 1076558, 1680760, 2335942, 3114624, 4023562, 5217684}, "msdnet-cifar10-budget"},
	{"D_c100_budget_nb5", "--data cifar100 --arch msdnet --batch-size 64 --epochs 300 --nBlocks 5 --stepmode lin_grow --step 1 --base 1 --nChannels 16 --use-valid -j 16",
		[]int64{6859876, 14350024, 27536684, 41714576, 58480628},
		[]int64{299704, 649740, 1018308, 1492424, 2078924}, "msdnet-cifar100-budget"},
	{"E15_nb1_base4", "--data cifar10 --arch msdnet --nBlocks 1 --stepmode even --step 1 --base 4 --nChannels 16",
		[]int64{13788170}, []int64{351974}, ""},
	{"F_imagenet_readme_nb5_step4", "--data ImageNet --arch msdnet --nBlocks 5 --stepmode even --step 4 --base 4 --nChannels 32 --growthRate 16 --grFactor 1-2-4-4 --bnFactor 1-2-4-4",
		[]int64{339902824, 685456720, 1008156120, 1254472688, 1360529624},
		[]int64{4238504, 8772240, 13073272, 16748416, 23958440}, "msdnet-imagenet"},
	{"R1_c100_train_cifar_sh", "--arch RANet --gpu 0 --data cifar100 --step 4 --stepmode even --scale-list 1-2-3-3 --grFactor 4-2-1-1 --bnFactor 4-2-1-1",
		[]int64{15826020, 31306440, 44690220, 50404752, 60712628, 63717656, 90255228, 94997472},
		[]int64{482052, 1097000, 1511586, 1914854, 2223662, 2523154, 2952906, 3354710}, "ranet-cifar100"},
	{"R2_c10_readme_lg", "--arch RANet --gpu 0 --data cifar10 --step 2 --nChannels 16 --stepmode lg --scale-list 1-2-3 --grFactor 4-2-1 --bnFactor 4-2-1",
		[]int64{8360714, 21765140, 32844062, 41523752, 53225778, 58921020},
		[]int64{347050, 876660, 1270165, 1754271, 2130143, 2547601}, ""},
}

func checkRow(t *testing.T, r row) {
	t.Helper()
	c, err := refargs.Parse(strings.Fields(r.args), "")
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	// The printed file must load back to the same network.
	s, err := spec.Parse(r.name+".toml", c.TOML(), nil)
	if err != nil {
		t.Fatalf("%s: the from-args file does not load: %v\n%s", r.name, err, c.TOML())
	}
	if s.Hash() != c.Spec.Hash() {
		t.Errorf("%s: the file's hash %s differs from the command's %s", r.name, s.Hash(), c.Spec.Hash())
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	var macs, params []int64
	for _, e := range flops.Exits(g) {
		macs = append(macs, e.MACs)
		params = append(params, e.Params)
	}
	if diff := cmp.Diff(r.macs, macs); diff != "" {
		t.Errorf("%s: per-exit MACs (-reference +from-args):\n%s", r.name, diff)
	}
	if diff := cmp.Diff(r.params, params); diff != "" {
		t.Errorf("%s: per-exit params (-reference +from-args):\n%s", r.name, diff)
	}
	if r.preset != "" {
		p, err := spec.Preset(r.preset)
		if err != nil {
			t.Fatal(err)
		}
		if p.Hash() != s.Hash() {
			t.Errorf("%s: from-args gives a spec other than preset %s:\n%s\npreset:\n%s", r.name, r.preset, s.Canonical(), p.Canonical())
		}
	}
}

func TestReferenceRows(t *testing.T) {
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) { checkRow(t, r) })
	}
}

// TestSharedReferenceRows checks every MSDNet and RANet row of ../shared's
// architectures.md §4.1: from-args of its command line costs what the reference counter
// reported, exit by exit, or fails where the reference fails.
func TestSharedReferenceRows(t *testing.T) {
	name := filepath.Join("..", "..", "shared", "reference", "architectures.md")
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	argsRe := regexp.MustCompile("^- args: `(.*)`")
	var all []row
	var fails []row
	var cur *row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "##### "):
			all = append(all, row{name: strings.TrimPrefix(line, "##### ")})
			cur = &all[len(all)-1]
		case cur == nil:
		case argsRe.MatchString(line):
			cur.args = argsRe.FindStringSubmatch(line)[1]
		case strings.HasPrefix(line, "- FLOPs per exit, repo counter"):
			cur.macs = ints(t, line)
		case strings.HasPrefix(line, "- params per exit, repo counter"):
			cur.params = ints(t, line)
		case strings.Contains(line, "forward FAILS"):
			fails = append(fails, *cur)
		}
	}
	n := 0
	for _, r := range all {
		if !strings.Contains(r.args, "--arch msdnet") && !strings.Contains(r.args, "--arch RANet") || r.macs == nil {
			continue
		}
		n++
		t.Run(r.name, func(t *testing.T) { checkRow(t, r) })
	}
	for _, r := range fails {
		if _, err := refargs.Parse(strings.Fields(r.args), ""); err == nil {
			t.Errorf("%s: the reference fails on %q, from-args accepts it", r.name, r.args)
		} else if !strings.Contains(err.Error(), "--grFactor") {
			t.Errorf("%s: error %q does not name --grFactor", r.name, err)
		}
	}
	if n < 12 || len(fails) < 2 {
		t.Errorf("read %d rows and %d failing rows from %s, want at least 12 and 2", n, len(fails), name)
	}
}

func ints(t *testing.T, line string) []int64 {
	_, list, _ := strings.Cut(line, ": ")
	var out []int64
	for _, f := range strings.Split(list, ", ") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		args    string
		want    map[string]string // of Values
		ignored []string
		notes   int
	}{
		{"--arch msdnet", map[string]string{"--nBlocks": "1", "--nChannels": "32", "--stepmode": "", "--data": "cifar10", "--bottleneck": "True"}, nil, 1},
		{"--arch=msdnet --nBl=3 --stepmode even -j16 --evalmode dynamic", map[string]string{"--nBlocks": "3", "--stepmode": "even"}, []string{"-j16", "--evalmode dynamic"}, 0},
		{"-a msdnet --stepmode even --bottleneck False", map[string]string{"--bottleneck": "False"}, nil, 1},
		{"--arch RANet --data cifar100", map[string]string{"--nBlocks": "2", "--grFactor": "4-2-1", "--scale-list": "1-2-3", "--step": "4", "--block-step": "2", "--compress-factor": "0.25"}, nil, 0},
		{"--arch RANet --scale 1-2-3 --grF 4-2-1 --bnF 4-2-1 --lr 0.05 --bnAfter --nBlocks 3 --nBlocks 1", map[string]string{"--scale-list": "1-2-3", "--nBlocks": "1"}, []string{"--lr 0.05", "--bnAfter"}, 0},
	}
	for _, tt := range tests {
		c, err := refargs.Parse(strings.Fields(tt.args), "x")
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		got := map[string]string{}
		for k := range tt.want {
			got[k] = c.Values[k]
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q: values (-want +got):\n%s", tt.args, diff)
		}
		if diff := cmp.Diff(tt.ignored, c.Ignored); diff != "" {
			t.Errorf("%q: ignored (-want +got):\n%s", tt.args, diff)
		}
		if len(c.Notes) != tt.notes {
			t.Errorf("%q: notes %q, want %d", tt.args, c.Notes, tt.notes)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	// Bare --arch msdnet: nBlocks 1, base 4, nChannels 32 and, with no --stepmode, the
	// lin_grow schedule the model code falls back to.
	c, err := refargs.Parse([]string{"--arch", "msdnet"}, "")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec
	if s.Name != "msdnet-cifar10-args" || s.Blocks.StepMode != spec.StepLinGrow || s.Channels != 32 || s.Blocks.Count != 1 || s.Classes != 10 {
		t.Errorf("bare msdnet: %s", s.Canonical())
	}
	// RANet's own defaults are 3 flows (grFactor 4-2-1, scale-list 1-2-3), not the 4 of
	// train_cifar.sh that spec's ranet defaults follow (TestParse); ImageNet takes the
	// 7x7 stem and the head at its input width.
	c, err = refargs.Parse(strings.Fields("--arch RANet --data ImageNet --scale-list 1-2-3-4 --grFactor 4-2-2-1 --bnFactor 4-2-2-1"), "")
	if err != nil {
		t.Fatal(err)
	}
	s = c.Spec
	if diff := cmp.Diff([]int{1, 2, 3, 4}, s.Scales.Resolution); diff != "" || s.Stem.Kind != spec.StemMSDNetImageNet || s.Input != [3]int{3, 224, 224} || s.Classes != 1000 {
		t.Errorf("RANet ImageNet: %s", s.Canonical())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ args, want string }{
		{"--data cifar10", "no --arch"},
		{"--arch resnet", `--arch "resnet"`},
		{"--arch msdnet --nBlocks", "--nBlocks: expected one argument"},
		{"--arch msdnet --nBlocks x", `--nBlocks: invalid int value: "x"`},
		{"--arch msdnet --data imagenet", `--data: invalid choice: "imagenet"`},
		{"--arch msdnet --bogus 1", "unrecognized argument --bogus"},
		{"--arch msdnet --st 2", "ambiguous option --st could match"},
		{"--arch msdnet extra", `unrecognized argument "extra"`},
		{"--arch msdnet --use-valid=1", "it is a flag"},
		{"--arch msdnet --stepmode even --grFactor 1-x", "--grFactor \"1-x\""},
		{"--arch msdnet --stepmode even --nBlocks 0", "--nBlocks 0:"},
		{"--arch msdnet --stepmode even --grFactor 1-2 --bnFactor 1-2 --nBlocks 5", "cannot run: --grFactor 1-2:"},
		{"--arch RANet --scale-list 1-2", "--scale-list 1-2 has 2 entries and --grFactor 4-2-1 3"},
		{"--arch RANet --stepmode lin_grow", `invalid choice: "lin_grow"`},
	}
	for _, tt := range tests {
		_, err := refargs.Parse(strings.Fields(tt.args), "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}
