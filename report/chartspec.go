package report

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"
)

// The charts of a scenario page are data: one chartSpec each, in the order the
// page shows them. A chart whose unit the run lacks is left out, so older runs
// (without instruction counts or host-memory units) simply have fewer charts.

// chartKind says how a chart draws its unit.
type chartKind int

const (
	// byMode draws a bar per mode for each guest, with the confidence interval as
	// whiskers: the timed units, which differ by mode.
	byMode chartKind = iota
	// byGuest draws one bar per guest, from the first mode that has the unit:
	// exact units, the same in every mode.
	byGuest
	// byUnit draws a bar per unit of Units for each guest (exact units).
	byUnit
	// twins draws each TinyGo twin (guest NAME-tinygo) beside its WAT original
	// NAME, by the first of Units the scenario has.
	twins
	// sizeSpeed draws a point per guest and mode: binary size against Unit.
	sizeSpeed
	// utilisation draws a line per guest from the heap sidecar's samples.
	utilisation
)

// chartSpec is one chart of a scenario page.
type chartSpec struct {
	Name    string // the picture's file name, without .svg
	Kind    chartKind
	Unit    string   // the unit drawn
	Units   []string // byUnit's series; twins' choice of unit, first present wins
	Title   string
	Axis    string // the value axis's label
	Alt     string
	Caption string
	// Linear keeps the value axis linear; otherwise it is logarithmic where the
	// largest value is logRatio or more times the smallest.
	Linear bool
	Max    float64 // the value axis reaches at least this
	Origin float64 // where a log axis starts (barOpts.Origin)
	Scale  float64 // multiplies each value (100 for a percentage); 0 is 1
	// Format formats values and ticks; by default compact(v, Unit).
	Format func(float64) string
	// Label, if set, is the text beside a guest's bar; "" for the value.
	Label func(idx cellIndex, b Bench, c *StatCell, modes []string) string
	// Missing is the text for a guest that ran but has no value (byGuest).
	Missing string
}

