package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
)

// The statistics are benchstat's: results are grouped into tables by unit and into
// cells by a row and a column projection (golang.org/x/perf/benchproc), each cell
// is summarised by the unit's distributional assumption (golang.org/x/perf/benchmath:
// the median and its confidence interval, or the exact value for units declared
// assume=exact), and a cell is compared with the first column of its row by a
// Mann-Whitney U-test, as cmd/benchstat does.

// Confidence is the confidence level of the intervals, benchstat's default.
const Confidence = 0.95

// StatTable is the cells of one unit.
type StatTable struct {
	Unit       string
	Scenario   string // the /scenario of the table's results
	Assumption benchmath.Assumption
	Rows, Cols []benchproc.Key
	Cells      map[[2]benchproc.Key]*StatCell
}

// StatCell summarises the values of one row and column.
type StatCell struct {
	Sample  *benchmath.Sample
	Summary benchmath.Summary
	// Base is the cell in the first column of the row, if this is not it.
	Base       *StatCell
	Comparison benchmath.Comparison
	// Residue lists the fields the cell's results differ in besides the
	// projections, as benchstat warns.
	Residue []string
}

// Exact reports whether t's unit is declared exact.
func (t *StatTable) Exact() bool { return t.Assumption == benchmath.AssumeExact }

// Cell returns the cell of row and col, or nil.
func (t *StatTable) Cell(row, col benchproc.Key) *StatCell {
	return t.Cells[[2]benchproc.Key{row, col}]
}

// Find returns the cell whose row and column values (Key.StringValues) are row
// and col, or nil.
func (t *StatTable) Find(row, col string) *StatCell {
	for _, r := range t.Rows {
		if r.StringValues() != row {
			continue
		}
		for _, c := range t.Cols {
			if c.StringValues() == col {
				return t.Cell(r, c)
			}
		}
	}
	return nil
}

// BuildTables groups results by unit, then by the projections rowBy and colBy
// (benchproc syntax, such as ".fullname" and "/guest"), and summarises each cell.
// Keys named in one projection are excluded from ".fullname" in the others, as in
// benchstat, and the table key always includes /scenario, which the rows then omit.
func BuildTables(results []*benchfmt.Result, units benchfmt.UnitMetadataMap, rowBy, colBy string) ([]*StatTable, error) {
	return buildTables(results, units, "/scenario", rowBy, colBy)
}

