package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"
	"golang.org/x/perf/benchunit"

	"github.com/alloclab/alloclab/results"
)

// better returns +1 if higher values of unit are better, -1 if lower, 0 if
// neither: as the file's Unit lines say, or else (a file written before them) as
// results' unit table does; lower for a unit neither knows.
func better(unit string, units benchfmt.UnitMetadataMap) int {
	if units.Get(unit, "better") != nil {
		return units.GetBetter(unit)
	}
	u, ok := results.Lookup(unit)
	switch {
	case !ok || u.Better == "lower":
		return -1
	case u.Better == "higher":
		return 1
	}
	return 0
}

func rowLabel(b Bench, mode bool) string {
	var parts []string
	if b.Variant != "" {
		parts = append(parts, variantLabel(b.Variant))
	}
	if mode && b.Mode != "" {
		parts = append(parts, b.Mode)
	}
	if len(parts) == 0 {
		return "all modes"
	}
	return strings.Join(parts, " · ")
}

// guestTable lays out the guest tables of one run side by side: a group of rows
// per unit, a row per variant and mode, a column per guest. The rows of an exact
// unit that are the same in every mode are shown once.
func guestTable(tables []*StatTable, guests, variants, modes []string) *htmlTable {
	ht := &htmlTable{Head: guests, notes: map[string]int{}}
	for _, t := range tables {
		grp := &rowGroup{Unit: t.Unit, Desc: results.Caption(t.Unit)}
		colOf := map[string]benchproc.Key{}
		for _, c := range t.Cols {
			colOf[c.StringValues()] = c
		}
		for _, v := range variants {
			var rows []benchproc.Key
			for _, r := range t.Rows {
				if ParseName(r.StringValues()).Variant == v {
					rows = append(rows, r)
				}
			}
			if len(rows) == 0 {
				continue
			}
			collapse := t.Exact() && len(rows) > 1 && sameAcross(t, rows)
			if collapse {
				rows = rows[:1]
			}
			for _, r := range rows {
				b := ParseName(r.StringValues())
				hr := &htmlRow{Label: rowLabel(b, !collapse)}
				for _, gu := range guests {
					col, ok := colOf[gu]
					var c *StatCell
					if ok {
						c = t.Cell(r, col)
					}
					if c == nil {
						hr.Cells = append(hr.Cells, &htmlCell{Missing: true})
						continue
					}
					hr.Cells = append(hr.Cells, &htmlCell{
						Value: FormatValue(c.Summary.Center, t.Unit),
						Range: "± " + c.Summary.PctRangeString(),
						Notes: ht.note(c.Warnings()),
					})
				}
				grp.Rows = append(grp.Rows, hr)
			}
		}
		if len(grp.Rows) > 0 {
			ht.Groups = append(ht.Groups, grp)
		}
	}
	return ht
}

// sameAcross reports whether every column has the same center in each of rows.
func sameAcross(t *StatTable, rows []benchproc.Key) bool {
	for _, col := range t.Cols {
		var first *StatCell
		for i, r := range rows {
			c := t.Cell(r, col)
			switch {
			case i == 0:
				first = c
			case (c == nil) != (first == nil):
				return false
			case c != nil && c.Summary.Center != first.Summary.Center:
				return false
			}
		}
	}
	return true
}

