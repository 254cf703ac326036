package report

import (
	"encoding/json"
	"fmt"
	"image/color"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/results"
)

// The models of the pages the templates in assets/ draw.

type navInfo struct {
	Title     string
	Scenarios []navLink
}

type navLink struct{ Name, Href string }

type runSummary struct {
	Name, Href, DataHref, HeapHref string
	Date, DateISO                  string
	Platform, CPU, Go, Wazero      string
	Engine                         string
	Toolchains                     []string
	Guests                         []GuestInfo
	Benchmarks                     int // distinct benchmarks
	Results                        int // benchmark lines
	Latest, Base                   bool
}

type indexPage struct {
	Nav       *navInfo
	Current   string        // the scenario the page is about, for the navigation
	Runs      []*runSummary // newest first
	Scenarios []scenarioCard
	Comparing *comparing
	Ranking   *Ranking // nil when the run has no allocator
}

type comparing struct {
	Base, Latest *runSummary
	Href         string // the compare page
}

type scenarioCard struct {
	Href, Name, Summary string
	InLatest            bool
}

type runPage struct {
	Nav       *navInfo
	Current   string
	Run       *runSummary
	Config    []KV
	Guests    []GuestInfo
	Scenarios []scenarioCount
	Warnings  []string
}

type scenarioCount struct {
	navLink
	Results int
}

type scenarioPage struct {
	Nav          *navInfo
	Current      string
	Name         string
	Desc         string // from the run's results file; "" for runs that lack it
	Run, Base    *runSummary
	NotLatest    bool // the page shows an older run: the latest lacks the scenario
	OtherMachine bool // base and run differ in CPU or platform
	Charts       []figure
	HeapMaps     []heapSection
	Guests       *htmlTable
	Compare      *htmlTable
	NoCompare    string // why there is no comparison, when a base run exists
}

type figure struct {
	Src, Alt, Caption string
	Legend            []legendItem
}

// legendItem is one entry of a chart's key, drawn in HTML above the chart.
type legendItem struct {
	Label, Color string
	Kind         string // bar, line, dash, circle or triangle
}

