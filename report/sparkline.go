package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// sparkline is a guest's ratio to the base in each scenario, drawn inline as
// bars from a baseline at 1 on a log scale: up is slower than the base, down
// faster, so a glance shows where a guest wins and where it loses.
type sparkline struct {
	Bars []sparkBar
}

type sparkBar struct {
	Label string
	Value float64 // NaN where the guest has no value
}

const (
	sparkBarW  = 7
	sparkGap   = 2
	sparkHalf  = 14  // px from the baseline to the edge
	sparkRange = 2.0 // decades each way: 100× is the edge
)

// SVG draws the sparkline as an inline SVG picture with a title per bar.
func (s *sparkline) SVG() template.HTML {
	if s == nil || len(s.Bars) == 0 {
		return ""
	}
	w := len(s.Bars)*(sparkBarW+sparkGap) - sparkGap
	h := 2*sparkHalf + 1
	var b strings.Builder
	var desc []string
	for _, bar := range s.Bars {
		if finite(bar.Value) {
			desc = append(desc, fmt.Sprintf("%s %s", bar.Label, ratioText(bar.Value)))
		}
	}
	fmt.Fprintf(&b, `<svg class="spark" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, h, w, h, template.HTMLEscapeString("per scenario: "+strings.Join(desc, ", ")))
	fmt.Fprintf(&b, `<line x1="0" x2="%d" y1="%d" y2="%d" stroke="#9ca3af" stroke-width="1"/>`, w, sparkHalf, sparkHalf)
	for i, bar := range s.Bars {
		x := i * (sparkBarW + sparkGap)
		if !finite(bar.Value) || bar.Value <= 0 {
			fmt.Fprintf(&b, `<g><title>%s: no result</title><rect x="%d" y="%d" width="%d" height="1" fill="#d1d5db"/></g>`,
				template.HTMLEscapeString(bar.Label), x, sparkHalf, sparkBarW)
			continue
		}
		l := math.Max(-sparkRange, math.Min(sparkRange, math.Log10(bar.Value)))
		px := int(math.Round(math.Abs(l) / sparkRange * sparkHalf))
		y, fill := sparkHalf-px, "#dc2626" // slower: up, red
		if l < 0 {
			y, fill = sparkHalf+1, "#059669" // faster: down, green
		}
		if px == 0 {
			px, y, fill = 1, sparkHalf, "#6b7280"
		}
		fmt.Fprintf(&b, `<g><title>%s: %s</title><rect x="%d" y="%d" width="%d" height="%d" fill="%s"/></g>`,
			template.HTMLEscapeString(bar.Label), ratioText(bar.Value), x, y, sparkBarW, px, fill)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
