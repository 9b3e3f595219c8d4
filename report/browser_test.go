package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The browser test loads a real report in headless Chromium: it runs only with
// MSDX_BROWSER_TESTS=1 (.ci/run sets it when Debian's chromium is installed), and then
// fails if no browser is found. MSDX_CHROMIUM names the browser binary (default: the
// first of chromium, chromium-browser, google-chrome on PATH).

func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("MSDX_BROWSER_TESTS") != "1" {
		t.Skip("set MSDX_BROWSER_TESTS=1 to load the report in headless Chromium")
	}
	if b := os.Getenv("MSDX_CHROMIUM"); b != "" {
		return b
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("MSDX_BROWSER_TESTS=1 but no chromium on PATH (apt-get install chromium, or set MSDX_CHROMIUM)")
	return ""
}

// headless runs the browser on a file with extra flags and returns stdout and stderr.
func headless(t *testing.T, browser, file string, flags ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}, flags...)
	args = append(args, "file://"+file)
	cmd := exec.CommandContext(ctx, browser, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// consoleRE matches the lines Chromium logs to stderr for console messages. Headless
// Chromium logs every console message, error or not, at INFO level, so any match counts:
// the report has no script, and a console message means the browser objected to
// something.
var consoleRE = regexp.MustCompile(`(?m)^\[[^\]]*:CONSOLE[^\]]*\] .*$`)

func TestBrowser(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()

	// The console detector must see a message a page does log.
	probe := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probe, []byte(`<!DOCTYPE html><html><body><script>console.error("msdx-probe")</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr := headless(t, browser, probe, "--dump-dom"); !strings.Contains(strings.Join(consoleRE.FindAllString(stderr, -1), "\n"), "msdx-probe") {
		t.Fatalf("the console detector misses the probe's console.error; stderr:\n%s", stderr)
	}

	r := build(t, studyFixture)
	figs, err := Figures(r)
	if err != nil {
		t.Fatal(err)
	}
	page, err := HTML(r, figs)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}

	dom, stderr := headless(t, browser, file, "--dump-dom")
	if msgs := consoleRE.FindAllString(stderr, -1); msgs != nil {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	checkDOM(t, dom, figs)

	shot := filepath.Join(dir, "shot.png")
	_, stderr = headless(t, browser, file, "--screenshot="+shot, "--window-size=1280,4000")
	if msgs := consoleRE.FindAllString(stderr, -1); msgs != nil {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	checkScreenshot(t, shot, 1280, 4000)
}

// domText escapes text as a browser serialises it: only &, < and >.
var domText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

var figureRE = regexp.MustCompile(`<figure class="plot" id="fig-([a-z0-9-]+)" data-series="(\d+)">`)

// checkDOM checks the page as the browser built it: one figure element per figure, in
// order, each with its series count, an SVG, a legend entry per series and paths.
func checkDOM(t *testing.T, dom string, figs []*Figure) {
	t.Helper()
	locs := figureRE.FindAllStringSubmatchIndex(dom, -1)
	if len(locs) != len(figs) {
		t.Fatalf("%d figure elements in the DOM, want %d", len(locs), len(figs))
	}
	for i, loc := range locs {
		f := figs[i]
		id, n := dom[loc[2]:loc[3]], dom[loc[4]:loc[5]]
		end := strings.Index(dom[loc[1]:], "</figure>")
		if end < 0 {
			t.Fatalf("figure %s is not closed in the DOM", id)
		}
		body := dom[loc[1] : loc[1]+end]
		if id != f.ID || n != strconv.Itoa(len(f.Legend)) {
			t.Errorf("figure %d: id %s with %s series, want %s with %d", i, id, n, f.ID, len(f.Legend))
		}
		if strings.Count(body, "<svg") != 1 || !strings.Contains(body, "</svg>") {
			t.Errorf("figure %s: want one svg element", id)
		}
		for _, l := range f.Legend {
			if !strings.Contains(body, ">"+domText.Replace(l)+"</text>") {
				t.Errorf("figure %s: no legend text %q", id, l)
			}
		}
		if paths := strings.Count(body, "<path"); paths < 2*len(f.Legend) {
			t.Errorf("figure %s: %d paths for %d series", id, paths, len(f.Legend))
		}
	}
}

// checkScreenshot checks that a screenshot has the window's size and is not blank: its
// pixels are not all alike and a reasonable fraction is not white.
func checkScreenshot(t *testing.T, name string, w, h int) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	frac := nonWhite(img)
	t.Logf("screenshot %s: %.3f of the pixels are not white", name, frac)
	if frac < 0.02 || frac > 0.6 {
		t.Errorf("screenshot: %.3f of the pixels are not white, want 0.02..0.6", frac)
	}
}

// nonWhite returns the fraction of pixels that are not (nearly) white.
func nonWhite(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func TestNonWhite(t *testing.T) {
	tests := []struct {
		name  string
		paint func(*image.RGBA)
		want  float64
	}{
		{"blank", func(*image.RGBA) {}, 0},
		{"a quarter drawn", func(m *image.RGBA) {
			for y := range 5 {
				for x := range 5 {
					m.Pix[4*(y*10+x)] = 0
				}
			}
		}, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := image.NewRGBA(image.Rect(0, 0, 10, 10))
			for i := range m.Pix {
				m.Pix[i] = 0xff
			}
			tt.paint(m)
			if got := nonWhite(m); got != tt.want {
				t.Errorf("nonWhite = %v, want %v", got, tt.want)
			}
		})
	}
}
