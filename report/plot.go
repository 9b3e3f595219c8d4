package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/msdx/msdx/ablation"
)

// PaletteSize is the number of distinct series colours; series beyond it reuse them.
const PaletteSize = 10

// palette holds the series colours (Tableau 10).
var palette = [PaletteSize]color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// Colour returns the colour of palette index i; a negative index (a baseline) is grey.
func Colour(i int) color.RGBA {
	if i < 0 {
		return color.RGBA{0x66, 0x66, 0x66, 0xff}
	}
	return palette[i%PaletteSize]
}

// CSSColour returns Colour(i) as a CSS hex colour.
func CSSColour(i int) string {
	c := Colour(i)
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

// partColours are the fills of the cost-breakdown parts, in Parts order.
var partColours = []color.RGBA{{0x4e, 0x79, 0xa7, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xe1, 0x57, 0x59, 0xff}}

// responseColours are the bar fills of the effect responses (top-1 responses only).
var responseColours = map[string]color.RGBA{
	ablation.ResponseLastTop1:        {0x4e, 0x79, 0xa7, 0xff},
	ablation.ResponseAnytimeMatched:  {0xf2, 0x8e, 0x2b, 0xff},
	ablation.ResponseBudgetedMatched: {0x76, 0xb7, 0xb2, 0xff},
}

// Figure is one chart of the report.
type Figure struct {
	// ID is the figure's name: "anytime", "budgeted", "pareto", "effects-N",
	// "breakdown-N"; it names the exported file.
	ID string
	// Title is the chart's title and Caption what the page says under it.
	Title   string
	Caption string
	// Legend lists the legend entries, one per series drawn.
	Legend  []string
	entries []legendEntry
	plot    *plot.Plot
	w, h    vg.Length // the plot's size, without the legend below it
}

type legendEntry struct {
	label  string
	thumbs []plot.Thumbnailer
}

// add adds a legend entry.
func (f *Figure) add(label string, thumbs ...plot.Thumbnailer) {
	f.entries = append(f.entries, legendEntry{label, thumbs})
	f.Legend = append(f.Legend, label)
}

// Legend layout: below the axes, in at most two columns, so that it hides no data.
const (
	legendRow    = 13 * vg.Inch / 72
	legendMargin = 8 * vg.Inch / 72
	legendIndent = 40 * vg.Inch / 72
)

func (f *Figure) legendRows() int {
	if len(f.entries) <= 3 {
		return len(f.entries)
	}
	return (len(f.entries) + 1) / 2
}

// size returns the figure's size, legend included.
func (f *Figure) size() (vg.Length, vg.Length) {
	if len(f.entries) == 0 {
		return f.w, f.h
	}
	return f.w, f.h + vg.Length(f.legendRows())*legendRow + legendMargin
}

// draw draws the plot and its legend below it on c, of f.size().
func (f *Figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	_, h := f.size()
	legendH := h - f.h
	f.plot.Draw(draw.Crop(dc, 0, 0, legendH, 0))
	rows := f.legendRows()
	if rows == 0 {
		return
	}
	cols := (len(f.entries) + rows - 1) / rows
	colW := (dc.Max.X - dc.Min.X - legendIndent) / vg.Length(cols)
	for j := range cols {
		l := plot.NewLegend()
		l.Top, l.Left = true, true
		l.TextStyle.Font.Size = vg.Points(9)
		l.ThumbnailWidth = vg.Points(20)
		l.Padding = vg.Points(2)
		for _, e := range f.entries[j*rows : min(len(f.entries), (j+1)*rows)] {
			l.Add(e.label, e.thumbs...)
		}
		x := dc.Min.X + legendIndent + vg.Length(j)*colW
		l.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: dc.Min.Y},
			Max: vg.Point{X: x + colW, Y: dc.Min.Y + legendH - legendMargin/2},
		}})
	}
}

// Figure sizes.
const (
	figW = 16 * vg.Centimeter
	figH = 10 * vg.Centimeter
)

// costScale picks the cost unit of the axes from the largest cost: ×10^8 MACs like the
// papers from 10^8 up, M below.
func costScale(maxMACs float64) (float64, string) {
	if maxMACs >= 1e8 {
		return 1e8, "MACs per image (×10⁸)"
	}
	return 1e6, "MACs per image (M)"
}