// scenarioCharts are the charts of every scenario page.
var scenarioCharts = []chartSpec{
	{Name: "time", Kind: byMode, Unit: "sec/op", Title: "Time per op (median)", Axis: "time per op",
		Alt: "Bar chart of the median time per op of each guest in each mode",
		Caption: "Median time of one op over the counts, on memory pre-grown to the size the guest needs; " +
			"whiskers show the 95% confidence interval where the count allows (6 or more). " +
			"replay runs the trace inside wazero; host makes one wazero call per op. " +
			"floor is the lab's own overhead."},
	{Name: "instrs", Kind: byUnit, Units: []string{"instrs/op", "p99-instrs", "max-instrs"},
		Title: "Instructions per op: mean, 99th percentile, worst", Axis: "wasm instructions",
		Alt: "Bar chart of each guest's mean, 99th-percentile and largest count of wasm instructions per op",
		Caption: "WebAssembly instructions the guest executed per op, counted exactly (the same on every machine): " +
			"the mean, the 99th percentile and the single most expensive op. A tall worst case beside a short mean " +
			"is an op that pays for the others (a coalesce, a sweep, a grow)."},
	{Name: "pages-grown", Kind: byGuest, Unit: "pages-grown", Title: "Pages grown", Axis: "64 KiB pages added by memory.grow",
		Alt:     "Bar chart of the pages each guest grew",
		Caption: "Pages the guest added with memory.grow over the checked pass (exact: the same in every mode and count)."},
	{Name: "oom", Kind: byGuest, Unit: "oom-live/limit", Title: "Utilisation at the out-of-memory point",
		Axis: "live bytes / limit", Linear: true, Max: 100, Scale: 100, Missing: "fits under the limit",
		Format: func(v float64) string { return fmt.Sprintf("%.0f%%", v) },
		Label: func(idx cellIndex, b Bench, c *StatCell, modes []string) string {
			text := fmt.Sprintf("%.0f%%", c.Summary.Center*100)
			if op := idx.get("oom-op", b, modes); op != nil {
				text += fmt.Sprintf(" at op %.0f", op.Summary.Center)
			}
			return text
		},
		Alt: "Bar chart of how much of the memory limit each guest had live when it ran out",
		Caption: "Replayed under a fixed memory limit: the bytes live at the first failed alloc over the limit, and the op it failed at. " +
			"100% would be a perfect allocator; a guest that fits never failed."},
	{Name: "fragmentation", Kind: byGuest, Unit: "heap/live", Title: "Fragmentation and overhead", Axis: "peak heap bytes / peak live bytes", Origin: 1,
		Alt: "Bar chart of each guest's peak heap over peak live bytes",
		Caption: "The highest address any block reached over the most bytes ever live at once: " +
			"1 is perfect, 2 means the heap reached twice what the program had live."},
	{Name: "touched", Kind: byGuest, Unit: "touched/live", Title: "Host memory touched", Axis: "touched bytes / peak live bytes",
		Alt: "Bar chart of the host memory each guest touched over its peak live bytes",
		Caption: "The bytes of linear memory the host had to back (pages the guest wrote) over the most bytes ever live: " +
			"what the embedder pays in RAM, beyond what the program needed."},
	{Name: "twins", Kind: twins, Units: []string{"instrs/op", "sec/op"}, Title: "TinyGo twins against their WAT originals",
		Alt: "Bar chart of each TinyGo-compiled guest beside the hand-written WAT guest with the same strategy",
		Caption: "The same strategy written by hand in WAT and compiled from Go by TinyGo (guest NAME-tinygo): " +
			"what the compiler's code costs over the hand-written one."},
	{Name: "size-speed", Kind: sizeSpeed, Unit: "sec/op", Title: "Binary size against speed", Axis: "time per op",
		Alt:     "Scatter chart of each guest's binary size against its time per op",
		Caption: "Each guest's binary size against its median time per op: down and to the left is better."},
	{Name: "utilisation", Kind: utilisation, Title: "Utilisation over the trace", Axis: "live bytes / heap bytes",
		Alt:     "Line chart of each guest's live bytes over its heap bytes as the trace runs",
		Caption: "Live bytes over the heap's high-water mark after each sampled op of the checked pass: 1 is a heap with no hole."},
}

// tinygoSuffix names a TinyGo twin: bump-tinygo is bump's twin.
const tinygoSuffix = "-tinygo"

// chartData is what a scenario's charts draw from.
type chartData struct {
	run                     *Run
	scenario                string
	idx                     cellIndex
	guests, variants, modes []string
}

// charts draws the scenario's charts into dir, spec by spec.
func (g *generator) charts(p *scenarioPage, dir string, d *chartData) error {
	for _, spec := range scenarioCharts {
		figs, err := g.chart(spec, d)
		if err != nil {
			return fmt.Errorf("chart %s: %w", spec.Name, err)
		}
		for _, f := range figs {
			if f.same != "" { // a variant drawn the same as an earlier one
				for i := range p.Charts {
					if p.Charts[i].Src == dir+f.same+".svg" {
						p.Charts[i].Caption += " The same for " + f.Caption + "."
					}
				}
				continue
			}
			src := dir + f.name + ".svg"
			p.Charts = append(p.Charts, figure{Src: src, Alt: spec.Alt, Caption: f.Caption, Legend: f.Legend})
			if err := g.write(src, f.svg); err != nil {
				return err
			}
		}
	}
	return nil
}

// drawn is a chart drawn for a figure.
type drawn struct {
	figure
	name string
	svg  []byte
	same string // the name of an identical chart drawn before, instead
}

func (s *chartSpec) format() func(float64) string {
	if s.Format != nil {
		return s.Format
	}
	unit := s.Unit
	if unit == "" && len(s.Units) > 0 {
		unit = s.Units[0]
	}
	return func(v float64) string { return compact(v, unit) }
}

func (s *chartSpec) scale() float64 {
	if s.Scale == 0 {
		return 1
	}
	return s.Scale
}

