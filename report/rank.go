package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// The index ranks the guests of one run across all its scenarios, and a chooser
// reads the same numbers as answers to "which allocator for this need?". Every
// number is computed here from the results (benchstat's medians and exact
// values); the page states the method (rankMethod).

// baseGuest is the guest the ratios are relative to when the run has it.
const baseGuest = "dlmalloc"

// notAllocators are guests that are not allocators: left out of the ranking.
var notAllocators = []string{"floor"}

// metric is one column of the ranking.
type metric struct {
	ID, Head, Title string
	// Lower says lower values are better.
	Lower bool
	// Format formats a guest's value.
	Format func(float64) string
}

var (
	mTime  = metric{ID: "time", Head: "time per op", Title: "geometric mean over the scenarios of the guest's median sec/op over the base's", Lower: true, Format: ratioText}
	mInstr = metric{ID: "instrs", Head: "instructions per op", Title: "geometric mean over the scenarios of instrs/op over the base's (exact)", Lower: true, Format: ratioText}
	mWorst = metric{ID: "worst", Head: "worst op", Title: "geometric mean over the scenarios of max-instrs, the most instructions one op took, over the base's (exact)", Lower: true, Format: ratioText}
	mHeap  = metric{ID: "heap", Head: "heap/live", Title: "geometric mean over the scenarios of peak heap bytes over peak live bytes: 1 is perfect", Lower: true,
		Format: func(v float64) string { return fmt.Sprintf("%.3g", v) }}
	mTouched = metric{ID: "touched", Head: "touched/live", Title: "median over the scenarios of the host memory the guest touched over peak live bytes (0 for a guest that writes nothing of its own)", Lower: true,
		Format: func(v float64) string { return fmt.Sprintf("%.3g", v) }}
	mTouchedBytes = metric{ID: "touched", Head: "touched bytes", Title: "median over the scenarios of the host memory the guest touched", Lower: true,
		Format: func(v float64) string { return byteSize(uint64(v)) }}
	mOOM = metric{ID: "oom", Head: "used at OOM", Title: "mean over the benchmarks of oom-live/limit: how much of the memory limit was live when the first alloc failed", Lower: false,
		Format: func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }}
	mSize = metric{ID: "size", Head: "wasm size", Title: "the guest's binary size", Lower: true,
		Format: func(v float64) string { return byteSize(uint64(v)) }}
)

// ratioText formats a ratio: "37×", "1.25×", "0.40×", "0.0033×".
func ratioText(v float64) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0f×", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2f×", v)
	}
	return fmt.Sprintf("%.2g×", v)
}

// Ranking is the index's table: every guest of one run across its scenarios.
type Ranking struct {
	Run       *runSummary
	Why       string // why this run is the one ranked
	Base      string // the guest ratios are relative to
	BaseNote  string // set when the base is not dlmalloc
	Mode      string // the mode timed units are read from
	Scenarios []string
	Metrics   []metric
	Rows      []*rankRow
	Left      []string // guests left out, and why
	OOMNote   string   // which benchmarks the OOM column averages
	Chooser   []*choice
	Twins     []*twinRow
	// Heat is the time (or, without it, instruction) ratio of each guest in each
	// scenario: the small multiples behind the geometric mean.
	Heat *heatTable
}

// heatTable is a guest-by-scenario table of ratios to the base, each cell
// shaded by how far it is from 1.
type heatTable struct {
	Metric    metric
	Scenarios []navLink
	Rows      []heatRow
}

type heatRow struct {
	Guest  string
	IsBase bool
	Cells  []rankCell
}

// heatClass buckets a ratio: f3 (half the base's or less) to s3 (twice or more).
func heatClass(r float64) string {
	switch {
	case r <= 0.5:
		return "f3"
	case r <= 0.71:
		return "f2"
	case r <= 0.91:
		return "f1"
	case r < 1.1:
		return ""
	case r < 1.41:
		return "s1"
	case r < 2:
		return "s2"
	}
	return "s3"
}