func hexColor(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

type heapSection struct {
	Variant string
	Guests  []heapGuest
	NoOOM   bool // no guest ran out of memory: the peak maps alone, side by side
}

type heapGuest struct {
	Guest     string
	Peak, OOM *figure
	PeakSame  string // the variant whose peak map is the same, shown instead
	NoOOM     string
}

// htmlTable is a statistics table: a row-label column, then Head's columns, in
// groups of rows (one per unit).
type htmlTable struct {
	Head   []string
	Delta  bool // the last column is a comparison
	Groups []*rowGroup
	Notes  []string // footnotes, numbered from 1
	notes  map[string]int
}

type rowGroup struct {
	Unit, Desc string
	ID         string // the group's element id, if it has one
	Summary    string // the comparison's summary of the group
	Geomean    string // the change of the geometric mean, if any
	Open       bool
	Rows       []*htmlRow
	// A comparison's counts: rows compared, changed significantly, and of
	// those better and worse.
	Compared, Changed, Better, Worse int
	Exact                            bool
}

type htmlRow struct {
	Label string
	Cells []*htmlCell
	Class string
}

type htmlCell struct {
	Value, Range string
	Delta, Test  string
	Class        string // "better", "worse" or ""
	Notes        []int
	Missing      bool
}

// Span is the number of columns of the table.
func (t *htmlTable) Span() int {
	n := 1 + len(t.Head)
	if t.Delta {
		n++
	}
	return n
}

func (t *htmlTable) note(msgs []string) []int {
	var out []int
	for _, m := range msgs {
		i, ok := t.notes[m]
		if !ok {
			t.Notes = append(t.Notes, m)
			i = len(t.Notes)
			t.notes[m] = i
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// scenarioInfo is a scenario the runs hold.
type scenarioInfo struct{ Name string }

func (s *scenarioInfo) count(r *Run) int {
	n := 0
	for _, res := range r.Results {
		if ParseName(res.Name.String()).Scenario == s.Name {
			n++
		}
	}
	return n
}

// scenarios returns the scenarios of all runs in the order they first appear,
// the widest run's first (the lab runs them in its registry's order), then the
// others' newest first.
func (g *generator) scenarios() []*scenarioInfo {
	runs := slices.Clone(g.runs)
	slices.Reverse(runs)
	width := func(r *Run) int {
		n := map[string]bool{}
		for _, res := range r.Results {
			n[ParseName(res.Name.String()).Scenario] = true
		}
		return len(n)
	}
	slices.SortStableFunc(runs, func(a, b *Run) int { return width(b) - width(a) })
	present := map[string]bool{}
	var out []*scenarioInfo
	for _, r := range runs {
		for _, res := range r.Results {
			s := ParseName(res.Name.String()).Scenario
			if s != "" && !present[s] {
				present[s] = true
				out = append(out, &scenarioInfo{Name: s})
			}
		}
	}
	return out
}

// shownRun returns the latest run that has scenario s: the one its page shows.
func (g *generator) shownRun(s *scenarioInfo) *Run {
	var run *Run
	for _, r := range g.runs {
		if s.count(r) > 0 {
			run = r
		}
	}
	return run
}

func summarise(r *Run) *runSummary {
	s := &runSummary{
		Name:     r.Name,
		Href:     "run-" + fileSafe(r.Name) + ".html",
		DataHref: "data/" + fileSafe(r.Name) + ".txt",
		CPU:      r.Get("cpu"),
		Go:       r.Get("go"),
		Wazero:   r.Get("wazero"),
		Engine:   r.Get("engine"),
		Guests:   r.Guests,
		Results:  len(r.Results),
	}
	if r.HeapPath != "" {
		s.HeapHref = "data/" + fileSafe(r.Name) + ".heap.json"
	}
	if !r.Date.IsZero() {
		s.Date = r.Date.UTC().Format("2006-01-02 15:04 UTC")
		s.DateISO = r.Date.UTC().Format("2006-01-02T15:04:05Z")
	}
	if os, arch := r.Get("goos"), r.Get("goarch"); os != "" || arch != "" {
		s.Platform = os + "/" + arch
	}
	seen := map[string]bool{}
	for _, g := range r.Guests {
		if g.Toolchain != "" && !seen[g.Toolchain] {
			seen[g.Toolchain] = true
			s.Toolchains = append(s.Toolchains, g.Toolchain)
		}
	}
	names := map[string]bool{}
	for _, res := range r.Results {
		names[res.Name.String()] = true
	}
	s.Benchmarks = len(names)
	return s
}

func scenarioResults(r *Run, name string) []*benchfmt.Result {
	var out []*benchfmt.Result
	for _, res := range r.Results {
		if ParseName(res.Name.String()).Scenario == name {
			out = append(out, res)
		}
	}
	return out
}

// cellIndex finds a guest table's cells by unit and benchmark.
type cellIndex map[string]map[Bench]*StatCell

func indexCells(tables []*StatTable) cellIndex {
	idx := cellIndex{}
	for _, t := range tables {
		m := map[Bench]*StatCell{}
		for _, row := range t.Rows {
			b := ParseName(row.StringValues())
			for _, col := range t.Cols {
				if c := t.Cell(row, col); c != nil {
					b.Guest = col.StringValues()
					m[b] = c
				}
			}
		}
		idx[t.Unit] = m
	}
	return idx
}

// get returns the cell of unit for the benchmark; an empty mode takes the first
// of modes that has one (exact units are the same in every mode).
func (idx cellIndex) get(unit string, b Bench, modes []string) *StatCell {
	m := idx[unit]
	if m == nil {
		return nil
	}
	if b.Mode != "" {
		return m[b]
	}
	for _, mode := range modes {
		b.Mode = mode
		if c := m[b]; c != nil {
			return c
		}
	}
	return nil
}

func (g *generator) scenarioPage(nav *navInfo, s *scenarioInfo) (*scenarioPage, error) {
	run := g.shownRun(s)
	p := &scenarioPage{Nav: nav, Current: s.Name, Name: s.Name, Desc: run.Scenarios[s.Name],
		Run: summarise(run), NotLatest: run != g.latest}
	results := scenarioResults(run, s.Name)
	tables, err := BuildTables(results, run.Units, ".fullname", "/guest")
	if err != nil {
		return nil, err
	}
	var guests, variants, modes []string
	for _, res := range results {
		b := ParseName(res.Name.String())
		for _, x := range []struct {
			list *[]string
			v    string
		}{{&guests, b.Guest}, {&variants, b.Variant}, {&modes, b.Mode}} {
			if !slices.Contains(*x.list, x.v) {
				*x.list = append(*x.list, x.v)
			}
		}
	}
	if i := slices.Index(modes, "replay"); i > 0 { // exact values from replay first
		modes = append(append([]string{"replay"}, modes[:i]...), modes[i+1:]...)
	}
	p.Guests = guestTable(tables, guests, variants, modes)
	idx := indexCells(tables)
	dir := "img/" + fileSafe(s.Name) + "/"
	if err := g.charts(p, dir, &chartData{run: run, scenario: s.Name, idx: idx, guests: guests, variants: variants, modes: modes}); err != nil {
		return nil, fmt.Errorf("report: %s: %w", s.Name, err)
	}
	if err := g.heapMaps(p, dir, run, guests, variants, modes); err != nil {
		return nil, fmt.Errorf("report: %s: %w", s.Name, err)
	}

	if g.base != nil && run == g.latest {
		p.Base = summarise(g.base)
		baseResults := scenarioResults(g.base, s.Name)
		if len(baseResults) == 0 {
			p.NoCompare = "The base run " + g.base.Name + " has no results for this scenario."
		} else {
			ct, err := BuildTables(append(baseResults, results...), mergeUnits(g.base.Units, run.Units), ".fullname", ".file")
			if err != nil {
				return nil, err
			}
			p.Compare = compareTable(ct, g.base.Name, run.Name, mergeUnits(g.base.Units, run.Units))
			p.OtherMachine = g.base.Get("cpu") != run.Get("cpu") || p.Base.Platform != p.Run.Platform
		}
	}
	return p, nil
}

// variantLabel shortens a variant's name parts for labels: "memory=grow/policy=default"
// becomes "memory=grow policy=default".
func variantLabel(v string) string { return strings.ReplaceAll(v, "/", " ") }

// groupLabel names a chart's row: the guest, and the values of the variant's
// parts when the scenario has several ("bump · prealloc, mmap").
func groupLabel(guest, variant string, variants []string) string {
	if len(variants) <= 1 {
		return guest
	}
	var vals []string
	for _, part := range strings.Split(variant, "/") {
		_, v, _ := strings.Cut(part, "=")
		vals = append(vals, v)
	}
	return guest + " · " + strings.Join(vals, ", ")
}

// rowsNote says what the rows of a chart are, for a scenario with variants.
func rowsNote(variants []string) string {
	if len(variants) <= 1 {
		return ""
	}
	var keys []string
	for _, part := range strings.Split(variants[0], "/") {
		k, _, _ := strings.Cut(part, "=")
		keys = append(keys, k)
	}
	return " Rows: guest · " + strings.Join(keys, ", ") + "."
}

// heapRecord returns the sidecar record of a benchmark, from the first of modes
// that has one.
func heapRecord(run *Run, scenario, variant, guest string, modes []string) *HeapRecord {
	for _, mode := range modes {
		name := results.Name{Scenario: scenario, Variant: variant, Guest: guest, Mode: mode}.String()
		if rec := run.Heap[name]; rec != nil {
			return rec
		}
	}
	return nil
}

func (g *generator) heapMaps(p *scenarioPage, dir string, run *Run, guests, variants, modes []string) error {
	if run.Heap == nil {
		return nil
	}
	peaks := map[string]string{} // a peak map's JSON: the variant it was first drawn for
	for _, v := range variants {
		sec := heapSection{Variant: variantLabel(v)}
		for _, gu := range guests {
			rec := heapRecord(run, p.Name, v, gu, modes)
			if rec == nil || (rec.Peak == nil && rec.OOM == nil) {
				continue
			}
			hg := heapGuest{Guest: gu}
			base := dir + "heap-" + fileSafe(gu)
			if v != "" {
				base += "-" + fileSafe(v)
			}
			key, _ := json.Marshal(rec.Peak)
			if same, ok := peaks[gu+string(key)]; ok && rec.Peak != nil {
				hg.PeakSame = "At peak: as for " + same + "."
			} else if m := rec.Peak; m != nil && len(m.Live) > 0 {
				peaks[gu+string(key)] = variantLabel(v)
				caption := fmt.Sprintf("At peak, op %d: %s live in a %s heap; memory %s, %s a cell.",
					m.Op, byteSize(m.LiveBytes), byteSize(m.HeapBytes), byteSize(m.MemoryBytes), byteSize(uint64(m.CellBytes)))
				src := base + "-peak.svg"
				if err := g.write(src, HeapMapSVG(m, gu+": heap map at peak")); err != nil {
					return err
				}
				hg.Peak = &figure{Src: src, Alt: gu + "'s linear memory at peak, cell by cell", Caption: caption}
			}
			if m := rec.OOM; m != nil && len(m.Live) > 0 {
				caption := fmt.Sprintf("Out of memory at op %d: %s live in a %s heap; memory %s (%.0f%% live), %s a cell.",
					m.Op, byteSize(m.LiveBytes), byteSize(m.HeapBytes), byteSize(m.MemoryBytes),
					100*float64(m.LiveBytes)/float64(max(m.MemoryBytes, 1)), byteSize(uint64(m.CellBytes)))
				if rec.OOMPoint != nil && rec.OOMPoint.Trap != "" {
					caption += " The guest trapped: " + rec.OOMPoint.Trap + "."
				}
				src := base + "-oom.svg"
				if err := g.write(src, HeapMapSVG(m, gu+": heap map at the out-of-memory point")); err != nil {
					return err
				}
				hg.OOM = &figure{Src: src, Alt: gu + "'s linear memory when it ran out, cell by cell", Caption: caption}
			} else {
				hg.NoOOM = "Never ran out of memory under the limit."
			}
			sec.Guests = append(sec.Guests, hg)
		}
		if len(sec.Guests) > 0 {
			sec.NoOOM = true
			for _, hg := range sec.Guests {
				if hg.OOM != nil {
					sec.NoOOM = false
				}
			}
			p.HeapMaps = append(p.HeapMaps, sec)
		}
	}
	return nil
}