// Figures draws the report's charts: anytime, budgeted (when any series has a curve),
// the Pareto front, the effects of each ablation, and the cost breakdown of each network.
func Figures(r *Report) ([]*Figure, error) {
	maxMACs := 0.0
	for _, s := range r.Series {
		for _, p := range s.Anytime {
			maxMACs = max(maxMACs, p.MACs)
		}
		for _, p := range s.Budgeted {
			maxMACs = max(maxMACs, p.MACs)
		}
	}
	scale, unit := costScale(maxMACs)
	var figs []*Figure
	add := func(f *Figure, err error) error {
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.ID, err)
		}
		figs = append(figs, f)
		return nil
	}
	if err := add(anytimeFigure(r, scale, unit)); err != nil {
		return nil, err
	}
	hasBudget := false
	for _, s := range r.Series {
		hasBudget = hasBudget || (s.Kind != KindBaseline && len(s.Budgeted) > 0)
	}
	if hasBudget {
		if err := add(budgetedFigure(r, scale, unit)); err != nil {
			return nil, err
		}
	}
	// The front shows only the models trained here: its own scale.
	maxCand := 0.0
	for _, pt := range r.Pareto.Points {
		maxCand = max(maxCand, pt.MACs)
	}
	pscale, punit := costScale(maxCand)
	if err := add(paretoFigure(r, pscale, punit)); err != nil {
		return nil, err
	}
	for i := range r.Ablations {
		f, err := effectsFigure(&r.Ablations[i], i+1)
		if f == nil && err == nil {
			continue
		}
		if err := add(f, err); err != nil {
			return nil, err
		}
	}
	for i := range r.Breakdowns {
		if err := add(breakdownFigure(&r.Breakdowns[i], i+1)); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return p
}

// baselineStyle is the dashed grey look of published series; glyph shapes tell them apart.
func baselineStyle(n int) (draw.LineStyle, draw.GlyphStyle) {
	dashes := [][]vg.Length{{vg.Points(5), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}
	shapes := []draw.GlyphDrawer{draw.TriangleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}}
	grey := Colour(-1)
	return draw.LineStyle{Color: grey, Width: vg.Points(1), Dashes: dashes[n%len(dashes)]},
		draw.GlyphStyle{Color: grey, Radius: vg.Points(2.5), Shape: shapes[n%len(shapes)]}
}

func seriesStyle(colour int) (draw.LineStyle, draw.GlyphStyle) {
	c := Colour(colour)
	return draw.LineStyle{Color: c, Width: vg.Points(1.5)}, draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
}

type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// addCurve draws one series' points as a line with markers, and error bars where sd > 0.
func (f *Figure) addCurve(p *plot.Plot, label string, xys plotter.XYs, sd []float64, ls draw.LineStyle, gs draw.GlyphStyle, markers bool) error {
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.LineStyle = ls
	p.Add(line)
	thumbs := []plot.Thumbnailer{line}
	if markers {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		sc.GlyphStyle = gs
		p.Add(sc)
		thumbs = append(thumbs, sc)
	}
	hasSD := false
	for _, v := range sd {
		hasSD = hasSD || v > 0
	}
	if hasSD {
		e := errPoints{XYs: xys, YErrors: make(plotter.YErrors, len(sd))}
		for i, v := range sd {
			e.YErrors[i] = struct{ Low, High float64 }{v, v}
		}
		bars, err := plotter.NewYErrorBars(e)
		if err != nil {
			return err
		}
		bars.LineStyle = draw.LineStyle{Color: ls.Color, Width: vg.Points(1)}
		bars.CapWidth = vg.Points(4)
		p.Add(bars)
	}
	f.add(label, thumbs...)
	return nil
}

func anytimeFigure(r *Report, scale float64, unit string) (*Figure, error) {
	f := &Figure{ID: "anytime", Title: "Anytime prediction", w: figW, h: figH,
		Caption: "Test top-1 of every exit against the cumulative cost of reaching it (reference cost model: everything executed up to the exit, earlier heads included). Error bars: ±1 sample standard deviation over seeds. Grey dashed: published results."}
	p := newPlot(f.Title, unit, "top-1 accuracy (%)")
	nb := 0
	for _, s := range r.Series {
		if len(s.Anytime) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(s.Anytime))
		sd := make([]float64, len(s.Anytime))
		for i, pt := range s.Anytime {
			xys[i] = plotter.XY{X: pt.MACs / scale, Y: pt.Top1}
			sd[i] = pt.SD
		}
		ls, gs := seriesStyle(s.Colour)
		if s.Kind == KindBaseline {
			ls, gs = baselineStyle(nb)
			nb++
		}
		if err := f.addCurve(p, s.Label, xys, sd, ls, gs, true); err != nil {
			return f, err
		}
	}
	f.plot = p
	return f, nil
}

