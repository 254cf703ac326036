package report

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// TestRank ranks the newer synthetic run and checks the exact measures against
// what the synthetic data were made from (synthetic_test.go).
func TestRank(t *testing.T) {
	_, newPath := synthPaths()
	r, err := LoadRun(newPath)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rank(r, "test")
	if err != nil {
		t.Fatal(err)
	}
	if rk.Base != "dlmalloc" || rk.BaseNote != "" || rk.Mode != "replay" {
		t.Errorf("base %q (%q), mode %q; want dlmalloc, no note, replay", rk.Base, rk.BaseNote, rk.Mode)
	}
	if !slices.Equal(rk.Left, []string{"floor"}) {
		t.Errorf("left out %v, want floor", rk.Left)
	}
	var order []string
	row := map[string]*rankRow{}
	for _, r := range rk.Rows {
		order = append(order, r.Guest)
		row[r.Guest] = r
	}
	if want := []string{"bump", "bump-tinygo", "pool", "dlmalloc", "freelist", "freelist-tinygo", "go-runtime"}; !slices.Equal(order, want) {
		t.Errorf("ranked %v, want %v", order, want)
	}
	for _, c := range []struct {
		guest, metric string
		want          float64
	}{
		{"pool", "instrs", 0.5},    // 60 against 120 instructions in every scenario
		{"dlmalloc", "instrs", 1},  // the base
		{"dlmalloc", "heap", 1.4},  // heap/live 1.4 everywhere
		{"dlmalloc", "oom", 0.855}, // oom-sweep's two limits: 90% and 81%
		{"go-runtime", "size", 1830547},
		{"pool", "worst", 480.0 / 3600},
		{"dlmalloc", "touched", 1.54}, // heap/live 1.4, touched 1.1 times the heap
		{"bump", "touched", 0},        // writes nothing: a value, not a gap
	} {
		got, ok := row[c.guest].Values[c.metric]
		if !ok || math.Abs(got-c.want) > 1e-3*c.want {
			t.Errorf("%s %s = %v (%v), want %v", c.guest, c.metric, got, ok, c.want)
		}
	}
	if !strings.Contains(rk.OOMNote, "the 2 benchmarks where every guest ran out") {
		t.Errorf("OOM note %q", rk.OOMNote)
	}
	// The chooser: the smallest binaries, and the base leads nothing it should not.
	var small []string
	for _, c := range rk.Chooser {
		if c.Need == "Smallest binary" {
			for _, l := range c.Leaders {
				small = append(small, l.Guest)
			}
			if len(c.Leaders[0].Costs) == 0 {
				t.Error("bump's small binary costs nothing, but its heap/live is 37")
			}
		}
	}
	if want := []string{"bump", "pool", "freelist"}; !slices.Equal(small, want) {
		t.Errorf("smallest binary: %v, want %v", small, want)
	}
	if len(rk.Chooser) != 5 {
		t.Errorf("%d needs answered, want 5", len(rk.Chooser))
	}
	if len(rk.Twins) != 2 || rk.Twins[0].Original != "bump" || rk.Twins[0].Instr != "1.48×" {
		t.Errorf("twins %+v", rk.Twins)
	}
}

// TestRankWithoutBase ranks a run without dlmalloc and without the newer
// units: ratios are to the first guest, the page says so, and the missing
// measures are left out.
func TestRankWithoutBase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "20250101-000000.txt")
	text := "Unit heap/live assume=exact\n" +
		"BenchmarkAlloc/scenario=churn/guest=pool/mode=replay 1 20 ns/op 1.5 heap/live\n" +
		"BenchmarkAlloc/scenario=churn/guest=bump/mode=replay 1 10 ns/op 30 heap/live\n" +
		"BenchmarkAlloc/scenario=swiss/guest=pool/mode=replay 1 20 ns/op 1.5 heap/live\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRun(path)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rank(r, "test")
	if err != nil {
		t.Fatal(err)
	}
	if rk.Base != "pool" || !strings.Contains(rk.BaseNote, "no dlmalloc") {
		t.Errorf("base %q, note %q", rk.Base, rk.BaseNote)
	}
	var ids []string
	for _, m := range rk.Metrics {
		ids = append(ids, m.ID)
	}
	if want := []string{"time", "heap"}; !slices.Equal(ids, want) {
		t.Errorf("metrics %v, want %v", ids, want)
	}
	if got := rk.Rows[0]; got.Guest != "bump" || got.Values["time"] != 0.5 || got.Partial != "1 of 2 scenarios" {
		t.Errorf("first row %+v, want bump at 0.5 over 1 of 2 scenarios", got)
	}
}

func TestRankTarget(t *testing.T) {
	wide := &Run{Name: "wide"}
	narrow := &Run{Name: "narrow"}
	for _, sc := range []string{"a", "b", "c", "d"} {
		wide.Results = append(wide.Results, synthResult(t, "Alloc/scenario="+sc+"/guest=x/mode=replay"))
	}
	narrow.Results = append(narrow.Results, synthResult(t, "Alloc/scenario=a/guest=x/mode=replay"))
	if r, why, _ := rankTarget([]*Run{wide, narrow}, ""); r != wide || !strings.Contains(why, "at least half") {
		t.Errorf("picked %s (%s), want the wide run", r.Name, why)
	}
	if r, _, _ := rankTarget([]*Run{wide, narrow}, "narrow"); r != narrow {
		t.Errorf("-rank narrow picked %s", r.Name)
	}
	if _, _, err := rankTarget([]*Run{wide}, "nope"); err == nil {
		t.Error("-rank nope: no error")
	}
}