// chart draws one spec; none if the run lacks its unit.
func (g *generator) chart(s chartSpec, d *chartData) ([]drawn, error) {
	caption := s.Caption + rowsNote(d.variants)
	one := []color.Color{modeColor("replay", 0)}
	bars := func(series []string, colors []color.Color, groups []barGroup, legend []legendItem) ([]drawn, error) {
		if len(groups) == 0 {
			return nil, nil
		}
		svg, err := barChart(barOpts{Title: s.Title, Axis: s.Axis, Series: series, Colors: colors, Groups: groups,
			Max: s.Max, Linear: s.Linear, Origin: s.Origin, Format: s.format()})
		if err != nil {
			return nil, err
		}
		return []drawn{{figure: figure{Caption: caption, Legend: legend}, name: s.Name, svg: svg}}, nil
	}
	switch s.Kind {
	case byMode:
		m := d.idx[s.Unit]
		if len(m) == 0 {
			return nil, nil
		}
		var colors []color.Color
		var legend []legendItem
		for i, mode := range d.modes {
			colors = append(colors, modeColor(mode, i))
			legend = append(legend, legendItem{Label: mode, Color: hexColor(modeColor(mode, i)), Kind: "bar"})
		}
		var groups []barGroup
		for _, v := range d.variants {
			for _, gu := range d.guests {
				bg := barGroup{Label: groupLabel(gu, v, d.variants)}
				found := false
				for _, mode := range d.modes {
					c := m[Bench{Variant: v, Guest: gu, Mode: mode}]
					if c == nil {
						bg.Values = append(bg.Values, math.NaN())
						bg.Lo, bg.Hi = append(bg.Lo, math.NaN()), append(bg.Hi, math.NaN())
						continue
					}
					found = true
					bg.Values = append(bg.Values, c.Summary.Center*s.scale())
					bg.Lo, bg.Hi = append(bg.Lo, c.Summary.Lo*s.scale()), append(bg.Hi, c.Summary.Hi*s.scale())
				}
				if found {
					groups = append(groups, bg)
				}
			}
		}
		return bars(d.modes, colors, groups, legend)

	case byGuest:
		if d.idx[s.Unit] == nil {
			return nil, nil
		}
		var groups []barGroup
		for _, v := range d.variants {
			for _, gu := range d.guests {
				b := Bench{Variant: v, Guest: gu}
				c := d.idx.get(s.Unit, b, d.modes)
				switch {
				case c != nil:
					text := ""
					if s.Label != nil {
						text = s.Label(d.idx, b, c, d.modes)
					}
					groups = append(groups, barGroup{Label: groupLabel(gu, v, d.variants), Color: g.pal.guest(gu),
						Values: []float64{c.Summary.Center * s.scale()}, Text: []string{text}})
				case s.Missing != "" && d.idx.get("heap/live", b, d.modes) != nil:
					groups = append(groups, barGroup{Label: groupLabel(gu, v, d.variants), Values: []float64{math.NaN()}, Text: []string{s.Missing}})
				}
			}
		}
		return bars([]string{s.Unit}, one, groups, nil)

	case byUnit:
		var units []string
		for _, u := range s.Units {
			if d.idx[u] != nil {
				units = append(units, u)
			}
		}
		if len(units) == 0 {
			return nil, nil
		}
		var colors []color.Color
		var legend []legendItem
		for i, u := range units {
			colors = append(colors, seriesColors[i%len(seriesColors)])
			legend = append(legend, legendItem{Label: u, Color: hexColor(colors[i]), Kind: "bar"})
		}
		var groups []barGroup
		for _, v := range d.variants {
			for _, gu := range d.guests {
				bg := barGroup{Label: groupLabel(gu, v, d.variants)}
				found := false
				for _, u := range units {
					if c := d.idx.get(u, Bench{Variant: v, Guest: gu}, d.modes); c != nil {
						found = true
						bg.Values = append(bg.Values, c.Summary.Center)
					} else {
						bg.Values = append(bg.Values, math.NaN())
					}
				}
				if found {
					groups = append(groups, bg)
				}
			}
		}
		return bars(units, colors, groups, legend)

	case twins:
		unit := ""
		for _, u := range s.Units {
			if d.idx[u] != nil {
				unit = u
				break
			}
		}
		if unit == "" {
			return nil, nil
		}
		colors := []color.Color{seriesColors[0], seriesColors[1]}
		legend := []legendItem{{Label: "WAT, by hand", Color: hexColor(colors[0]), Kind: "bar"}, {Label: "TinyGo", Color: hexColor(colors[1]), Kind: "bar"}}
		var groups []barGroup
		for _, v := range d.variants {
			for _, gu := range d.guests {
				orig, ok := strings.CutSuffix(gu, tinygoSuffix)
				if !ok || !slices.Contains(d.guests, orig) {
					continue
				}
				bg := barGroup{Label: groupLabel(orig, v, d.variants)}
				found := 0
				for _, name := range []string{orig, gu} {
					if c := d.idx.get(unit, Bench{Variant: v, Guest: name, Mode: firstMode(d, unit)}, d.modes); c != nil {
						found++
						bg.Values = append(bg.Values, c.Summary.Center)
					} else {
						bg.Values = append(bg.Values, math.NaN())
					}
				}
				if found == 2 {
					groups = append(groups, bg)
				}
			}
		}
		s.Unit = unit
		s.Axis = describeAxis(unit, d)
		return bars([]string{"wat", "tinygo"}, colors, groups, legend)

	case sizeSpeed:
		return g.sizeSpeed(s, d, caption)

	case utilisation:
		return g.utilisation(s, d)
	}
	return nil, fmt.Errorf("unknown chart kind %d", s.Kind)
}

