package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The charts are drawn with gonum.org/v1/plot as SVG. Text is drawn as SVG text in
// the Liberation fonts' metrics and falls back to the reader's sans-serif: nothing
// is fetched.

var (
	ink       = color.RGBA{0x1f, 0x29, 0x37, 0xff}
	gridColor = color.RGBA{0xe5, 0xe7, 0xeb, 0xff}
	// modeColors are the bars of each mode, in series order.
	modeColors = map[string]color.Color{
		"replay": color.RGBA{0x25, 0x63, 0xeb, 0xff},
		"host":   color.RGBA{0x93, 0xc5, 0xfd, 0xff},
	}
	guestColors = map[string]color.Color{
		"bump":     color.RGBA{0x4e, 0x79, 0xa7, 0xff},
		"freelist": color.RGBA{0xf2, 0x8e, 0x2b, 0xff},
		"arena":    color.RGBA{0x59, 0xa1, 0x4f, 0xff},
		"pool":     color.RGBA{0xe1, 0x57, 0x59, 0xff},
		"floor":    color.RGBA{0x9c, 0x9c, 0x9c, 0xff},
	}
	morePalette = []color.Color{
		color.RGBA{0x76, 0xb7, 0xb2, 0xff}, color.RGBA{0xb0, 0x7a, 0xa1, 0xff},
		color.RGBA{0xed, 0xc9, 0x48, 0xff}, color.RGBA{0x9c, 0x75, 0x5f, 0xff},
		color.RGBA{0xff, 0x9d, 0xa7, 0xff}, color.RGBA{0x5f, 0x5f, 0xc0, 0xff},
	}
)

// palette hands out one colour per guest, the same on every chart of a site.
type palette struct{ assigned map[string]color.Color }

func (p *palette) guest(name string) color.Color {
	if c, ok := guestColors[name]; ok {
		return c
	}
	if p.assigned == nil {
		p.assigned = map[string]color.Color{}
	}
	if c, ok := p.assigned[name]; ok {
		return c
	}
	c := morePalette[len(p.assigned)%len(morePalette)]
	p.assigned[name] = c
	return c
}

func modeColor(mode string, i int) color.Color {
	if c, ok := modeColors[mode]; ok {
		return c
	}
	return morePalette[i%len(morePalette)]
}

const chartWidth = 16 * vg.Centimeter

func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(vg.Points(12))
	p.Title.TextStyle.Font.Weight = xfont.WeightBold
	p.Title.TextStyle.Color = ink
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(vg.Points(10))
		a.Label.TextStyle.Color = ink
		a.Tick.Label.Font = sans(vg.Points(9))
		a.Tick.Label.Color = ink
		a.Color = ink
		a.Tick.Color = ink
	}
	p.Legend.TextStyle.Font = sans(vg.Points(9))
	p.Legend.TextStyle.Color = ink
	return p
}

// render draws p as SVG with a margin, its text in Liberation Sans's metrics
// falling back to the reader's sans-serif fonts.
func render(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	c := vgsvg.New(w, h)
	const pad = 6
	p.Draw(draw.Crop(draw.New(c), pad, -pad-4, pad, -pad))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;")), nil
}

// sans is the charts' font.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// barGroup is one category of a bar chart: a value per series, NaN where the
// series has none, with optional confidence bounds and labels.
type barGroup struct {
	Label  string
	Color  color.Color // the bar's colour in a chart of one series; nil for the series'.
	Values []float64
	Lo, Hi []float64 // bounds of each value's interval; NaN or infinite for none
	Text   []string  // text beside each bar; "" for the formatted value
}

