package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/msdx/msdx/ablation"
)

//go:embed report.html.tmpl
var templateFS embed.FS

var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"colour": func(i int) template.CSS { return template.CSS(CSSColour(i)) },
	"macs":   formatMACs,
	"pct":    func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
	"stat":   formatStat,
	"join":   strings.Join,
	"seeds":  formatSeeds,
	"ints": func(s []int) string {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = strconv.Itoa(v)
		}
		return strings.Join(out, ", ")
	},
	"title":   func(resp string) string { return ResponseTitles[resp] },
	"last":    func(p []Point) Point { return p[len(p)-1] },
	"npoints": func(s Series) int { return len(s.Anytime) + len(s.Budgeted) },
	"count":   func(v int64) string { return formatMACs(float64(v)) },
	"dataset": datasetName,
	"hv":      func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) },
}).ParseFS(templateFS, "report.html.tmpl"))

// formatMACs formats a cost with an SI prefix: 12.35 M, 1.36 G.
func formatMACs(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 3, 64) + " G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + " M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + " k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// formatStat formats a statistic of a response: MACs with SI units, top-1 in points,
// and no standard deviation where one seed gives none.
func formatStat(resp string, s Stat) string {
	format := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	if resp == ablation.ResponseLastMACs {
		format = formatMACs
	}
	if s.N < 2 {
		return format(s.Mean)
	}
	return format(s.Mean) + " ± " + format(s.SD)
}

// formatSeeds says how many seeds there are, and which: "1 (seed 0)", "2 (seeds 0, 1)",
// as the tables count them.
func formatSeeds(seeds []int64) string {
	out := make([]string, len(seeds))
	for i, v := range seeds {
		out[i] = strconv.FormatInt(v, 10)
	}
	word := "seeds"
	if len(seeds) == 1 {
		word = "seed"
	}
	return fmt.Sprintf("%d (%s %s)", len(seeds), word, strings.Join(out, ", "))
}

// pageFigure is a figure as the page shows it.
type pageFigure struct {
	*Figure
	SVG template.HTML
}

// pageData is what the template reads.
type pageData struct {
	*Report
	Fonts     template.CSS
	Anytime   []pageFigure // anytime, budgeted, pareto
	Effects   map[int]*pageFigure
	Breakdown []pageFigure
	Trained   []Series
	Published []Series
	Front     []ParetoPoint
	// ResponseOrder and PublishedNote are the package's, for the template.
	ResponseOrder []string
	PublishedNote string
}

// WriteHTML renders the report as one self-contained HTML page: figures as inline SVG
// with their fonts embedded once in the page's style sheet, no script, no external URL.
func WriteHTML(w io.Writer, r *Report, figs []*Figure) error {
	d := pageData{Report: r, Effects: map[int]*pageFigure{}, ResponseOrder: ResponseOrder, PublishedNote: PublishedNote}
	var fonts []string
	for _, f := range figs {
		raw, err := f.SVG()
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.ID, err)
		}
		svg, faces := inlineSVG(raw)
		for _, ff := range faces {
			if !contains(fonts, ff) {
				fonts = append(fonts, ff)
			}
		}
		pf := pageFigure{Figure: f, SVG: template.HTML(svg)}
		var n int
		switch {
		case f.ID == "anytime" || f.ID == "budgeted" || f.ID == "pareto":
			d.Anytime = append(d.Anytime, pf)
		case sscan(f.ID, "effects-%d", &n):
			d.Effects[n-1] = &pf
		default:
			d.Breakdown = append(d.Breakdown, pf)
		}
	}
	d.Fonts = template.CSS(strings.Join(fonts, ""))
	for _, s := range r.Series {
		if s.Kind == KindBaseline {
			d.Published = append(d.Published, s)
		} else {
			d.Trained = append(d.Trained, s)
		}
	}
	for _, p := range r.Pareto.Points {
		if p.Front {
			d.Front = append(d.Front, p)
		}
	}
	return page.Execute(w, d)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func sscan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil
}

var xmlnsRE = regexp.MustCompile(`\s+xmlns(:xlink)?="[^"]*"`)

// inlineSVG turns a standalone vgsvg document into an element for an HTML page: it drops
// the XML declaration, the generator comment and the namespace declarations (an HTML
// parser puts <svg> in the SVG namespace by itself), and returns the @font-face rules
// of its embedded style sheet separately, for the page to hold once.
func inlineSVG(doc []byte) (svg string, fontFaces []string) {
	s := string(doc)
	start := strings.Index(s, "<svg")
	if start < 0 {
		panic("report: vgsvg output has no <svg> element")
	}
	s = s[start:]
	end := strings.Index(s, ">")
	s = xmlnsRE.ReplaceAllString(s[:end], "") + s[end:]
	const open, closing = "<defs>\n\t<style>\n", "\t</style>\n</defs>\n"
	if i := strings.Index(s, open); i >= 0 {
		j := strings.Index(s[i:], closing)
		if j < 0 {
			panic("report: vgsvg output has an unterminated style sheet")
		}
		css := s[i+len(open) : i+j]
		s = s[:i] + s[i+j+len(closing):]
		for _, rule := range strings.SplitAfter(css, "\t\t}\n") {
			if strings.TrimSpace(rule) != "" {
				fontFaces = append(fontFaces, strings.TrimSpace(rule)+"\n")
			}
		}
	}
	s = strings.Replace(s, "<svg ", `<svg class="plot-svg" `, 1)
	return strings.TrimSpace(s), fontFaces
}

// HTML renders the report page into a byte slice.
func HTML(r *Report, figs []*Figure) ([]byte, error) {
	var b bytes.Buffer
	if err := WriteHTML(&b, r, figs); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