func budgetedFigure(r *Report, scale float64, unit string) (*Figure, error) {
	f := &Figure{ID: "budgeted", Title: "Budgeted batch classification", w: figW, h: figH,
		Caption: "Test top-1 against the expected cost per image, for confidence thresholds fitted on the validation split to the 39 geometric exit distributions of MSDNet's adaptive_inference.py. Grey dashed: published results."}
	p := newPlot(f.Title, "expected "+unit, "top-1 accuracy (%)")
	nb := 0
	for _, s := range r.Series {
		if len(s.Budgeted) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(s.Budgeted))
		for i, pt := range s.Budgeted {
			xys[i] = plotter.XY{X: pt.MACs / scale, Y: pt.Top1}
		}
		ls, gs := seriesStyle(s.Colour)
		markers := len(s.Budgeted) <= 12
		if s.Kind == KindBaseline {
			ls, gs = baselineStyle(nb)
			nb++
			markers = true
		}
		if err := f.addCurve(p, s.Label, xys, nil, ls, gs, markers); err != nil {
			return f, err
		}
	}
	f.plot = p
	return f, nil
}

func faded(c color.RGBA) color.RGBA {
	// Blend towards white: SVG and PNG show the same pale colour without alpha.
	mix := func(v uint8) uint8 { return uint8(255 - (255-int(v))*35/100) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 0xff}
}

