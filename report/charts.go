package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"

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

// barOpts is what a bar chart draws: a row per group (top to bottom) and a bar
// per series in each row.
type barOpts struct {
	Title, Axis string
	Series      []string
	Colors      []color.Color
	Groups      []barGroup
	// Max is the least end of the value axis (100 for a percentage).
	Max float64
	// Linear forbids a log scale; otherwise the axis is logarithmic where the
	// largest value is ten or more times the smallest (logRatio).
	Linear bool
	// Origin, if positive, is where a log axis starts, when no value is below
	// it: 1 for a ratio that cannot be less, so bars measure the excess.
	Origin float64
	Format func(float64) string // values and tick labels
}

// logRatio is how many times the smallest value the largest must be for a
// chart's value axis to be logarithmic: below it a linear axis reads better,
// above it the small values flatten into the axis.
const logRatio = 10

// useLog reports whether values (zeros, NaNs and infinities aside) span logRatio
// or more.
func useLog(values []float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, v := range values {
		if finite(v) && v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return hi > 0 && hi >= logRatio*lo
}

// logRange returns a log axis's ends for values from lo to hi: from the power of
// ten below lo to past hi by room (a fraction of the span) for the labels.
func logRange(lo, hi, room float64) (float64, float64) {
	amin := math.Pow10(int(math.Floor(math.Log10(lo) - 0.3)))
	span := math.Log10(hi) - math.Log10(amin)
	return amin, hi * math.Pow(10, span*room)
}

// logTicks marks each power of ten, labelled, with minor ticks between; over
// two decades or less it labels 2 and 5 times each power too.
func logTicks(format func(float64) string) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ticks []plot.Tick
		few := math.Log10(hi)-math.Log10(lo) <= 2.2
		for p := math.Pow10(int(math.Floor(math.Log10(lo)))); p <= hi; p *= 10 {
			for i := 1; i < 10; i++ {
				v := p * float64(i)
				if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
					continue
				}
				t := plot.Tick{Value: v}
				if i == 1 || (few && (i == 2 || i == 5)) {
					t.Label = format(v)
				}
				ticks = append(ticks, t)
			}
		}
		return ticks
	})
}

// byteTicks marks the powers of four (256 B, 1 KiB, 4 KiB...) of a log axis of
// bytes, labelled, every other one when there are many.
func byteTicks(format func(float64) string) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ticks []plot.Tick
		for v := math.Pow(4, math.Floor(math.Log(lo)/math.Log(4))); v <= hi; v *= 4 {
			if v >= lo*(1-1e-9) {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
		every := 1
		if len(ticks) > 8 {
			every = 2
		}
		for i := range ticks {
			if k := int(math.Round(math.Log(ticks[i].Value) / math.Log(4))); k%every == 0 {
				ticks[i].Label = format(ticks[i].Value)
			}
		}
		return ticks
	})
}

// binaryTicks marks a linear axis of bytes at multiples of a power of two, so
// that every label is a round size.
func binaryTicks(format func(float64) string) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		step := math.Pow(2, math.Ceil(math.Log2(max(hi-lo, 1)/6)))
		var ticks []plot.Tick
		for v := math.Ceil(lo/step) * step; v <= hi; v += step {
			ticks = append(ticks, plot.Tick{Value: v, Label: format(v)})
		}
		return ticks
	})
}

// formatTicks relabels the labelled ticks of a ticker with format.
func formatTicks(t plot.Ticker, format func(float64) string) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ts := t.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = format(ts[i].Value)
			}
		}
		return ts
	})
}

// hbars draws horizontal bars from the value axis's origin: 0 on a linear axis,
// its minimum on a log one (where 0 has no place).
type hbars struct {
	bars  []hbar
	width vg.Length
}

type hbar struct {
	y, v float64
	c    color.Color
}