type rankRow struct {
	Guest string
	// PerScenario holds, by metric ID, the ratio to the base in each scenario.
	PerScenario map[string]map[string]float64
	Values      map[string]float64 // by metric ID; absent where the guest has none
	Cover       map[string]int     // scenarios (benchmarks for oom) behind each value
	Cells       []rankCell
	Spark       *sparkline // per-scenario time over the base
	Rank        int
	Partial     string // "3 of 4 scenarios" when the guest lacks some
	IsBase      bool
	Failures    []string
}

type rankCell struct {
	Text, Class, Title string
	Missing            bool
}

// scenarioValues holds one unit's values: scenario -> variant -> guest -> value.
type scenarioValues map[string]map[string]map[string]float64

// collect reads the run's medians and exact values, by unit: timed units from
// mode (replay when the run has it), exact units from the first mode with them.
func collect(r *Run) (map[string]scenarioValues, string, error) {
	tables, err := BuildTables(r.Results, r.Units, ".fullname", "/guest")
	if err != nil {
		return nil, "", err
	}
	modes := map[string]bool{}
	for _, res := range r.Results {
		modes[ParseName(res.Name.String()).Mode] = true
	}
	mode := "replay"
	if !modes[mode] {
		var ms []string
		for m := range modes {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		mode = ms[0]
	}
	out := map[string]scenarioValues{}
	for _, t := range tables {
		sv := out[t.Unit]
		if sv == nil {
			sv = scenarioValues{}
			out[t.Unit] = sv
		}
		for _, row := range t.Rows {
			b := ParseName(row.StringValues())
			if !t.Exact() && b.Mode != mode {
				continue
			}
			for _, col := range t.Cols {
				c := t.Cell(row, col)
				if c == nil {
					continue
				}
				sc := t.Scenario
				if sv[sc] == nil {
					sv[sc] = map[string]map[string]float64{}
				}
				if sv[sc][b.Variant] == nil {
					sv[sc][b.Variant] = map[string]float64{}
				}
				if _, ok := sv[sc][b.Variant][col.StringValues()]; !ok { // exact: the first mode's
					sv[sc][b.Variant][col.StringValues()] = c.Summary.Center
				}
			}
		}
	}
	return out, mode, nil
}

// rankTarget picks the run to rank: opt names it, or the latest run with at
// least half the scenarios of the widest run (a narrow run, such as one
// scenario's study, would rank guests on one workload).
func rankTarget(runs []*Run, opt string) (*Run, string, error) {
	if opt != "" {
		for _, r := range runs {
			if r.Name == opt || r.Path == opt || r.Name == strings.TrimSuffix(baseName(opt), ".txt") {
				return r, "chosen with -rank", nil
			}
		}
		return nil, "", fmt.Errorf("report: -rank %q is none of the runs", opt)
	}
	widest := 0
	for _, r := range runs {
		widest = max(widest, len(runScenarios(r)))
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if n := len(runScenarios(runs[i])); 2*n >= widest {
			why := "the latest run"
			if i < len(runs)-1 {
				why = fmt.Sprintf("the latest run with at least half the scenarios of the widest (%d); later runs cover fewer", widest)
			}
			return runs[i], why, nil
		}
	}
	return runs[len(runs)-1], "the latest run", nil
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func runScenarios(r *Run) []string {
	var out []string
	for _, res := range r.Results {
		if s := ParseName(res.Name.String()).Scenario; s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// rank builds the ranking of run r.
func rank(r *Run, why string) (*Ranking, error) {
	vals, mode, err := collect(r)
	if err != nil {
		return nil, err
	}
	rk := &Ranking{Run: summarise(r), Why: why, Mode: mode, Scenarios: runScenarios(r)}

	// The guests, in the run's order, allocators only.
	var guests []string
	for _, res := range r.Results {
		g := ParseName(res.Name.String()).Guest
		if g != "" && !slices.Contains(guests, g) {
			if slices.Contains(notAllocators, g) {
				if !slices.Contains(rk.Left, g) {
					rk.Left = append(rk.Left, g)
				}
				continue
			}
			guests = append(guests, g)
		}
	}
	if len(guests) == 0 {
		return nil, nil
	}
	rk.Base = baseGuest
	if !slices.Contains(guests, baseGuest) {
		rk.Base = guests[0]
		rk.BaseNote = fmt.Sprintf("This run has no %s: ratios are to %s, the first guest it has.", baseGuest, rk.Base)
	}

	rows := map[string]*rankRow{}
	for _, g := range guests {
		rows[g] = &rankRow{Guest: g, Values: map[string]float64{}, Cover: map[string]int{}, IsBase: g == rk.Base,
			PerScenario: map[string]map[string]float64{}}
		rk.Rows = append(rk.Rows, rows[g])
	}

	// Ratios to the base: per variant, combined per scenario by their geometric
	// mean, then over the scenarios.
	ratio := func(m metric, unit string) {
		sv := vals[unit]
		if sv == nil {
			return
		}
		rk.Metrics = append(rk.Metrics, m)
		for _, g := range guests {
			var perScenario []float64
			var spark []sparkBar
			for _, sc := range rk.Scenarios {
				var rs []float64
				for _, v := range sortedVariants(sv[sc]) {
					x, ok1 := sv[sc][v][g]
					b, ok2 := sv[sc][v][rk.Base]
					if ok1 && ok2 && x > 0 && b > 0 {
						rs = append(rs, x/b)
					}
				}
				if gm, ok := geoMean(rs); ok {
					perScenario = append(perScenario, gm)
					spark = append(spark, sparkBar{Label: sc, Value: gm})
					if rows[g].PerScenario[m.ID] == nil {
						rows[g].PerScenario[m.ID] = map[string]float64{}
					}
					rows[g].PerScenario[m.ID][sc] = gm
				} else if m.ID == "time" {
					spark = append(spark, sparkBar{Label: sc, Value: math.NaN()})
				}
			}
			if gm, ok := geoMean(perScenario); ok {
				rows[g].Values[m.ID] = gm
				rows[g].Cover[m.ID] = len(perScenario)
			}
			if m.ID == "time" {
				rows[g].Spark = &sparkline{Bars: spark}
			}
		}
	}
	// absolute combines a guest's own values, variants then scenarios, with mean:
	// geoMean for heap/live, which is at least 1; the median for the touched
	// measures, where 0 (bump writes nothing of its own) is a value and one
	// scenario can be a thousand times another (bump's copies on realloc-growth).
	absolute := func(m metric, unit string, mean func([]float64) (float64, bool)) bool {
		sv := vals[unit]
		if sv == nil {
			return false
		}
		rk.Metrics = append(rk.Metrics, m)
		for _, g := range guests {
			var perScenario []float64
			for _, sc := range rk.Scenarios {
				var xs []float64
				for _, v := range sortedVariants(sv[sc]) {
					if x, ok := sv[sc][v][g]; ok {
						xs = append(xs, x)
					}
				}
				if gm, ok := mean(xs); ok {
					perScenario = append(perScenario, gm)
				}
			}
			if gm, ok := mean(perScenario); ok {
				rows[g].Values[m.ID] = gm
				rows[g].Cover[m.ID] = len(perScenario)
			}
		}
		return true
	}
	ratio(mTime, "sec/op")
	ratio(mInstr, "instrs/op")
	ratio(mWorst, "max-instrs")
	absolute(mHeap, "heap/live", geoMean)
	if !absolute(mTouched, "touched/live", median) {
		absolute(mTouchedBytes, "touched-bytes", median)
	}
	rk.oom(vals["oom-live/limit"], guests, rows)
	rk.size(r, vals["wasm-bytes"], guests, rows)

	// Guests that lack scenarios say so: their means are over fewer.
	for _, row := range rk.Rows {
		have := 0
		for _, sc := range rk.Scenarios {
			for _, sv := range vals {
				if hasGuest(sv[sc], row.Guest) {
					have++
					break
				}
			}
		}
		if have < len(rk.Scenarios) {
			row.Partial = fmt.Sprintf("%d of %d scenarios", have, len(rk.Scenarios))
		}
	}

	// Rank by time, else by instructions, else by heap/live.
	key := mHeap.ID
	for _, id := range []string{mTime.ID, mInstr.ID} {
		if rk.has(id) {
			key = id
			break
		}
	}
	sort.SliceStable(rk.Rows, func(i, j int) bool {
		a, aok := rk.Rows[i].Values[key]
		b, bok := rk.Rows[j].Values[key]
		if aok != bok {
			return aok
		}
		return a < b
	})
	for i, row := range rk.Rows {
		row.Rank = i + 1
		for _, m := range rk.Metrics {
			v, ok := row.Values[m.ID]
			if !ok {
				row.Cells = append(row.Cells, rankCell{Missing: true})
				continue
			}
			row.Cells = append(row.Cells, rankCell{Text: m.Format(v), Class: rk.standing(m, v)})
		}
	}
	rk.Chooser = rk.choose()
	rk.Twins = rk.twins()
	for _, m := range []metric{mTime, mInstr} {
		if rk.has(m.ID) && len(rk.Scenarios) > 1 {
			rk.Heat = rk.heat(m)
			break
		}
	}
	return rk, nil
}

func hasGuest(m map[string]map[string]float64, g string) bool {
	for _, gs := range m {
		if _, ok := gs[g]; ok {
			return true
		}
	}
	return false
}

func sortedVariants(m map[string]map[string]float64) []string {
	var out []string
	for v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func (rk *Ranking) has(id string) bool {
	return slices.ContainsFunc(rk.Metrics, func(m metric) bool { return m.ID == id })
}

// oom averages oom-live/limit over the benchmarks where every guest ran out,
// so the guests are compared on the same workloads; if there are none, over
// each guest's own.
func (rk *Ranking) oom(sv scenarioValues, guests []string, rows map[string]*rankRow) {
	if sv == nil {
		return
	}
	rk.Metrics = append(rk.Metrics, mOOM)
	type bench struct{ sc, v string }
	var common, all []bench
	for _, sc := range rk.Scenarios {
		for _, v := range sortedVariants(sv[sc]) {
			all = append(all, bench{sc, v})
			every := true
			for _, g := range guests {
				if _, ok := sv[sc][v][g]; !ok {
					every = false
				}
			}
			if every {
				common = append(common, bench{sc, v})
			}
		}
	}
	set := common
	if len(common) > 0 {
		var names []string
		for _, b := range common {
			n := b.sc
			if b.v != "" {
				n += " " + variantLabel(b.v)
			}
			names = append(names, n)
		}
		rk.OOMNote = fmt.Sprintf("over the %d benchmarks where every guest ran out of memory (%s)", len(common), strings.Join(names, "; "))
	} else {
		set = all
		rk.OOMNote = "over the benchmarks where the guest ran out of memory (no benchmark made every guest run out), so the guests are not compared on the same workloads"
	}
	for _, g := range guests {
		var sum float64
		n := 0
		for _, b := range set {
			if x, ok := sv[b.sc][b.v][g]; ok {
				sum += x
				n++
			}
		}
		if n > 0 {
			rows[g].Values[mOOM.ID] = sum / float64(n)
			rows[g].Cover[mOOM.ID] = n
		}
	}
}

// size takes each guest's binary size from its guest line, or its wasm-bytes.
func (rk *Ranking) size(r *Run, sv scenarioValues, guests []string, rows map[string]*rankRow) {
	found := false
	for _, g := range guests {
		if gi := r.Guest(g); gi != nil && gi.Bytes > 0 {
			rows[g].Values[mSize.ID] = float64(gi.Bytes)
			found = true
			continue
		}
		for _, sc := range rk.Scenarios {
			for _, gs := range sv[sc] {
				if x, ok := gs[g]; ok {
					rows[g].Values[mSize.ID] = x
					found = true
				}
			}
		}
	}
	if found {
		rk.Metrics = append(rk.Metrics, mSize)
	}
}

// order returns the guests with a value of m, best first.
func (rk *Ranking) order(m metric) []*rankRow {
	var out []*rankRow
	for _, row := range rk.Rows {
		if _, ok := row.Values[m.ID]; ok {
			out = append(out, row)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Values[m.ID], out[j].Values[m.ID]
		if m.Lower {
			return a < b
		}
		return a > b
	})
	return out
}

// standing classes a value as among the best third of the guests ("good"), the
// worst third ("poor") or neither.
func (rk *Ranking) standing(m metric, v float64) string {
	o := rk.order(m)
	n := len(o)
	if n < 3 {
		return ""
	}
	pos := 0
	for _, row := range o {
		x := row.Values[m.ID]
		if (m.Lower && x < v) || (!m.Lower && x > v) {
			pos++
		}
	}
	switch {
	case pos < n/3:
		return "good"
	case pos >= n-n/3:
		return "poor"
	}
	return ""
}

// choice is one need of the chooser and the guests that lead it.
type choice struct {
	Need, How string
	Leaders   []leader
}

type leader struct {
	Guest, Value string
	Partial      string   // "3 of 4 scenarios" when the guest lacks some
	Costs        []string // the trade-offs: measures where the guest is among the worst third
}

// needs are the chooser's questions, each answered by one metric.
var needs = []struct {
	need, how string
	m         metric
}{
	{"Smallest binary", "wasm size", mSize},
	{"Least memory", "heap/live, peak heap bytes over peak live bytes", mHeap},
	{"Fastest", "time per op relative to the base", mTime},
	{"Longest before out-of-memory", "how much of the limit was live when the first alloc failed", mOOM},
	{"Most predictable worst case", "max-instrs, the most instructions one op took, relative to the base", mWorst},
}

// choose answers each need the run has the numbers for with its three leading
// guests and what each costs on the other measures.
func (rk *Ranking) choose() []*choice {
	var out []*choice
	for _, n := range needs {
		if !rk.has(n.m.ID) {
			continue
		}
		c := &choice{Need: n.need, How: strings.ReplaceAll(n.how, "the base", rk.Base)}
		lead := rk.order(n.m)
		for _, row := range lead[:min(3, len(lead))] {
			l := leader{Guest: row.Guest, Value: n.m.Format(row.Values[n.m.ID]), Partial: row.Partial}
			for _, other := range rk.Metrics {
				if other.ID == n.m.ID || other.ID == mInstr.ID && rk.has(mTime.ID) {
					continue
				}
				v, ok := row.Values[other.ID]
				if ok && rk.standing(other, v) == "poor" {
					l.Costs = append(l.Costs, other.Head+" "+other.Format(v))
				}
			}
			c.Leaders = append(c.Leaders, l)
		}
		out = append(out, c)
	}
	return out
}

// twinRow is a TinyGo twin against its WAT original, across the scenarios.
type twinRow struct {
	Original, Twin   string
	Time, Instr      string // geometric mean of twin over original
	SizeOrig, SizeTw string
}

func (rk *Ranking) twins() []*twinRow {
	var out []*twinRow
	byGuest := map[string]*rankRow{}
	for _, row := range rk.Rows {
		byGuest[row.Guest] = row
	}
	for _, row := range rk.Rows {
		orig, ok := strings.CutSuffix(row.Guest, tinygoSuffix)
		o := byGuest[orig]
		if !ok || o == nil {
			continue
		}
		tr := &twinRow{Original: orig, Twin: row.Guest}
		// Both values are over the same base, so their quotient is twin over original.
		if a, ok := row.Values[mTime.ID]; ok && o.Values[mTime.ID] > 0 {
			tr.Time = ratioText(a / o.Values[mTime.ID])
		}
		if a, ok := row.Values[mInstr.ID]; ok && o.Values[mInstr.ID] > 0 {
			tr.Instr = ratioText(a / o.Values[mInstr.ID])
		}
		if s, ok := o.Values[mSize.ID]; ok {
			tr.SizeOrig = byteSize(uint64(s))
		}
		if s, ok := row.Values[mSize.ID]; ok {
			tr.SizeTw = byteSize(uint64(s))
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Original < out[j].Original })
	return out
}

func (rk *Ranking) heat(m metric) *heatTable {
	h := &heatTable{Metric: m}
	for _, sc := range rk.Scenarios {
		h.Scenarios = append(h.Scenarios, navLink{Name: sc, Href: scenarioHref(sc)})
	}
	for _, row := range rk.Rows {
		hr := heatRow{Guest: row.Guest, IsBase: row.IsBase}
		for _, sc := range rk.Scenarios {
			r, ok := row.PerScenario[m.ID][sc]
			if !ok {
				hr.Cells = append(hr.Cells, rankCell{Missing: true, Title: sc + ": no result"})
				continue
			}
			hr.Cells = append(hr.Cells, rankCell{Text: ratioText(r), Class: heatClass(r), Title: sc + ": " + row.Guest + " " + ratioText(r) + " " + rk.Base + "'s"})
		}
		h.Rows = append(h.Rows, hr)
	}
	return h
}