// barChart draws horizontal bars, one row per group (top to bottom) and one bar
// per series in each row, with each value written at the end of its bar. The
// value axis runs from 0 to past the largest value, or to xMax if that is larger.
func barChart(title, xLabel string, series []string, colors []color.Color, groups []barGroup, xMax float64, format func(float64) string) ([]byte, error) {
	n, m := len(groups), len(series)
	if n == 0 || m == 0 {
		return nil, fmt.Errorf("bar chart %q: no data", title)
	}
	p := newPlot(title)
	p.X.Label.Text = xLabel
	p.X.Min = 0
	p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: gridColor, Width: vg.Points(0.5)}})

	rowHeight := vg.Length(m)*0.5*vg.Centimeter + 0.3*vg.Centimeter
	overhead := 2.6 * vg.Centimeter
	h := overhead + vg.Length(n)*rowHeight
	barWidth := rowHeight * 0.8 / vg.Length(m)
	step := 0.8 / float64(m) // in rows

	maxV := 0.0
	var labelXYs plotter.XYs
	var labels []string
	for j := range series {
		vals := make(plotter.Values, n)
		offset := (float64(j) - float64(m-1)/2) * step
		var errs errBars
		for i := range n {
			g := groups[n-1-i] // the first group at the top
			v := g.Values[j]
			y := float64(i) - offset
			if math.IsNaN(v) {
				if len(g.Text) > j && g.Text[j] != "" { // a note where there is no bar
					labelXYs = append(labelXYs, plotter.XY{X: 0, Y: y})
					labels = append(labels, g.Text[j])
				}
				continue
			}
			vals[i] = v
			maxV = max(maxV, v)
			text := format(v)
			if len(g.Text) > j && g.Text[j] != "" {
				text = g.Text[j]
			}
			labelX := v
			if len(g.Lo) > j && finite(g.Lo[j]) && finite(g.Hi[j]) && g.Hi[j] > g.Lo[j] {
				errs = append(errs, errBar{y: y, x: v, lo: g.Lo[j], hi: g.Hi[j]})
				maxV = max(maxV, g.Hi[j])
				labelX = max(v, g.Hi[j]) // the value goes past its whisker
			}
			labelXYs = append(labelXYs, plotter.XY{X: labelX, Y: y})
			labels = append(labels, text)
		}
		// One chart per bar, so each can have its group's colour.
		for i := range n {
			g := groups[n-1-i]
			if math.IsNaN(g.Values[j]) {
				continue
			}
			bc, err := plotter.NewBarChart(plotter.Values{vals[i]}, barWidth)
			if err != nil {
				return nil, err
			}
			bc.Horizontal = true
			bc.XMin = float64(i) - offset
			bc.Color = colors[j]
			if m == 1 && g.Color != nil {
				bc.Color = g.Color
			}
			bc.LineStyle.Width = 0
			p.Add(bc)
		}
		if len(errs) > 0 {
			eb, err := plotter.NewXErrorBars(errs)
			if err != nil {
				return nil, err
			}
			eb.LineStyle.Color = ink
			eb.LineStyle.Width = vg.Points(1)
			eb.CapWidth = barWidth * 0.6
			p.Add(eb)
		}
	}
	if len(labels) > 0 {
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: labelXYs, Labels: labels})
		if err != nil {
			return nil, err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Font = sans(vg.Points(8))
			l.TextStyle[i].Color = ink
			l.TextStyle[i].YAlign = draw.YCenter
		}
		l.Offset = vg.Point{X: vg.Points(3)}
		p.Add(l)
	}
	if maxV == 0 {
		maxV = 1
	}
	p.X.Max = max(maxV*1.3, xMax)
	names := make([]string, n)
	for i := range n {
		names[i] = groups[n-1-i].Label
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	return render(p, chartWidth, h)
}

type errBar struct{ x, y, lo, hi float64 }
type errBars []errBar

func (e errBars) Len() int                        { return len(e) }
func (e errBars) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errBars) XError(i int) (float64, float64) { return e[i].x - e[i].lo, e[i].hi - e[i].x }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// scatterPoint is one point of the size-against-speed chart.
type scatterPoint struct {
	Guest, Mode string
	X, Y        float64
}

// scatterChart draws points coloured by guest, shaped by mode, each labelled with
// its guest.
func scatterChart(title, xLabel, yLabel string, pts []scatterPoint, modes []string, pal *palette) ([]byte, error) {
	if len(pts) == 0 {
		return nil, fmt.Errorf("scatter chart %q: no data", title)
	}
	p := newPlot(title)
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Add(plotter.NewGrid())
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.PyramidGlyph{}, draw.BoxGlyph{}, draw.PlusGlyph{}}
	var maxX, maxY float64
	var xys plotter.XYs
	var labels []string
	for _, pt := range pts {
		mi := indexOf(modes, pt.Mode)
		s, err := plotter.NewScatter(plotter.XYs{{X: pt.X, Y: pt.Y}})
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: pal.guest(pt.Guest), Radius: vg.Points(4.5), Shape: shapes[max(mi, 0)%len(shapes)]}
		p.Add(s)
		xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
		labels = append(labels, pt.Guest)
		maxX, maxY = max(maxX, pt.X), max(maxY, pt.Y)
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font = sans(vg.Points(8))
		l.TextStyle[i].Color = ink
		l.TextStyle[i].YAlign = draw.YCenter
	}
	l.Offset = vg.Point{X: vg.Points(7)}
	p.Add(l)
	p.X.Min, p.Y.Min = 0, 0
	p.X.Max, p.Y.Max = maxX*1.2, maxY*1.15
	return render(p, chartWidth, 9*vg.Centimeter)
}

// lineSeries is one guest's line on the utilisation chart.
type lineSeries struct {
	Guest string
	XYs   plotter.XYs
}

// lineChart draws a line per guest.
func lineChart(title, xLabel, yLabel string, series []lineSeries, yMax float64, pal *palette) ([]byte, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("line chart %q: no data", title)
	}
	p := newPlot(title)
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Add(plotter.NewGrid())
	for i, s := range series {
		l, err := plotter.NewLine(s.XYs)
		if err != nil {
			return nil, err
		}
		l.LineStyle.Color = pal.guest(s.Guest)
		l.LineStyle.Width = vg.Points(1.6)
		if i%2 == 1 {
			l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(2)}
		}
		p.Add(l)
	}
	p.Y.Min, p.Y.Max = 0, yMax
	p.X.Min = 0
	return render(p, chartWidth, 8*vg.Centimeter)
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// timeScale returns the factor and the name of the unit that suit seconds up to
// max.
func timeScale(max float64) (float64, string) {
	switch {
	case max < 1e-6:
		return 1e9, "ns"
	case max < 1e-3:
		return 1e6, "µs"
	case max < 1:
		return 1e3, "ms"
	}
	return 1, "s"
}