func (h *hbars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	base := 0.0
	if _, ok := p.X.Scale.(plot.LogScale); ok {
		base = p.X.Min
	}
	for _, b := range h.bars {
		x0, x1, y := trX(base), trX(b.v), trY(b.y)
		pts := []vg.Point{{X: x0, Y: y - h.width/2}, {X: x1, Y: y - h.width/2}, {X: x1, Y: y + h.width/2}, {X: x0, Y: y + h.width/2}}
		c.FillPolygon(b.c, c.ClipPolygonXY(pts))
	}
}

// barChart draws horizontal bars, one row per group (top to bottom) and one bar
// per series in each row, with each value written at the end of its bar.
func barChart(o barOpts) ([]byte, error) {
	n, m := len(o.Groups), len(o.Series)
	if n == 0 || m == 0 {
		return nil, fmt.Errorf("bar chart %q: no data", o.Title)
	}
	p := newPlot(o.Title)
	p.X.Label.Text = o.Axis
	p.Add(&plotter.Grid{Vertical: draw.LineStyle{Color: gridColor, Width: vg.Points(0.5)}})

	rowHeight := vg.Length(m)*0.5*vg.Centimeter + 0.3*vg.Centimeter
	overhead := 2.6 * vg.Centimeter
	h := overhead + vg.Length(n)*rowHeight
	barWidth := rowHeight * 0.8 / vg.Length(m)
	step := 0.8 / float64(m) // in rows

	// The value axis: linear from 0, or logarithmic over the values' decades.
	var all []float64
	lo, hi := math.Inf(1), 0.0
	for _, g := range o.Groups {
		for j, v := range g.Values {
			all = append(all, v)
			if finite(v) && v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
			if len(g.Hi) > j && finite(g.Hi[j]) {
				hi = max(hi, g.Hi[j])
			}
		}
	}
	log := !o.Linear && useLog(all)
	var xMin, xMax float64
	if log {
		xMin, xMax = logRange(lo, max(hi, o.Max), 0.2)
		if o.Origin > 0 && lo >= o.Origin {
			xMin = o.Origin
		}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks(o.Format)
		p.X.Label.Text += " (log scale)"
	} else {
		if hi == 0 {
			hi = 1
		}
		xMin, xMax = 0, max(hi*1.3, o.Max)
		p.X.Tick.Marker = formatTicks(plot.DefaultTicks{}, o.Format)
	}
	base := xMin

	bars := &hbars{width: barWidth}
	var over []plot.Plotter // drawn over the bars
	var labelXYs plotter.XYs
	var labels []string
	for j := range o.Series {
		offset := (float64(j) - float64(m-1)/2) * step
		var errs errBars
		for i := range n {
			g := o.Groups[n-1-i] // the first group at the top
			v := g.Values[j]
			y := float64(i) - offset
			text := ""
			if len(g.Text) > j {
				text = g.Text[j]
			}
			if !finite(v) || (log && v <= 0) {
				switch {
				case text != "": // a note where there is no bar
				case finite(v):
					text = o.Format(v)
				default:
					continue
				}
				labelXYs = append(labelXYs, plotter.XY{X: base, Y: y})
				labels = append(labels, text)
				continue
			}
			c := o.Colors[j]
			if m == 1 && g.Color != nil {
				c = g.Color
			}
			bars.bars = append(bars.bars, hbar{y: y, v: v, c: c})
			if text == "" {
				text = o.Format(v)
			}
			labelX := v
			if len(g.Lo) > j && finite(g.Lo[j]) && finite(g.Hi[j]) && g.Hi[j] > g.Lo[j] && (!log || g.Lo[j] > 0) {
				errs = append(errs, errBar{y: y, x: v, lo: g.Lo[j], hi: g.Hi[j]})
				labelX = max(v, g.Hi[j]) // the value goes past its whisker
			}
			labelXYs = append(labelXYs, plotter.XY{X: labelX, Y: y})
			labels = append(labels, text)
		}
		if len(errs) > 0 {
			eb, err := plotter.NewXErrorBars(errs)
			if err != nil {
				return nil, err
			}
			eb.LineStyle.Color = ink
			eb.LineStyle.Width = vg.Points(1)
			eb.CapWidth = barWidth * 0.6
			over = append(over, eb)
		}
	}
	p.Add(bars)
	if len(labels) > 0 {
		l, err := pointLabels(labelXYs, labels, vg.Points(3))
		if err != nil {
			return nil, err
		}
		over = append(over, l)
	}
	p.Add(over...)
	names := make([]string, n)
	for i := range n {
		names[i] = o.Groups[n-1-i].Label
	}
	p.NominalY(names...)
	// Set last: adding plotters widens the axes to their data.
	p.X.Min, p.X.Max = xMin, xMax
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
// its guest. Either axis is logarithmic where its values span logRatio or more.
func scatterChart(title, xLabel, yLabel string, pts []scatterPoint, modes []string, pal *palette, fx, fy func(float64) string) ([]byte, error) {
	if len(pts) == 0 {
		return nil, fmt.Errorf("scatter chart %q: no data", title)
	}
	p := newPlot(title)
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Add(plotter.NewGrid())
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.PyramidGlyph{}, draw.BoxGlyph{}, draw.PlusGlyph{}}
	var xs, ys []float64
	var xys plotter.XYs
	var labels []string
	labelled := map[string]bool{}
	for _, pt := range pts {
		if !(pt.X > 0 && pt.Y > 0) {
			continue // nowhere on a log axis, and no size or time to show
		}
		mi := slices.Index(modes, pt.Mode)
		s, err := plotter.NewScatter(plotter.XYs{{X: pt.X, Y: pt.Y}})
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: pal.guest(pt.Guest), Radius: vg.Points(4.5), Shape: shapes[max(mi, 0)%len(shapes)]}
		p.Add(s)
		if !labelled[pt.Guest] { // once, at the guest's first mode
			labelled[pt.Guest] = true
			xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
			labels = append(labels, pt.Guest)
		}
		xs, ys = append(xs, pt.X), append(ys, pt.Y)
	}
	if len(xys) == 0 {
		return nil, fmt.Errorf("scatter chart %q: no positive data", title)
	}
	l, err := pointLabels(xys, labels, vg.Points(7))
	if err != nil {
		return nil, err
	}
	p.Add(l)
	for _, a := range []struct {
		axis   *plot.Axis
		vs     []float64
		room   float64
		format func(float64) string
		bytes  bool
	}{{&p.X, xs, 0.25, fx, true}, {&p.Y, ys, 0.1, fy, false}} {
		lo, hi := slices.Min(a.vs), slices.Max(a.vs)
		if useLog(a.vs) {
			a.axis.Scale = plot.LogScale{}
			a.axis.Tick.Marker = logTicks(a.format)
			if a.bytes {
				a.axis.Tick.Marker = byteTicks(a.format)
			}
			_, a.axis.Max = logRange(lo, hi, a.room)
			a.axis.Min = lo / 1.5 // points need no bar's length below them
			a.axis.Label.Text += " (log scale)"
			continue
		}
		a.axis.Tick.Marker = formatTicks(plot.DefaultTicks{}, a.format)
		if a.bytes {
			a.axis.Tick.Marker = binaryTicks(a.format)
		}
		a.axis.Min, a.axis.Max = 0, hi*(1+a.room)
	}
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

// pointLabels writes each label in small ink type, dx to the right of its point
// and centred on it.
func pointLabels(xys plotter.XYs, labels []string, dx vg.Length) (*plotter.Labels, error) {
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font = sans(vg.Points(8))
		l.TextStyle[i].Color = ink
		l.TextStyle[i].YAlign = draw.YCenter
	}
	l.Offset = vg.Point{X: dx}
	return l, nil
}