// buildTables is BuildTables with the table projection tableBy besides the unit:
// "/scenario", or "" for one table per unit across the scenarios.
func buildTables(results []*benchfmt.Result, units benchfmt.UnitMetadataMap, tableBy, rowBy, colBy string) ([]*StatTable, error) {
	filter, err := benchproc.NewFilter("*")
	if err != nil {
		return nil, err
	}
	var parser benchproc.ProjectionParser
	tableProj, unitField, err := parser.ParseWithUnit(tableBy, filter)
	if err != nil {
		return nil, err
	}
	rowProj, err := parser.Parse(rowBy, filter)
	if err != nil {
		return nil, fmt.Errorf("row projection %q: %w", rowBy, err)
	}
	colProj, err := parser.Parse(colBy, filter)
	if err != nil {
		return nil, fmt.Errorf("column projection %q: %w", colBy, err)
	}
	residueProj := parser.Residue()
	var scenarioField *benchproc.Field
	for _, f := range tableProj.Fields() {
		if f.Name == "/scenario" {
			scenarioField = f
		}
	}

	type builder struct {
		rows, cols map[benchproc.Key]bool
		values     map[[2]benchproc.Key][]float64
		residue    map[[2]benchproc.Key]map[benchproc.Key]bool
	}
	tables := map[benchproc.Key]*builder{}
	for _, res := range results {
		if ok, _ := filter.Apply(res); !ok {
			continue
		}
		row, col, residue := rowProj.Project(res), colProj.Project(res), residueProj.Project(res)
		ck := [2]benchproc.Key{row, col}
		for i, tk := range tableProj.ProjectValues(res) {
			b := tables[tk]
			if b == nil {
				b = &builder{rows: map[benchproc.Key]bool{}, cols: map[benchproc.Key]bool{},
					values: map[[2]benchproc.Key][]float64{}, residue: map[[2]benchproc.Key]map[benchproc.Key]bool{}}
				tables[tk] = b
			}
			b.rows[row], b.cols[col] = true, true
			b.values[ck] = append(b.values[ck], res.Values[i].Value)
			if b.residue[ck] == nil {
				b.residue[ck] = map[benchproc.Key]bool{}
			}
			b.residue[ck][residue] = true
		}
	}

	keys := sortedKeys(tables)
	var out []*StatTable
	for _, tk := range keys {
		b := tables[tk]
		unit := tk.Get(unitField)
		t := &StatTable{
			Unit:       unit,
			Scenario:   scenarioOf(tk, scenarioField),
			Assumption: units.GetAssumption(unit),
			Rows:       sortedKeys(b.rows),
			Cols:       sortedKeys(b.cols),
			Cells:      map[[2]benchproc.Key]*StatCell{},
		}
		for ck, vs := range b.values {
			c := &StatCell{Sample: benchmath.NewSample(vs, &benchmath.DefaultThresholds)}
			c.Summary = t.Assumption.Summary(c.Sample, Confidence)
			for _, f := range benchproc.NonSingularFields(sortedKeys(b.residue[ck])) {
				c.Residue = append(c.Residue, f.Name)
			}
			t.Cells[ck] = c
		}
		base := t.Cols[0]
		for ck, c := range t.Cells {
			if ck[1] == base {
				continue
			}
			if bc := t.Cells[[2]benchproc.Key{ck[0], base}]; bc != nil {
				c.Base = bc
				c.Comparison = t.Assumption.Compare(bc.Sample, c.Sample)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func scenarioOf(k benchproc.Key, f *benchproc.Field) string {
	if f == nil {
		return ""
	}
	return k.Get(f)
}

func sortedKeys[V any](m map[benchproc.Key]V) []benchproc.Key {
	keys := make([]benchproc.Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	benchproc.SortKeys(keys)
	return keys
}

// GeoMean returns the geometric mean of the column's centers and of its ratios to
// the base column, as benchstat's summary row does; ok is false where either is
// undefined (a value of 0, or a row without a base).
func (t *StatTable) GeoMean(col benchproc.Key) (center float64, centerOK bool, ratio float64, ratioOK bool) {
	var centers, ratios []float64
	badRatio := false
	nBase, nRatio := 0, 0
	for _, row := range t.Rows {
		if t.Cell(row, t.Cols[0]) != nil {
			nBase++
		}
		c := t.Cell(row, col)
		if c == nil {
			continue
		}
		centers = append(centers, c.Summary.Center)
		if c.Base != nil {
			nRatio++
			a, b := c.Summary.Center, c.Base.Summary.Center
			switch {
			case a == b:
				ratios = append(ratios, 1)
			case b == 0:
				badRatio = true
			default:
				ratios = append(ratios, a/b)
			}
		}
	}
	center, centerOK = geoMean(centers)
	if col != t.Cols[0] && !badRatio && nRatio == nBase {
		ratio, ratioOK = geoMean(ratios)
	}
	return
}

// median returns the median of xs, and false if xs is empty.
func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func geoMean(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	var sum float64
	for _, x := range xs {
		if x <= 0 {
			return 0, false
		}
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs))), true
}

// Delta formats c's comparison with its base as benchstat does: "~" when the
// difference is not significant, else the change in percent; and the test's
// p-value and sample sizes.
func (c *StatCell) Delta() (delta, test string) {
	if c.Base == nil {
		return "", ""
	}
	return c.Comparison.FormatDelta(c.Base.Summary.Center, c.Summary.Center), c.Comparison.String()
}

// Significant reports whether c differs from its base: the test rejects the null
// hypothesis and the centers differ.
func (c *StatCell) Significant() bool {
	return c.Base != nil && c.Comparison.P <= c.Comparison.Alpha && c.Summary.Center != c.Base.Summary.Center
}

// Warnings returns the warnings of the cell's sample and summary as text.
func (c *StatCell) Warnings() []string {
	var out []string
	for _, w := range c.Summary.Warnings {
		out = append(out, w.Error())
	}
	for _, w := range c.Sample.Warnings {
		out = append(out, w.Error())
	}
	if len(c.Residue) > 0 {
		out = append(out, "benchmarks vary in "+strings.Join(c.Residue, ", "))
	}
	return out
}

// ComparisonWarnings returns the warnings of the comparison with the base.
func (c *StatCell) ComparisonWarnings() []string {
	var out []string
	if c.Base != nil {
		for _, w := range c.Comparison.Warnings {
			out = append(out, w.Error())
		}
	}
	return out
}

// mergeUnits returns the union of units' metadata.
func mergeUnits(ms ...benchfmt.UnitMetadataMap) benchfmt.UnitMetadataMap {
	out := benchfmt.UnitMetadataMap{}
	for _, m := range ms {
		for k, v := range m {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}