func synthResult(t *testing.T, name string) *benchfmt.Result {
	t.Helper()
	r := &benchfmt.Result{Name: benchfmt.Name(name), Iters: 1}
	r.Values = []benchfmt.Value{{Value: 1, Unit: "sec/op"}}
	return r
}

// TestComparePage compares the synthetic runs: exact units come first, the
// 10% more instructions of freelist are a change for the worse without a test,
// pool's 20% less time is significant and better, and exact rows appear once
// for both modes.
func TestComparePage(t *testing.T) {
	old, new := synthPaths()
	dir := t.TempDir()
	// Given new first: -compare keeps the order it is given.
	site, err := Generate(Options{Out: dir, Runs: []string{old, new}, Compare: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Smallest binary (run synthetic-new, by wasm size): bump 513 B, pool 1.55 KiB, freelist 1.91 KiB"; len(site.Answers) == 0 || site.Answers[0] != want {
		t.Errorf("answers %q, want first %q", site.Answers, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, compareHref))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	exact, timed := strings.Index(page, `<h2 id="exact">`), strings.Index(page, `<h2 id="timed">`)
	if exact < 0 || timed < exact {
		t.Fatalf("exact units at %d, timed at %d: want exact first", exact, timed)
	}
	for _, want := range []string{
		`<th scope="row" class="label">churn · freelist</th><td><span class="v">300</span> <span class="ci">± 0%</span></td><td><span class="v">330</span> <span class="ci">± 0%</span></td><td class="delta worse">&#43;10.00%`,
		`<th scope="row" class="label">churn · pool · replay</th>`,
		`4 of 28 changed: 0 better, 4 worse`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("compare.html lacks %s", want)
		}
	}
	if strings.Contains(page[exact:timed], "churn · freelist · host") {
		t.Error("an exact row is shown per mode")
	}
	i := strings.Index(page, `<th scope="row" class="label">churn · pool · replay</th>`)
	if row := page[i : i+strings.Index(page[i:], "</tr>")]; !strings.Contains(row, `class="delta better">-2`) || !strings.Contains(row, "p=0.002 n=6") {
		t.Errorf("pool's time in churn: %s", row)
	}
	// Two real runs with different scenarios: only the benchmarks both have.
	runs := testRuns(t)
	if _, err := Generate(Options{Out: dir, Runs: []string{runs[0], runs[1]}, Compare: true}); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(filepath.Join(dir, compareHref))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) benchmarks in both runs\. Left out, so that each geometric mean compares the same benchmarks: 0 only in 20261121-201300, (\d+) only in 20261121-201306\.`).FindStringSubmatch(string(b))
	if m == nil || m[1] != "16" || m[2] == "0" {
		t.Errorf("the overview does not say which benchmarks are left out: %v", m)
	}
	if _, err := Generate(Options{Out: dir, Runs: []string{old}, Compare: true}); err == nil {
		t.Error("comparing one run: no error")
	}
}

func TestMeans(t *testing.T) {
	for _, tc := range []struct {
		xs          []float64
		med, geo    float64
		medOK, geOK bool
	}{
		{nil, 0, 0, false, false},
		{[]float64{0, 0, 0, 5, 900}, 0, 0, true, false}, // bump's touched/live: zeros and one copy-heavy scenario
		{[]float64{1, 4}, 2.5, 2, true, true},
		{[]float64{2, 8, 4}, 4, 4, true, true},
	} {
		med, ok1 := median(tc.xs)
		geo, ok2 := geoMean(tc.xs)
		if ok1 != tc.medOK || med != tc.med || ok2 != tc.geOK || math.Abs(geo-tc.geo) > 1e-12 {
			t.Errorf("%v: median %v %v, geoMean %v %v; want %v %v, %v %v", tc.xs, med, ok1, geo, ok2, tc.med, tc.medOK, tc.geo, tc.geOK)
		}
	}
}

func TestDefaultBase(t *testing.T) {
	run := func(name string, scenarios ...string) *Run {
		r := &Run{Name: name}
		for _, sc := range scenarios {
			r.Results = append(r.Results, &benchfmt.Result{Name: benchfmt.Name("Alloc/scenario=" + sc + "/guest=bump/mode=replay")})
		}
		return r
	}
	full := run("full", "churn", "oom-sweep", "trace-cc1")
	one := run("one", "prealloc-vs-grow")
	later := run("later", "churn", "oom-sweep", "trace-cc1")
	latest := run("latest", "churn", "oom-sweep", "trace-cc1", "prealloc-vs-grow")
	for _, tc := range []struct {
		name string
		runs []*Run
		want *Run
	}{
		{"alone", []*Run{latest}, nil},
		{"after a one-scenario run", []*Run{full, one, latest}, full},
		{"the later of equals", []*Run{full, later, one, latest}, later},
		{"only a one-scenario run", []*Run{one, latest}, one},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := defaultBase(tc.runs); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
