package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/internal/golden"

	"github.com/msdx/msdx/ablation"
	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/curve"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/spec"
)

const (
	runFixture   = "testdata/run-msdnet-small"
	studyFixture = "testdata/study-fusion-stem"
	// ablateFixture is a real "msdx ablate --vary fusion,stem --epochs 2 --seeds 2" study
	// on synthetic data, trimmed to what the report reads; only trials 0 and 1 keep their
	// (trimmed) run directories.
	ablateFixture = "testdata/study-ablate"
)

// testOptions fixes what Build would otherwise take from the machine and the clock.
var testOptions = Options{
	Generator: "v0.0.0-test", Go: "go1.26",
	Machine: Machine{Hostname: "testhost", CPU: "Test CPU @ 3.0GHz", Cores: 2, OS: "linux", Arch: "amd64"},
	Now:     time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC),
}

func build(t *testing.T, dirs ...string) *Report {
	t.Helper()
	r, err := Build(dirs, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoldenJSON pins the data model built from the fixtures (go test -update rewrites).
func TestGoldenJSON(t *testing.T) {
	tests := []struct {
		name string
		dirs []string
	}{
		{"run", []string{runFixture}},
		{"study", []string{studyFixture}},
		{"run-and-study", []string{studyFixture, runFixture}},
		{"real-ablation", []string{ablateFixture}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.MarshalIndent(build(t, tt.dirs...), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "model-"+tt.name+".golden.json"), append(b, '\n'))
		})
	}
}

// TestStudyWithoutAblation reads a study whose ablation.json is not written yet: one
// series per evaluated trial, with notes for what is missing.
func TestStudyWithoutAblation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "study")
	copyTree(t, ablateFixture, dir)
	if err := os.Remove(filepath.Join(dir, "ablation.json")); err != nil {
		t.Fatal(err)
	}
	r := build(t, dir)
	type row struct{ ID, Label, Kind string }
	var got []row
	for _, s := range r.Series {
		if s.Kind != KindBaseline {
			got = append(got, row{s.ID, s.Label, s.Kind})
		}
	}
	want := []row{
		{"trial:" + dir + ":0000", "fusion=msdnet stem=msdnet seed 0", KindTrial},
		{"trial:" + dir + ":0001", "fusion=msdnet stem=msdnet seed 1", KindTrial},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"Study " + dir + " has no ablation.json yet: its trials are shown one by one, without the ablation table and effects.",
		"Study " + dir + ": trials 0002, 0003, 0004, 0005, 0006, 0007 have no evaluation results and are left out.",
	}
	if diff := cmp.Diff(wantNotes, r.Notes[:2]); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if r.Ablations != nil {
		t.Errorf("ablations %+v without ablation.json", r.Ablations)
	}
}

func TestPareto(t *testing.T) {
	tests := []struct {
		name      string
		series    []Series
		wantFront []bool
		wantRef   curve.Point
		wantHV    float64
	}{
		{
			name: "one series, a dominated exit",
			series: []Series{{ID: "a", Anytime: []Point{
				{Exit: 1, MACs: 10, Top1: 50}, {Exit: 2, MACs: 20, Top1: 70}, {Exit: 3, MACs: 30, Top1: 65}, {Exit: 4, MACs: 40, Top1: 80},
			}}},
			wantFront: []bool{true, true, false, true},
			wantRef:   curve.Point{MACs: 44, Top1: 0},
			// (44-10)·50 + (44-20)·20 + (44-40)·10
			wantHV: 34*50 + 24*20 + 4*10,
		},
		{
			name: "two series, ties kept on the front",
			series: []Series{
				{ID: "a", Anytime: []Point{{Exit: 1, MACs: 10, Top1: 60}, {Exit: 2, MACs: 20, Top1: 70}}},
				{ID: "b", Anytime: []Point{{Exit: 1, MACs: 10, Top1: 60}, {Exit: 2, MACs: 15, Top1: 72}}},
			},
			wantFront: []bool{true, false, true, true},
			wantRef:   curve.Point{MACs: 22, Top1: 0},
			wantHV:    12*60 + 7*12,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paretoOf(tt.series)
			var front []bool
			for _, pt := range p.Points {
				front = append(front, pt.Front)
			}
			if diff := cmp.Diff(tt.wantFront, front); diff != "" {
				t.Errorf("front (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRef, p.Reference, cmp.Comparer(approx)); diff != "" {
				t.Errorf("reference (-want +got):\n%s", diff)
			}
			if !approx(tt.wantHV, p.Hypervolume) {
				t.Errorf("hypervolume %v, want %v", p.Hypervolume, tt.wantHV)
			}
			if want := tt.wantHV / (tt.wantRef.MACs * 100); !approx(want, p.Normalised) {
				t.Errorf("normalised hypervolume %v, want %v", p.Normalised, want)
			}
		})
	}
}