func paretoFigure(r *Report, scale float64, unit string) (*Figure, error) {
	pa := r.Pareto
	f := &Figure{ID: "pareto", Title: "Pareto front over all models and exits", w: figW, h: figH,
		Caption: fmt.Sprintf("Every exit of every model trained here; filled, outlined markers are non-dominated (no other exit is at most as costly and at least as accurate), pale ones dominated; the dashed staircase bounds the region the front dominates. Hypervolume against the reference point (%s MACs = 1.1 × the largest cost, %.0f %% top-1): %.4f of the reference box (%.4g MAC·pt).",
			formatMACs(pa.Reference.MACs), pa.Reference.Top1, pa.Normalised, pa.Hypervolume)}
	p := newPlot(f.Title, unit, "top-1 accuracy (%)")
	var front plotter.XYs
	for _, pt := range pa.Points {
		if pt.Front {
			front = append(front, plotter.XY{X: pt.MACs / scale, Y: pt.Top1})
		}
	}
	sort.Slice(front, func(i, j int) bool { return front[i].X < front[j].X })
	if len(front) > 0 {
		// The staircase the front dominates.
		var stairs plotter.XYs
		for i, pt := range front {
			if i > 0 {
				stairs = append(stairs, plotter.XY{X: pt.X, Y: front[i-1].Y})
			}
			stairs = append(stairs, pt)
		}
		stairs = append(stairs, plotter.XY{X: pa.Reference.MACs / scale, Y: front[len(front)-1].Y})
		line, err := plotter.NewLine(stairs)
		if err != nil {
			return f, err
		}
		line.LineStyle = draw.LineStyle{Color: color.RGBA{0x22, 0x22, 0x22, 0xff}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
		p.Add(line)
		f.add("Pareto front", line)
	}
	for _, s := range r.Series {
		if s.Kind == KindBaseline || len(s.Anytime) == 0 {
			continue
		}
		var dom, nd plotter.XYs
		for _, pt := range pa.Points {
			if pt.Series != s.ID {
				continue
			}
			xy := plotter.XY{X: pt.MACs / scale, Y: pt.Top1}
			if pt.Front {
				nd = append(nd, xy)
			} else {
				dom = append(dom, xy)
			}
		}
		c := Colour(s.Colour)
		var thumbs []plot.Thumbnailer
		if len(dom) > 0 {
			sc, err := plotter.NewScatter(dom)
			if err != nil {
				return f, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: faded(c), Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
		}
		if len(nd) > 0 {
			ring, err := plotter.NewScatter(nd)
			if err != nil {
				return f, err
			}
			ring.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4.5), Shape: draw.CircleGlyph{}}
			sc, err := plotter.NewScatter(nd)
			if err != nil {
				return f, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			p.Add(ring, sc)
			thumbs = append(thumbs, sc)
		} else {
			sc, _ := plotter.NewScatter(plotter.XYs{{}})
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			thumbs = append(thumbs, sc)
		}
		f.add(s.Label, thumbs...)
	}
	f.plot = p
	return f, nil
}

// effectResponses are the responses drawn in the effects chart (all in top-1 points).
var effectResponses = []string{ablation.ResponseLastTop1, ablation.ResponseAnytimeMatched, ablation.ResponseBudgetedMatched}

func effectsFigure(a *Ablation, n int) (*Figure, error) {
	f := &Figure{ID: fmt.Sprintf("effects-%d", n), Title: "Ablation effects on top-1", w: figW, h: figH,
		Caption: "Main effects (a level against the baseline level, averaged over the other factors) and two-factor interactions on top-1, in percentage points, mean over seeds with ±1 sample standard deviation. Matched cost: the mean over the matched budgets (see the table)."}
	p := newPlot(f.Title, "", "effect on top-1 (percentage points)")
	var names []string
	pos := map[string]int{}
	for _, e := range a.Effects {
		if _, ok := pos[e.Name]; !ok && responseColours[e.Response] != (color.RGBA{}) {
			pos[e.Name] = len(names)
			names = append(names, e.Name)
		}
	}
	if len(names) == 0 {
		return nil, nil // nothing to draw
	}
	k := float64(len(effectResponses))
	barW := (figW - 3*vg.Centimeter) / vg.Length(float64(len(names))*(k+1))
	for j, resp := range effectResponses {
		vals := make(plotter.Values, len(names))
		e := errPoints{XYs: make(plotter.XYs, len(names)), YErrors: make(plotter.YErrors, len(names))}
		off := (float64(j) - (k-1)/2) / (k + 1)
		found := false
		for _, ef := range a.Effects {
			if ef.Response != resp {
				continue
			}
			i := pos[ef.Name]
			vals[i] = ef.Mean
			e.XYs[i] = plotter.XY{X: float64(i) + off, Y: ef.Mean}
			e.YErrors[i] = struct{ Low, High float64 }{ef.SD, ef.SD}
			found = true
		}
		if !found {
			continue
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return f, err
		}
		bars.XMin = off
		bars.Color = responseColours[resp]
		bars.LineStyle.Width = 0
		eb, err := plotter.NewYErrorBars(e)
		if err != nil {
			return f, err
		}
		eb.CapWidth = vg.Points(4)
		p.Add(bars, eb)
		f.add(ResponseTitles[resp], bars)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.Add(plotter.NewFunction(func(float64) float64 { return 0 }))
	f.plot = p
	return f, nil
}

func breakdownFigure(b *Breakdown, n int) (*Figure, error) {
	f := &Figure{ID: fmt.Sprintf("breakdown-%d", n), Title: "Cost breakdown: " + b.Label, w: figW, h: 8 * vg.Centimeter,
		Caption: fmt.Sprintf("Cumulative MACs of reaching each exit of %s (spec %s), stacked by part: stem (the first layer), blocks, transitions and the heads executed so far.", b.Label, b.Spec)}
	maxMACs := 0.0
	for _, e := range b.Exits {
		maxMACs = max(maxMACs, float64(e.MACs))
	}
	scale, unit := costScale(maxMACs)
	p := newPlot(f.Title, "exit", "cumulative "+unit)
	p.Title.TextStyle.Color = Colour(b.Colour)
	barW := (figW - 3*vg.Centimeter) / vg.Length(float64(len(b.Exits))*1.6)
	var below *plotter.BarChart
	labels := make([]string, len(b.Exits))
	for i, e := range b.Exits {
		labels[i] = fmt.Sprint(e.Exit)
	}
	var legend []*plotter.BarChart
	for j, part := range Parts {
		vals := make(plotter.Values, len(b.Exits))
		for i, e := range b.Exits {
			vals[i] = float64(e.Part(part)) / scale
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return f, err
		}
		bars.Color = partColours[j]
		bars.LineStyle.Width = 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		legend = append(legend, bars)
	}
	// Legend top-down in stacking order, as the bars read.
	for j := len(Parts) - 1; j >= 0; j-- {
		f.add(Parts[j], legend[j])
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, float64(len(labels))-0.4
	p.Y.Min = 0
	p.Y.Max = math.Max(p.Y.Max, maxMACs/scale*1.05)
	f.plot = p
	return f, nil
}

// SVG renders the figure as a standalone SVG document, fonts embedded.
func (f *Figure) SVG() ([]byte, error) {
	w, h := f.size()
	c := vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(true))
	f.draw(c)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Formats are the figure export formats.
var Formats = []string{"svg", "png", "pdf"}

// Write renders the figure in format ("svg", "png" at 200 dpi, or "pdf", fonts
// embedded) to w; it panics on another format, which callers check against Formats.
func (f *Figure) Write(w io.Writer, format string) error {
	switch format {
	case "svg":
		b, err := f.SVG()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "png":
		width, height := f.size()
		c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(200), vgimg.UseBackgroundColor(color.White))
		f.draw(c)
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	case "pdf":
		c := vgpdf.New(f.size())
		c.EmbedFonts(true)
		f.draw(c)
		_, err := c.WriteTo(w)
		return err
	}
	panic("report: unknown figure format " + format)
}