// compareTable lays out the comparison of two runs: a group of rows per unit, a
// row per benchmark, the base run's column, the latest run's and the change.
func compareTable(tables []*StatTable, baseName, newName string, units benchfmt.UnitMetadataMap) *htmlTable {
	ht := &htmlTable{Head: []string{baseName, newName}, Delta: true, notes: map[string]int{}}
	for _, t := range tables {
		grp := &rowGroup{Unit: t.Unit, Desc: results.Caption(t.Unit)}
		var baseCol, newCol benchproc.Key
		for _, c := range t.Cols {
			switch c.StringValues() {
			case baseName:
				baseCol = c
			case newName:
				newCol = c
			}
		}
		dir := better(t.Unit, units)
		changed, compared := 0, 0
		// An exact unit is the same in every mode: its rows are shown once.
		seen := map[Bench][2]float64{}
		for _, r := range t.Rows {
			b := ParseName(r.StringValues())
			showMode := true
			if t.Exact() {
				key := b
				key.Mode = ""
				vals := [2]float64{-1, -1}
				for i, col := range []benchproc.Key{baseCol, newCol} {
					if c := t.Cell(r, col); !col.IsZero() && c != nil {
						vals[i] = c.Summary.Center
					}
				}
				prev, ok := seen[key]
				if ok && prev == vals {
					continue
				}
				showMode = ok // a mode that differs says which it is
				seen[key] = vals
			}
			label := b.Guest
			if b.Scenario != "" { // across scenarios: the benchmark first, then the guest
				label = strings.TrimSpace(b.Scenario+" "+variantLabel(b.Variant)) + " · " + b.Guest
				if showMode && b.Mode != "" {
					label += " · " + b.Mode
				}
			} else if l := rowLabel(b, showMode); l != "all modes" {
				label += " · " + l
			}
			hr := &htmlRow{Label: label}
			var nc *StatCell
			for _, col := range []benchproc.Key{baseCol, newCol} {
				var c *StatCell
				if !col.IsZero() {
					c = t.Cell(r, col)
				}
				if c == nil {
					hr.Cells = append(hr.Cells, &htmlCell{Missing: true})
					continue
				}
				hr.Cells = append(hr.Cells, &htmlCell{Value: FormatValue(c.Summary.Center, t.Unit), Range: "± " + c.Summary.PctRangeString(), Notes: ht.note(c.Warnings())})
				nc = c
			}
			dc := &htmlCell{Missing: true}
			if nc != nil && nc.Base != nil {
				compared++
				delta, test := nc.Delta()
				dc = &htmlCell{Delta: delta, Test: test, Notes: ht.note(nc.ComparisonWarnings())}
				if nc.Significant() {
					changed++
					up := nc.Summary.Center > nc.Base.Summary.Center
					switch {
					case dir == 0:
					case up == (dir > 0):
						dc.Class = "better"
						grp.Better++
					default:
						dc.Class = "worse"
						grp.Worse++
					}
				}
			}
			hr.Cells = append(hr.Cells, dc)
			grp.Rows = append(grp.Rows, hr)
		}
		// The geomean row, as benchstat's.
		if !baseCol.IsZero() && !newCol.IsZero() && len(t.Rows) > 1 {
			gr := &htmlRow{Label: "geomean", Class: "geomean"}
			for _, col := range []benchproc.Key{baseCol, newCol} {
				center, ok, _, _ := t.GeoMean(col)
				if !ok {
					gr.Cells = append(gr.Cells, &htmlCell{Missing: true})
					continue
				}
				gr.Cells = append(gr.Cells, &htmlCell{Value: FormatValue(center, t.Unit)})
			}
			geo := ""
			if _, _, ratio, ok := t.GeoMean(newCol); ok {
				gr.Cells = append(gr.Cells, &htmlCell{Delta: fmt.Sprintf("%+.2f%%", (ratio-1)*100)})
				if ratio != 1 {
					geo = fmt.Sprintf("geomean %+.2f%%", (ratio-1)*100)
				}
				grp.Geomean = fmt.Sprintf("%+.2f%%", (ratio-1)*100)
			} else {
				gr.Cells = append(gr.Cells, &htmlCell{Missing: true})
			}
			grp.Rows = append(grp.Rows, gr)
			grp.Summary = geo
		}
		if compared > 0 {
			var s string
			switch {
			case changed == 0 && t.Exact():
				s = "unchanged"
			case changed == 0:
				s = "no significant change"
			case t.Exact():
				s = fmt.Sprintf("%d of %d changed", changed, compared)
			default:
				s = fmt.Sprintf("%d of %d changed significantly", changed, compared)
			}
			if grp.Summary != "" {
				s = grp.Summary + "; " + s
			}
			grp.Summary = s
		}
		grp.Open = changed > 0 || t.Unit == "sec/op"
		grp.Compared, grp.Changed, grp.Exact = compared, changed, t.Exact()
		ht.Groups = append(ht.Groups, grp)
	}
	return ht
}

// FormatValue formats a value of unit for reading: times with an SI prefix and
// "s", bytes with a binary prefix and "B", whole numbers as they are, others with
// four significant digits.
func FormatValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case strings.HasPrefix(unit, "sec/") || strings.HasSuffix(unit, "-sec"):
		if v == 0 {
			return "0s"
		}
		return benchunit.Scale(v, benchunit.Decimal) + "s"
	case strings.HasSuffix(unit, "bytes") || strings.HasPrefix(unit, "B/"):
		if v == math.Trunc(v) && v >= 0 && v < 1<<63 {
			return byteSize(uint64(v))
		}
		return benchunit.Scale(v, benchunit.Binary) + "B"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
