package report

import (
	"encoding/json"
	"fmt"
	"golang.org/x/perf/benchfmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/results"
)

// testRuns are the committed runs: a small base run and a later one with more
// scenarios, made with
//
//	go run ./cmd/alloclab run -short -count 3 -mode replay,host -guest 'bump|freelist|pool|floor' \
//		-scenario 'churn|fragmentation-swiss' -o report/testdata/runs/BASE.txt
//	go run ./cmd/alloclab run -short -count 3 -mode replay,host -guest 'bump|freelist|pool|floor' \
//		-scenario 'churn|fragmentation-swiss|oom-sweep|prealloc-vs-grow' -o report/testdata/runs/NEW.txt
func testRuns(t testing.TB) []string {
	t.Helper()
	runs, err := filepath.Glob("testdata/runs/*.txt")
	if err != nil || len(runs) < 2 {
		t.Fatalf("want two runs in testdata/runs, got %v (%v)", runs, err)
	}
	sort.Strings(runs)
	return runs
}

// siteDir returns where a test writes its site: $ALLOCLAB_REPORT_OUT/name if set,
// to look at it afterwards, or a temporary folder.
func siteDir(t testing.TB, name string) string {
	if d := os.Getenv("ALLOCLAB_REPORT_OUT"); d != "" {
		dir := filepath.Join(d, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

func TestLoadRun(t *testing.T) {
	runs := testRuns(t)
	r, err := LoadRun(runs[len(runs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if r.Date.IsZero() {
		t.Errorf("no date from the file name %s", r.Name)
	}
	for _, k := range []string{"goos", "goarch", "go", "wazero", "engine"} {
		if r.Get(k) == "" {
			t.Errorf("no %s in the file configuration", k)
		}
	}
	if len(r.Guests) != 4 {
		t.Fatalf("guests: got %d, want 4 (bump, freelist, pool, floor)", len(r.Guests))
	}
	for _, g := range r.Guests {
		if g.Bytes == 0 || len(g.SHA256) != 64 || g.Toolchain == "" {
			t.Errorf("guest line %q did not parse: %+v", g.Raw, g)
		}
	}
	if r.Heap == nil {
		t.Fatal("no heap sidecar")
	}
	rec := r.Heap["Alloc/scenario=fragmentation-swiss/guest=bump/mode=replay"]
	if rec == nil || rec.Peak == nil || len(rec.Samples) == 0 {
		t.Fatalf("sidecar record of fragmentation-swiss/bump: %+v", rec)
	}
	// Units are tidied: ns/op is sec/op.
	var units []string
	for _, v := range r.Results[0].Values {
		units = append(units, v.Unit)
	}
	if !slices.Contains(units, "sec/op") || !slices.Contains(units, "p99-sec") {
		t.Errorf("units %v: want sec/op and p99-sec", units)
	}
	if a := r.Units.GetAssumption("pages-grown"); a.SummaryLabel() != "exact" {
		t.Errorf("pages-grown is not exact: %s", a.SummaryLabel())
	}
}

// TestSidecarFormat checks the report reads what the harness writes: every JSON
// key of harness.Sample, HeapMap and OOMPoint is a key of the report's types.
func TestSidecarFormat(t *testing.T) {
	keys := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for _, c := range []struct{ harness, report any }{
		{harness.Sample{Op: 1, LiveBytes: 1, HeapBytes: 1, Pages: 1}, Sample{Op: 1, LiveBytes: 1, HeapBytes: 1, Pages: 1}},
		{harness.HeapMap{Op: 1, MemoryBytes: 1, HeapBytes: 1, LiveBytes: 1, CellBytes: 1, Live: []uint32{1}},
			HeapMap{Op: 1, MemoryBytes: 1, HeapBytes: 1, LiveBytes: 1, CellBytes: 1, Live: []uint32{1}}},
		{harness.OOMPoint{Op: 1, LiveBytes: 1, Trap: "x"}, OOMPoint{Op: 1, LiveBytes: 1, Trap: "x"}},
	} {
		h, r := keys(c.harness), keys(c.report)
		for _, k := range h {
			if !slices.Contains(r, k) {
				t.Errorf("%T has JSON key %q that the report's %T lacks", c.harness, k, c.report)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	m := &HeapMap{MemoryBytes: 640, HeapBytes: 400, CellBytes: 100, Live: []uint32{100, 95, 60, 10, 0, 0, 0}}
	// The last cell holds 40 bytes of memory.
	want := []CellClass{Live, Live, MostlyLive, SomeLive, NeverUsed, NeverUsed, NeverUsed}
	if got := Classify(m); !slices.Equal(got, want) {
		t.Errorf("Classify = %v, want %v", got, want)
	}
	m.HeapBytes = 550 // cells 4 and 5 start below the heap's end: holes
	want[4], want[5] = Free, Free
	if got := Classify(m); !slices.Equal(got, want) {
		t.Errorf("Classify = %v, want %v", got, want)
	}
	svg := string(HeapMapSVG(m, "test <map>"))
	if !strings.Contains(svg, "<title>test &lt;map&gt;</title>") || !strings.Contains(svg, cellStyle[Free].Fill) {
		t.Errorf("SVG lacks its title or free cells:\n%s", svg)
	}
}

// TestSwissCheese checks the heap map of fragmentation-swiss shows holes: bump
// leaves a free hole beside every anchor.
func TestSwissCheese(t *testing.T) {
	runs := testRuns(t)
	r, err := LoadRun(runs[len(runs)-1])
	if err != nil {
		t.Fatal(err)
	}
	m := r.Heap["Alloc/scenario=fragmentation-swiss/guest=bump/mode=replay"].Peak
	s := MapStats(m)
	if s.FreeCells < s.Cells/2 {
		t.Errorf("bump's swiss cheese: %d free cells of %d, want most", s.FreeCells, s.Cells)
	}
}

func TestBuildTables(t *testing.T) {
	runs := testRuns(t)
	old, err := LoadRun(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	r, err := LoadRun(runs[len(runs)-1])
	if err != nil {
		t.Fatal(err)
	}
	tables, err := BuildTables(scenarioResults(r, "churn"), r.Units, ".fullname", "/guest")
	if err != nil {
		t.Fatal(err)
	}
	byUnit := map[string]*StatTable{}
	for _, tb := range tables {
		byUnit[tb.Unit] = tb
	}
	sec := byUnit["sec/op"]
	if sec == nil || sec.Exact() {
		t.Fatalf("no sec/op table, or it is exact: %v", sec)
	}
	var cols []string
	for _, c := range sec.Cols {
		cols = append(cols, c.StringValues())
	}
	if want := []string{"bump", "freelist", "pool", "floor"}; !slices.Equal(cols, want) {
		t.Errorf("columns %v, want %v", cols, want)
	}
	c := sec.Find("Alloc/mode=replay", "pool")
	if c == nil || len(c.Sample.Values) != 3 || c.Summary.Center <= 0 || c.Summary.Center > 1e-6 {
		t.Fatalf("sec/op of pool in replay: %+v", c)
	}
	pages := byUnit["pages-grown"]
	if pages == nil || !pages.Exact() {
		t.Fatal("pages-grown is missing or not exact")
	}
	if c := pages.Find("Alloc/mode=replay", "bump"); c == nil || c.Summary.Lo != c.Summary.Hi {
		t.Errorf("exact pages-grown of bump has a range: %+v", c)
	}

	// Two runs: a column per file, compared with the first.
	both := append(scenarioResults(old, "churn"), scenarioResults(r, "churn")...)
	ct, err := BuildTables(both, mergeUnits(old.Units, r.Units), ".fullname", ".file")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range ct {
		if tb.Unit != "sec/op" {
			continue
		}
		if len(tb.Cols) != 2 || tb.Cols[0].StringValues() != old.Name {
			t.Fatalf("comparison columns %v, want %s first", tb.Cols, old.Name)
		}
		c := tb.Find("Alloc/guest=pool/mode=replay", r.Name)
		if c == nil || c.Base == nil || c.Comparison.N1 != 3 || c.Comparison.N2 != 3 {
			t.Fatalf("pool's comparison: %+v", c)
		}
		if delta, test := c.Delta(); delta == "" || !strings.HasPrefix(test, "p=") {
			t.Errorf("Delta() = %q, %q", delta, test)
		}
		if _, ok, _, rok := tb.GeoMean(tb.Cols[1]); !ok || !rok {
			t.Error("no geomean")
		}
	}
}

// TestGenerate generates the site of the test runs and checks every page's links
// and pictures resolve to files of the site, and that nothing points off it.
func TestGenerate(t *testing.T) {
	dir := siteDir(t, "site")
	site, err := Generate(Options{Out: dir, Runs: testRuns(t)})
	if err != nil {
		t.Fatal(err)
	}
	if site.Pages[0] != "index.html" {
		t.Errorf("first page %s, want index.html", site.Pages[0])
	}
	for _, want := range []string{"scenario-churn.html", "scenario-fragmentation-swiss.html", "scenario-oom-sweep.html",
		"scenario-prealloc-vs-grow.html", "style.css", "img/fragmentation-swiss/heap-bump-peak.svg",
		"img/oom-sweep/heap-pool-limit_16MiB-oom.svg", "img/churn/time.svg", "img/churn/utilisation.svg",
		"img/oom-sweep/oom.svg", "img/churn/size-speed.svg"} {
		if !slices.Contains(site.Files, want) {
			t.Errorf("no %s in the site", want)
		}
	}
	for _, page := range site.Pages {
		checkLinks(t, dir, page)
	}
	// The comparison is on the pages of scenarios both runs have.
	churn, _ := os.ReadFile(filepath.Join(dir, "scenario-churn.html"))
	if !strings.Contains(string(churn), `id="change"`) || !strings.Contains(string(churn), "geomean") {
		t.Error("scenario-churn.html has no comparison")
	}
	oom, _ := os.ReadFile(filepath.Join(dir, "scenario-oom-sweep.html"))
	if !strings.Contains(string(oom), "has no results for this scenario") {
		t.Error("scenario-oom-sweep.html does not say the base run lacks it")
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	for _, want := range []string{"AMD", "go1.", "v1.", "wat2wasm", "2c9330dd1ee5"} {
		if !strings.Contains(string(idx), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

var attrRef = regexp.MustCompile(`(?:href|src|data)="([^"]*)"`)

// checkLinks checks that every reference of page is relative and names a file
// of the site (fragments aside).
func checkLinks(t *testing.T, dir, page string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, page))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range attrRef.FindAllStringSubmatch(string(b), -1) {
		ref := m[1]
		switch {
		case ref == "data:,": // the empty favicon, so no browser asks for one
			continue
		case strings.HasPrefix(ref, "#"):
			if !strings.Contains(string(b), `id="`+ref[1:]+`"`) {
				t.Errorf("%s: fragment %s names no element", page, ref)
			}
			continue
		case strings.Contains(ref, ":") || strings.HasPrefix(ref, "/"):
			t.Errorf("%s: %s is not a relative link", page, ref)
			continue
		}
		file, _, _ := strings.Cut(ref, "#")
		if _, err := os.Stat(filepath.Join(dir, filepath.Dir(page), filepath.FromSlash(file))); err != nil {
			t.Errorf("%s: broken link %s", page, ref)
		}
	}
}

// TestCompareTable checks the comparison of two synthetic runs: a clear drop in
// time is significant and better, an unchanged exact unit is unchanged, and a
// rise in an exact unit where lower is better is worse.
func TestCompareTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ns float64, pages int) string {
		var b strings.Builder
		b.WriteString("Unit pages-grown assume=exact\nUnit wasm-bytes assume=exact\ngoos: linux\n")
		for i := range 8 {
			fmt.Fprintf(&b, "BenchmarkAlloc/scenario=churn/guest=pool/mode=replay 1000 %g ns/op %d pages-grown 1591 wasm-bytes\n", ns+float64(i)*0.1, pages)
		}
		path := filepath.Join(dir, name+".txt")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldRun, err := LoadRun(write("20250101-000000", 100, 10))
	if err != nil {
		t.Fatal(err)
	}
	newRun, err := LoadRun(write("20250102-000000", 50, 12))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := BuildTables(append(oldRun.Results, newRun.Results...), mergeUnits(oldRun.Units, newRun.Units), ".fullname", ".file")
	if err != nil {
		t.Fatal(err)
	}
	ht := compareTable(tables, oldRun.Name, newRun.Name, newRun.Units)
	got := map[string]*htmlCell{}
	for _, g := range ht.Groups {
		got[g.Unit] = g.Rows[0].Cells[2]
	}
	for unit, want := range map[string]struct{ delta, class string }{
		"sec/op":      {"-49.83%", "better"},
		"pages-grown": {"+20.00%", "worse"},
		"wasm-bytes":  {"0.00%", ""},
	} {
		c := got[unit]
		if c == nil || c.Delta != want.delta || c.Class != want.class {
			t.Errorf("%s: got %+v, want delta %s, class %q", unit, c, want.delta, want.class)
		}
	}
}

// unitHead matches a unit's heading on a page and its caption, beside it in a
// table of results or under it in the comparison's overview.
var unitHead = regexp.MustCompile(`<span class="u">([^<]*)</span>(?:</a>)?(?: <span class="desc">([^<]*)</span>|<div class="sub">([^<]*)</div>)?`)

// TestUnitCaptions generates the sites of the real and the synthetic runs and
// checks every unit of their results is shown with a caption from package
// results' unit table (units as benchfmt tidies them: sec/op, p99-sec), and no
// caption has Markdown left.
func TestUnitCaptions(t *testing.T) {
	old, new := synthPaths()
	markdown := regexp.MustCompile("`" + `|\[|\]\(|\*|(^|\W)_|_(\W|$)`)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"runs", Options{Runs: testRuns(t)}},
		{"synthetic", Options{Runs: []string{old, new}}},
		{"compare", Options{Runs: []string{old, new}, Compare: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			units := map[string]bool{} // every unit of the runs: is it shown with its caption?
			for _, path := range tc.o.Runs {
				r, err := LoadRun(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, res := range r.Results {
					for _, v := range res.Values {
						units[v.Unit] = false
					}
				}
			}
			tc.o.Out = t.TempDir()
			site, err := Generate(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, page := range site.Pages {
				b, err := os.ReadFile(filepath.Join(tc.o.Out, page))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range unitHead.FindAllStringSubmatch(string(b), -1) {
					unit, caption := html.UnescapeString(m[1]), html.UnescapeString(m[2]+m[3])
					if caption == "" {
						t.Errorf("%s: %s has no caption", page, unit)
						continue
					}
					if want := results.Caption(unit); caption != want {
						t.Errorf("%s: %s's caption %q, want results.Caption's %q", page, unit, caption, want)
					}
					if md := markdown.FindString(caption); md != "" {
						t.Errorf("%s: %s's caption %q has Markdown %q", page, unit, caption, md)
					}
					units[unit] = true
				}
			}
			for unit, shown := range units {
				if !shown {
					t.Errorf("%s is on no page", unit)
				}
			}
		})
	}
}

// TestGenerateMinimal generates the site of a run the lab's registry does not
// know: a -trace scenario, host mode only, no guest lines, no sidecar, no date.
func TestGenerateMinimal(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "mine.txt")
	text := "goos: linux\n" +
		"scenario-trace-mine: My program, recorded.\n" +
		"BenchmarkAlloc/scenario=trace-mine/guest=a.wasm/mode=host 100 51 ns/op 3 pages-grown\n" +
		"BenchmarkAlloc/scenario=trace-mine/guest=a.wasm/mode=host 100 52 ns/op 3 pages-grown\n" +
		"BenchmarkAlloc/scenario=trace-mine/guest=b/mode=host 100 40 ns/op 1 pages-grown\n"
	if err := os.WriteFile(run, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "site")
	site, err := Generate(Options{Out: out, Runs: []string{run}, Title: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range site.Pages {
		checkLinks(t, out, p)
	}
	b, err := os.ReadFile(filepath.Join(out, "scenario-trace-mine.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<p class="lead">My program, recorded.</p>`) || strings.Contains(string(b), `id="change"`) {
		t.Error("the page of a scenario the file describes, or of a single run, is wrong")
	}
	if _, err := os.Stat(filepath.Join(out, "img/trace-mine/time.svg")); err != nil {
		t.Error(err)
	}
}

func TestUseLog(t *testing.T) {
	for _, c := range []struct {
		name   string
		values []float64
		want   bool
	}{
		{"close values", []float64{10, 20, 40, 90}, false},
		{"one ten times the smallest", []float64{10, 20, 100}, true},
		{"go-runtime's 0.7 µs beside 10 ns", []float64{10e-9, 40e-9, 700e-9}, true},
		{"zeros and NaNs aside", []float64{0, math.NaN(), 5, 20}, false},
		{"nothing positive", []float64{0, 0}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := useLog(c.values); got != c.want {
				t.Errorf("useLog(%v) = %v, want %v", c.values, got, c.want)
			}
		})
	}
}

// TestChartsAsData generates the site of the synthetic runs and checks each
// spec's chart is drawn where the run has its unit, on a log axis where one
// guest is ten times another, and left out where it lacks the unit.
func TestChartsAsData(t *testing.T) {
	old, new := synthPaths()
	dir := siteDir(t, "synthetic")
	site, err := Generate(Options{Out: dir, Runs: []string{old, new}})
	if err != nil {
		t.Fatal(err)
	}
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct {
		file string
		log  bool
	}{
		{"img/churn/time.svg", true},          // go-runtime is 70 times bump
		{"img/churn/instrs.svg", true},        // and so are its instructions
		{"img/churn/size-speed.svg", true},    // 1.8 MB beside 513 B
		{"img/churn/fragmentation.svg", true}, // bump's 37 beside dlmalloc's 1.4
		{"img/churn/touched.svg", true},
		{"img/churn/twins.svg", true}, // bump's 12 instructions beside freelist-tinygo's 420
		{"img/oom-sweep/oom.svg", false},
	} {
		svg := read(c.file)
		if got := strings.Contains(svg, "(log scale)"); got != c.log {
			t.Errorf("%s: log scale %v, want %v", c.file, got, c.log)
		}
	}
	if twins := read("img/churn/twins.svg"); !strings.Contains(twins, ">freelist<") || strings.Contains(twins, ">pool<") {
		t.Error("the twins chart should have a row for freelist and none for pool, which has no twin")
	}
	// The committed real runs have no instruction counts: no such chart.
	real := siteDir(t, "real")
	if _, err := Generate(Options{Out: real, Runs: testRuns(t)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"img/churn/instrs.svg", "img/churn/twins.svg", "img/churn/touched.svg"} {
		if _, err := os.Stat(filepath.Join(real, f)); err == nil {
			t.Errorf("%s drawn for a run without its unit", f)
		}
	}
	for _, p := range site.Pages {
		checkLinks(t, dir, p)
	}
	idx := read("index.html")
	for _, want := range []string{`<h2 id="choose">Which allocator?</h2>`, `<table class="ranking">`, `<svg class="spark"`,
		`<th scope="row">bump / bump-tinygo</th>`, "Ratios are to <strong>dlmalloc</strong>",
		`<table class="heat">`, `<td class="s3" title="churn: go-runtime 17× dlmalloc&#39;s">17×</td>`} {
		if !strings.Contains(idx, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if churn := read("scenario-churn.html"); !strings.Contains(churn, "Synthetic churn: made up for tests.") {
		t.Error("scenario-churn.html lacks the description from the results file")
	}
}

func TestCompact(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{0, "sec/op", "0"},
		{1e-8, "sec/op", "10 ns"},
		{1.5e-6, "sec/op", "1.5 µs"},
		{2048, "wasm-bytes", "2 KiB"},
		{2250000, "max-instrs", "2.25M"},
		{12000, "instrs/op", "12k"},
		{1.414, "heap/live", "1.41"},
	} {
		if got := compact(c.v, c.unit); got != c.want {
			t.Errorf("compact(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

// TestBetter: a unit's direction comes from the file's Unit lines, else from
// results' unit table.
func TestBetter(t *testing.T) {
	declared := benchfmt.UnitMetadataMap{
		{Unit: "sec/op", Key: "better"}: {UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: "sec/op", Key: "better"}, Value: "higher"},
	}
	tests := []struct {
		unit  string
		units benchfmt.UnitMetadataMap
		want  int
	}{
		{"sec/op", nil, -1},
		{"sec/op", declared, 1},
		{"peak-live-bytes", nil, 0},
		{"instances/GiB", nil, 1},
		{"oom-live/limit", nil, 1},
		{"pages-grown-after-warm-up", nil, -1},
		{"no-such-unit", nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.unit, func(t *testing.T) {
			if got := better(tc.unit, tc.units); got != tc.want {
				t.Errorf("better(%q) = %d, want %d", tc.unit, got, tc.want)
			}
		})
	}
}