func approx(a, b float64) bool {
	d := a - b
	return d < 1e-9*max(1, abs(a)) && -d < 1e-9*max(1, abs(a))
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestExitBreakdown checks that every preset's parts sum to the cost model's per-exit
// MACs, and which parts each family has.
func TestExitBreakdown(t *testing.T) {
	for _, name := range spec.PresetNames() {
		t.Run(name, func(t *testing.T) {
			s, err := spec.Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			parts, err := ExitBreakdown(s)
			if err != nil {
				t.Fatal(err)
			}
			g, err := builder.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []int64
			for i, e := range flops.Exits(g) {
				want = append(want, e.MACs)
				p := parts[i]
				got = append(got, p.Stem+p.Blocks+p.Transitions+p.Heads)
				if p.Stem <= 0 || p.Blocks <= 0 || p.Heads <= 0 {
					t.Errorf("exit %d: %+v: want stem, blocks and heads", e.Exit, p)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("per-exit MACs (-flops +parts):\n%s", diff)
			}
			last := parts[len(parts)-1]
			if hasTransitions := last.Transitions > 0; hasTransitions != (s.Reduction > 0 && len(parts) > 1) {
				t.Errorf("reduction %v: last exit has %d MACs of transitions", s.Reduction, last.Transitions)
			}
			if parts[0].Stem != last.Stem {
				t.Errorf("stem MACs change between exits: %d, %d", parts[0].Stem, last.Stem)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	empty := t.TempDir()
	noEval := t.TempDir()
	copyFile(t, filepath.Join(runFixture, "run.json"), filepath.Join(noEval, "run.json"))
	file := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dirs []string
		want string
	}{
		{"none", nil, "no directories"},
		{"neither", []string{empty}, empty + " is neither a run directory (it has no run.json) nor a study directory (it has no study.toml)"},
		{"not evaluated", []string{noEval}, "run `msdx eval " + noEval + "` first"},
		{"a file", []string{file}, "is not a directory"},
		{"missing", []string{filepath.Join(empty, "nope")}, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.dirs, testOptions)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a fixture directory.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		copyFile(t, path, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBaselinesMatchDataset(t *testing.T) {
	c10 := []string{
		"baseline:ranet-fig-c10-anytime-msdnet", "baseline:ranet-fig-c10-anytime-ranet",
		"baseline:ranet-fig-c10-budgeted-msdnet", "baseline:ranet-fig-c10-budgeted-ranet", "baseline:msdnet-authors-c10-budgeted",
	}
	tests := []struct {
		name      string
		dirs      []string
		baselines string
		want      []string // baseline series IDs
		dataset   string   // Header.Dataset
		note      string   // in a note
	}{
		{"cifar10 study", []string{studyFixture}, BaselinesAuto, c10, "cifar10", PublishedNote},
		{"cifar10 study, none", []string{studyFixture}, BaselinesNone, nil, "", ""},
		// Synthetic data with CIFAR-10's shape and classes: none unless asked for.
		{"synthetic run", []string{runFixture}, BaselinesAuto, nil, "",
			"No published baselines are shown: the data (synthetic) are not all CIFAR-10 or all CIFAR-100; --baselines cifar10 or cifar100 draws them for scale."},
		{"synthetic run, cifar10", []string{runFixture}, "cifar10", c10, "cifar10",
			"The data (synthetic) are not CIFAR-10's own files (data cifar10:DIR); the published CIFAR-10 baselines are drawn because --baselines asks for them, for scale only."},
		{"mixed data", []string{studyFixture, runFixture}, BaselinesAuto, nil, "", "No published baselines are shown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions
			opts.Baselines = tt.baselines
			r, err := Build(tt.dirs, opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.Series {
				if s.Kind == KindBaseline {
					got = append(got, s.ID)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("baselines (-want +got):\n%s", diff)
			}
			if r.Header.Dataset != tt.dataset {
				t.Errorf("header dataset %q, want %q", r.Header.Dataset, tt.dataset)
			}
			found := tt.note == ""
			for _, n := range r.Notes {
				found = found || strings.Contains(n, tt.note)
			}
			if !found {
				t.Errorf("notes %q lack %q", r.Notes, tt.note)
			}
		})
	}
	if _, err := Build([]string{runFixture}, Options{Baselines: "imagenet"}); err == nil || !strings.Contains(err.Error(), `baselines "imagenet"`) {
		t.Errorf("Build with baselines imagenet: %v", err)
	}
}

func TestBaselinesFile(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range Baselines() {
		if seen[b.ID] {
			t.Errorf("duplicate id %s", b.ID)
		}
		seen[b.ID] = true
		if b.Source == "" || b.Note == "" || b.Label == "" || len(b.Points) < 2 {
			t.Errorf("%s: want a label, a source, a note and points", b.ID)
		}
		if b.Dataset != "cifar10" && b.Dataset != "cifar100" {
			t.Errorf("%s: dataset %q", b.ID, b.Dataset)
		}
		if b.Protocol != ProtocolAnytime && b.Protocol != ProtocolBudgeted {
			t.Errorf("%s: protocol %q", b.ID, b.Protocol)
		}
		for i := 1; i < len(b.Points); i++ {
			if b.Points[i][0] <= b.Points[i-1][0] {
				t.Errorf("%s: costs not increasing at point %d", b.ID, i)
			}
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d baseline series, want the 10 of architectures.md §7", len(seen))
	}
}

func renderHTML(t *testing.T, r *Report) []byte {
	t.Helper()
	figs, err := Figures(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HTML(r, figs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	tagRE   = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`)
	svgRE   = regexp.MustCompile(`(?s)<svg .*?</svg>`)
	urlRE   = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]*)`)
	srcRE   = regexp.MustCompile(`(?i)\s(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?([^"'\s>]*)`)
	voidTag = map[string]bool{"meta": true, "br": true, "img": true, "hr": true, "link": true, "input": true, "wbr": true}
)

// checkWellFormed checks that every non-void tag of an HTML page is closed in order.
func checkWellFormed(page string) error {
	var stack []string
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		closing, name, selfClosing := m[1] == "/", strings.ToLower(m[2]), m[4] == "/"
		switch {
		case voidTag[name] || selfClosing:
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return errors.New("</" + name + "> closes " + strings.Join(stack, ">"))
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, name)
		}
	}
	if len(stack) > 0 {
		return errors.New("unclosed: " + strings.Join(stack, ">"))
	}
	return nil
}

// checkSelfContained reports any reference the page makes to something outside it.
func checkSelfContained(page string) error {
	lower := strings.ToLower(page)
	for _, bad := range []string{"http://", "https://", "<script", "<iframe", "<link", "<object", "<embed", "@import", "//cdn", "file://"} {
		if i := strings.Index(lower, bad); i >= 0 {
			return errors.New("page contains " + bad + ": " + excerpt(page, i))
		}
	}
	for _, m := range urlRE.FindAllStringSubmatchIndex(page, -1) {
		if target := page[m[2]:m[3]]; !strings.HasPrefix(target, "data:") {
			return errors.New("external reference " + target + ": " + excerpt(page, m[0]))
		}
	}
	// Attributes that load something, in real tags (text is escaped, so "&lt;img" is none).
	for _, tag := range tagRE.FindAllStringSubmatch(page, -1) {
		for _, m := range srcRE.FindAllStringSubmatch(tag[3], -1) {
			if !strings.HasPrefix(m[1], "data:") {
				return errors.New("external reference " + m[1] + " in " + tag[0])
			}
		}
		if strings.Contains(strings.ToLower(tag[3]), " on") && regexp.MustCompile(`(?i)\son[a-z]+\s*=`).MatchString(tag[3]) {
			return errors.New("event handler in " + tag[0])
		}
	}
	return nil
}

func excerpt(s string, i int) string {
	return s[max(0, i-60):min(len(s), i+60)]
}

func TestHTMLSelfContainedAndWellFormed(t *testing.T) {
	tests := []struct {
		name        string
		dirs        []string
		wantFigures int
	}{
		// anytime, budgeted, pareto, one breakdown
		{"run", []string{runFixture}, 4},
		// anytime, budgeted, pareto, effects, four breakdowns
		{"study", []string{studyFixture}, 8},
		{"run-and-study", []string{runFixture, studyFixture}, 9},
		{"real-ablation", []string{ablateFixture}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, tt.dirs...)
			page := string(renderHTML(t, r))
			if err := checkWellFormed(page); err != nil {
				t.Error(err)
			}
			if err := checkSelfContained(page); err != nil {
				t.Error(err)
			}
			svgs := svgRE.FindAllString(page, -1)
			if got := strings.Count(page, `<figure class="plot"`); got != tt.wantFigures || len(svgs) != tt.wantFigures {
				t.Errorf("%d figures, %d svg elements, want %d", got, len(svgs), tt.wantFigures)
			}
			for i, svg := range svgs {
				if err := xmlWellFormed(svg); err != nil {
					t.Errorf("svg %d: %v", i, err)
				}
			}
			// The fonts are embedded once, as data: URLs, not once per figure.
			if n := strings.Count(page, "@font-face"); n < 1 || n > 2 {
				t.Errorf("%d @font-face rules, want the one or two fonts the figures use", n)
			}
			if !strings.Contains(page, "src: url(data:font/ttf;charset=utf-8;base64,") {
				t.Error("no embedded font")
			}
			for _, s := range r.Series {
				if s.Kind != KindBaseline && !strings.Contains(page, ">"+escapeText(s.Label)+"</text>") {
					t.Errorf("no legend entry %q in the figures", s.Label)
				}
			}
		})
	}
}

func escapeText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func xmlWellFormed(doc string) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestHostileStrings feeds markup through every untrusted string the page shows: spec
// name and description, recipe and data names, directory names, variant and level names.
func TestHostileStrings(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	root := filepath.Join(t.TempDir(), `"><img src=x onerror=alert(2)>`)
	run := filepath.Join(root, "run")
	copyTree(t, runFixture, run)
	rewrite(t, filepath.Join(run, "spec.toml"), `name = "msdnet-cifar10-small"`, `name = "`+evil+`"`)
	rewrite(t, filepath.Join(run, "run.json"), `"recipe": "quick"`, `"recipe": "`+strings.ReplaceAll(evil, "/", `\/`)+`"`)
	st := filepath.Join(root, "study")
	copyTree(t, studyFixture, st)
	rewrite(t, filepath.Join(st, "ablation.json"), `fusion=dense stem=paper`, `fusion=dense stem=`+evil)
	rewrite(t, filepath.Join(st, "ablation.json"), `"paper"`, `"`+evil+`"`)
	for _, dirs := range [][]string{{run}, {st}} {
		r := build(t, dirs...)
		page := string(renderHTML(t, r))
		if strings.Contains(page, "<script") || strings.Contains(page, "<img") {
			t.Errorf("%v: markup got through:\n%s", dirs, excerpt(page, strings.Index(page, "alert")))
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(page, "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;") {
			t.Errorf("%v: the hostile name is not shown escaped", dirs)
		}
		if err := checkWellFormed(page); err != nil {
			t.Error(err)
		}
		if err := checkSelfContained(page); err != nil {
			t.Error(err)
		}
	}
}

func rewrite(t *testing.T, name, old, new string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", name, old)
	}
	if err := os.WriteFile(name, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFigureFormats(t *testing.T) {
	figs, err := Figures(build(t, studyFixture))
	if err != nil {
		t.Fatal(err)
	}
	magic := map[string]string{"svg": "<?xml", "png": "\x89PNG\r\n\x1a\n", "pdf": "%PDF-"}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := figs[0].Write(&b, format); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b.Bytes(), []byte(magic[format])) {
				t.Errorf("%s output starts %q", format, b.Bytes()[:min(16, b.Len())])
			}
		})
	}
}

// TestFormatStatAndSeeds: one seed shows no standard deviation, and the header counts
// the seeds as the tables do, naming them.
func TestFormatStatAndSeeds(t *testing.T) {
	stats := []struct {
		resp string
		s    Stat
		want string
	}{
		{ablation.ResponseLastTop1, Stat{Mean: 81.234, SD: 0.5, N: 2}, "81.23 ± 0.50"},
		{ablation.ResponseLastTop1, Stat{Mean: 81.234, N: 1}, "81.23"},
		{ablation.ResponseLastMACs, Stat{Mean: -2.5e6, N: 1}, "-2.50 M"},
		{ablation.ResponseLastMACs, Stat{Mean: -2.5e6, SD: 1e3, N: 3}, "-2.50 M ± 1.0 k"},
	}
	for _, tt := range stats {
		if got := formatStat(tt.resp, tt.s); got != tt.want {
			t.Errorf("formatStat(%s, %+v) = %q, want %q", tt.resp, tt.s, got, tt.want)
		}
	}
	seeds := []struct {
		seeds []int64
		want  string
	}{
		{[]int64{0}, "1 (seed 0)"},
		{[]int64{0, 1, 2}, "3 (seeds 0, 1, 2)"},
	}
	for _, tt := range seeds {
		if got := formatSeeds(tt.seeds); got != tt.want {
			t.Errorf("formatSeeds(%v) = %q, want %q", tt.seeds, got, tt.want)
		}
	}
}