// firstMode is the mode a twins chart reads a timed unit from: replay if the
// run has it. Exact units take any mode ("").
func firstMode(d *chartData, unit string) string {
	if strings.HasPrefix(unit, "instrs") || len(d.modes) == 0 {
		return ""
	}
	return d.modes[0]
}

func describeAxis(unit string, d *chartData) string {
	switch {
	case unit == "sec/op" && len(d.modes) > 0:
		return "time per op, " + d.modes[0] + " mode"
	case unit == "instrs/op":
		return "wasm instructions per op"
	}
	return unit
}

// seriesColors are the bars of charts whose series are not modes.
var seriesColors = []color.Color{
	color.RGBA{0x25, 0x63, 0xeb, 0xff}, color.RGBA{0xf5, 0x9e, 0x0b, 0xff}, color.RGBA{0xdc, 0x26, 0x26, 0xff},
}

func (g *generator) sizeSpeed(s chartSpec, d *chartData, caption string) ([]drawn, error) {
	m := d.idx[s.Unit]
	if len(m) == 0 || len(d.variants) == 0 {
		return nil, nil
	}
	v := d.variants[0]
	var pts []scatterPoint
	for _, gu := range d.guests {
		size := 0.0
		if c := d.idx.get("wasm-bytes", Bench{Variant: v, Guest: gu}, d.modes); c != nil {
			size = c.Summary.Center
		} else if gi := d.run.Guest(gu); gi != nil && gi.Bytes > 0 {
			size = float64(gi.Bytes)
		}
		if size == 0 {
			continue
		}
		for _, mode := range d.modes {
			if c := m[Bench{Variant: v, Guest: gu, Mode: mode}]; c != nil {
				pts = append(pts, scatterPoint{Guest: gu, Mode: mode, X: size, Y: c.Summary.Center})
			}
		}
	}
	if len(pts) == 0 {
		return nil, nil
	}
	if len(d.variants) > 1 {
		caption = s.Caption + " Variant " + variantLabel(v) + "."
	}
	var legend []legendItem
	kinds := []string{"circle", "triangle", "square", "plus"}
	for i, mode := range d.modes {
		legend = append(legend, legendItem{Label: mode, Color: hexColor(ink), Kind: kinds[i%len(kinds)]})
	}
	svg, err := scatterChart(s.Title, "wasm bytes", s.Axis, pts, d.modes, &g.pal,
		func(v float64) string { return compact(v, "wasm-bytes") }, s.format())
	if err != nil {
		return nil, err
	}
	return []drawn{{figure: figure{Caption: caption, Legend: legend}, name: s.Name, svg: svg}}, nil
}

// utilisation draws one chart per variant with samples; variants with the same
// samples are drawn once.
func (g *generator) utilisation(s chartSpec, d *chartData) ([]drawn, error) {
	if d.run.Heap == nil {
		return nil, nil
	}
	var out []drawn
	seen := map[string]string{}
	for _, v := range d.variants {
		var series []lineSeries
		for _, gu := range d.guests {
			rec := heapRecord(d.run, d.scenario, v, gu, d.modes)
			if rec == nil || len(rec.Samples) == 0 {
				continue
			}
			var xys plotter.XYs
			for _, sm := range rec.Samples {
				if sm.HeapBytes > 0 {
					xys = append(xys, plotter.XY{X: float64(sm.Op), Y: float64(sm.LiveBytes) / float64(sm.HeapBytes)})
				}
			}
			if len(xys) > 0 {
				series = append(series, lineSeries{Guest: gu, XYs: xys})
			}
		}
		if len(series) == 0 {
			continue
		}
		name := s.Name
		caption := s.Caption
		if len(d.variants) > 1 {
			caption += " Variant " + variantLabel(v) + "."
			name += "-" + fileSafe(v)
		}
		key, _ := json.Marshal(series)
		if first, ok := seen[string(key)]; ok {
			out = append(out, drawn{figure: figure{Caption: variantLabel(v)}, same: first})
			continue
		}
		seen[string(key)] = name
		var legend []legendItem
		for i, sr := range series {
			kind := "line"
			if i%2 == 1 {
				kind = "dash"
			}
			legend = append(legend, legendItem{Label: sr.Guest, Color: hexColor(g.pal.guest(sr.Guest)), Kind: kind})
		}
		svg, err := lineChart(s.Title, "op", s.Axis, series, 1.05, &g.pal)
		if err != nil {
			return nil, err
		}
		out = append(out, drawn{figure: figure{Caption: caption, Legend: legend}, name: name, svg: svg})
	}
	return out, nil
}

// compact formats a value of unit for a chart: times with an SI prefix ("12 ns",
// "1.5 µs"), bytes with a binary one ("1.5 MiB"), other values with three
// significant digits and k (from ten thousand), M or G.
func compact(v float64, unit string) string {
	switch {
	case !finite(v):
		return fmt.Sprint(v)
	case v == 0:
		return "0"
	case strings.HasPrefix(unit, "sec/") || strings.HasSuffix(unit, "-sec"):
		return siFormat(v) + "s"
	case strings.Contains(unit, "bytes") && !strings.Contains(unit, "/"):
		if v >= 0 && v == math.Trunc(v) && v < 1<<53 {
			return byteSize(uint64(v))
		}
	}
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimG(v/1e9) + "G"
	case a >= 1e6:
		return trimG(v/1e6) + "M"
	case a >= 1e4:
		return trimG(v/1e3) + "k"
	}
	return trimG(v)
}

// siFormat formats v with an SI prefix and a space: "12 n", "1.5 µ", "3 ".
func siFormat(v float64) string {
	if v == 0 {
		return "0 "
	}
	prefixes := []struct {
		f float64
		p string
	}{{1, ""}, {1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}, {1e-12, "p"}}
	for _, p := range prefixes {
		if math.Abs(v) >= p.f*0.9995 {
			return trimG(v/p.f) + " " + p.p
		}
	}
	return trimG(v/1e-12) + " p"
}

// trimG formats v with three significant digits, whole numbers from 1000 up.
func trimG(v float64) string {
	if math.Abs(v) >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
