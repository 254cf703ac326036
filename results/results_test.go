package results

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

var update = flag.Bool("update", false, "rewrite README's unit table from the table")

func TestName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Name
	}{
		{"Alloc/scenario=churn/guest=pool/mode=replay", Name{Suite: "Alloc", Scenario: "churn", Guest: "pool", Mode: "replay"}},
		{"BenchmarkAlloc/scenario=prealloc-vs-grow/policy=mmap/limit=16MiB/guest=bump/mode=host",
			Name{Suite: "Alloc", Scenario: "prealloc-vs-grow", Variant: "policy=mmap/limit=16MiB", Guest: "bump", Mode: "host"}},
		{"Boundary/scenario=boundary-copy/way=view/size=64B/guest=pool", Name{Suite: "Boundary", Scenario: "boundary-copy", Variant: "way=view/size=64B", Guest: "pool"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ParseName = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != strings.TrimPrefix(tc.name, "Benchmark") {
				t.Errorf("String() = %q", s)
			}
		})
	}
	for _, bad := range []string{"", "Alloc", "scenario=churn/guest=pool", "Alloc/scenario=churn/pool", "Alloc/guest=pool"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			if n, err := ParseName(bad); err == nil {
				t.Errorf("ParseName(%q) = %+v, want an error", bad, n)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	for _, table := range [][]Unit{Units, BoundaryUnits} {
		seen := map[string]bool{}
		for _, u := range table {
			if seen[u.Name] {
				t.Errorf("%s: twice in the table", u.Name)
			}
			seen[u.Name] = true
			if u.Desc == "" || (u.Better != "" && u.Better != lower && u.Better != higher) {
				t.Errorf("%s: bad row %+v", u.Name, u)
			}
		}
	}
	for _, tc := range []struct {
		unit, line string
		exact      bool
	}{
		{"ns/op", "Unit ns/op better=lower", false},
		{"sec/op", "Unit sec/op better=lower", false},
		{"p99-ns", "Unit p99-ns better=lower", false},
		{"grow-calls", "Unit grow-calls assume=exact better=lower", true},
		{"oom-live/limit", "Unit oom-live/limit assume=exact better=higher", true},
		{"peak-live-bytes", "Unit peak-live-bytes assume=exact", true},
		{"pages-grown-after-warm-up", "Unit pages-grown-after-warm-up assume=exact better=lower", true},
		{"instrs/op", "Unit instrs/op assume=exact better=lower", true},
		{"copied-bytes", "Unit copied-bytes assume=exact better=lower", true},
		{"refused-views", "Unit refused-views assume=exact", true},
		{"free-delay-gc-mean", "Unit free-delay-gc-mean better=lower", false},
		{"live-bytes", "", false},
		{"pages-grown-", "", false},
		{"furlongs", "", false},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			if got := MetadataLine(tc.unit); got != tc.line {
				t.Errorf("MetadataLine = %q, want %q", got, tc.line)
			}
			if got := Assumption(tc.unit) == benchmath.AssumeExact; got != tc.exact {
				t.Errorf("exact = %v, want %v", got, tc.exact)
			}
			// What benchfmt's reader makes of the line is what Metadata says.
			if tc.line == "" {
				return
			}
			rd := benchfmt.NewReader(strings.NewReader(tc.line+"\nBenchmarkX 1 1 "+tc.unit+"\n"), "x")
			for rd.Scan() {
			}
			for _, m := range Metadata(tc.unit) {
				if got := rd.Units().Get(tc.unit, m.Key); got == nil || got.Value != m.Value {
					t.Errorf("reader has %s=%v, Metadata says %s", m.Key, got, m.Value)
				}
			}
		})
	}
}

// markdown matches what Markdown would make of plain text: code, a link,
// emphasis.
var markdown = regexp.MustCompile("`" + `|\[|\]\(|\*|(^|\W)_|_(\W|$)`)

// TestCaption checks every unit of the scenario suite, as written and as
// benchfmt tidies it, has a caption for the report, and none has Markdown left.
func TestCaption(t *testing.T) {
	for _, u := range Units {
		name := u.Name
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			name = prefix + "after-warm-up"
		}
		for _, n := range []string{name, Tidy(name)} {
			t.Run(n, func(t *testing.T) {
				c := Caption(n)
				if c == "" {
					t.Fatal("no caption")
				}
				if m := markdown.FindString(c); m != "" {
					t.Errorf("caption %q has Markdown %q", c, m)
				}
				if u.Short != "" && c != u.Short {
					t.Errorf("caption %q, want the row's Short %q", c, u.Short)
				}
			})
		}
	}
	// The report draws the scenario suite: a unit only the boundary suite writes
	// has no caption, nor has an unknown one or the bare family prefix.
	for _, n := range []string{UnitCopiedBytes, "furlongs", "pages-grown-"} {
		if c := Caption(n); c != "" {
			t.Errorf("Caption(%q) = %q, want none", n, c)
		}
	}
}

func TestPlainText(t *testing.T) {
	for _, tc := range []struct{ md, want string }{
		{"successful `memory.grow` calls", "successful memory.grow calls"},
		{"counted in the checked pass ([below](#counting-instructions)); more", "counted in the checked pass (below); more"},
		{"see [`scenarios/README.md`](scenarios/README.md)", "see scenarios/README.md"},
		{"*not* **ever** _now_ __then__", "not ever now then"},
		{"`a*b*c` and `snake_case_name`", "a*b*c and snake_case_name"},
		{"2 * 3 * 4 and snake_case_name", "2 * 3 * 4 and snake_case_name"},
		{"an unmatched ` stays", "an unmatched ` stays"},
	} {
		t.Run(tc.md, func(t *testing.T) {
			if got := PlainText(tc.md); got != tc.want {
				t.Errorf("PlainText = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSharedUnits checks a unit both suites write means the same to benchstat in
// both tables, and Lookup gives the suite's row.
func TestSharedUnits(t *testing.T) {
	shared := 0
	for _, b := range BoundaryUnits {
		u, ok := lookup(Units, b.Name)
		if !ok {
			continue
		}
		shared++
		if u.Exact != b.Exact || u.Better != b.Better {
			t.Errorf("%s: exact %v, better %q in Units but exact %v, better %q in BoundaryUnits", b.Name, u.Exact, u.Better, b.Exact, b.Better)
		}
		if got, _ := Lookup(b.Name); got != u {
			t.Errorf("Lookup(%s) = %+v, want the suite's row", b.Name, got)
		}
	}
	// ns/op, instrs/op, lost-bytes, host-bytes/instance, instances/GiB.
	if shared != 5 {
		t.Errorf("%d units shared, want 5", shared)
	}
}

// TestREADMEUnits keeps README's unit tables equal to the tables; -update
// rewrites them.
func TestREADMEUnits(t *testing.T) {
	const path = "../README.md"
	for _, tc := range []struct {
		name, begin, end string
		table            func() string
	}{
		{"Units", "<!-- units: results.MarkdownTable; go test ./results -update -->\n", "<!-- end units -->\n", MarkdownTable},
		{"BoundaryUnits", "<!-- boundary units: results.BoundaryMarkdownTable; go test ./results -update -->\n", "<!-- end boundary units -->\n", BoundaryMarkdownTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			i, j := strings.Index(text, tc.begin), strings.Index(text, tc.end)
			if i < 0 || j < i {
				t.Fatalf("%s: no unit table between %q and %q", path, tc.begin, tc.end)
			}
			got := text[i+len(tc.begin) : j]
			if want := tc.table(); got != want {
				if *update {
					if err := os.WriteFile(path, []byte(text[:i+len(tc.begin)]+want+text[j:]), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				t.Errorf("%s's unit table differs from results.%s; go test ./results -update rewrites it\n got:\n%s\nwant:\n%s", path, tc.name, got, want)
			}
		})
	}
}

func TestWriterResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.txt")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	res := func(name string, v float64) *benchfmt.Result {
		return &benchfmt.Result{Name: benchfmt.Name(name), Iters: 1, Values: []benchfmt.Value{{Value: v, Unit: "ns/op"}, {Value: 3, Unit: "grow-calls"}}}
	}
	a := Name{Scenario: "churn", Guest: "bump", Mode: "replay"}.String()
	b := Name{Scenario: "churn", Guest: "pool", Mode: "replay"}.String()
	for _, r := range []*benchfmt.Result{res(a, 1), res(b, 2), res(a, 3)} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	rec := &HeapRecord{Samples: []Sample{{Op: 1, LiveBytes: 2, HeapBytes: 3, Pages: 4}}, OOMPoint: &OOMPoint{Op: 9, Trap: "trap"}}
	if err := w.Heap(a, rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// An interrupted write leaves a torn line in both files.
	for _, p := range []string{path, HeapPath(path)} {
		f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(`{"name":"Alloc/scen` + "\n"[:0])
		f.Close()
	}
	heap, err := ReadHeap(HeapPath(path))
	if err != nil || !reflect.DeepEqual(heap, map[string]*HeapRecord{a: rec}) {
		t.Fatalf("ReadHeap = %v, %v", heap, err)
	}
	w, done, err := Resume(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{a: 2, b: 1}; !reflect.DeepEqual(done, want) {
		t.Errorf("done = %v, want %v", done, want)
	}
	if err := w.Write(res(b, 4)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	text, _ := os.ReadFile(path)
	if n := bytes.Count(text, []byte("Unit grow-calls assume=exact")); n != 1 {
		t.Errorf("grow-calls declared %d times:\n%s", n, text)
	}
	rd := benchfmt.NewReader(bytes.NewReader(text), path)
	n := 0
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("%v", rec)
		case *benchfmt.Result:
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d results after resuming, want 4:\n%s", n, text)
	}
}

func TestReadHeapOldForm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.heap.json")
	os.WriteFile(path, []byte(`{"Alloc/scenario=a/guest=b/mode=replay":{"samples":[{"op":1,"live_bytes":2,"heap_bytes":3,"pages":4}]}}`), 0o644)
	heap, err := ReadHeap(path)
	if err != nil || len(heap) != 1 || heap["Alloc/scenario=a/guest=b/mode=replay"].Samples[0].Pages != 4 {
		t.Fatalf("ReadHeap = %v, %v", heap, err)
	}
	os.WriteFile(path, []byte("{\"name\":\"x\",\"samples\":[]}\nnot json\n{\"name\":\"y\"}\n"), 0o644)
	if _, err := ReadHeap(path); err == nil || !strings.Contains(err.Error(), "run.heap.json:2") {
		t.Errorf("a bad line in the middle: err = %v", err)
	}
	if heap, err := ReadHeap(path + ".none"); heap != nil || err != nil {
		t.Errorf("no sidecar: %v, %v", heap, err)
	}
}

func TestMeasureNoise(t *testing.T) {
	var b strings.Builder
	// Ten benchmarks; benchmark i has ten counts spread ±i% around 100 ns.
	for i := range 10 {
		for c := range 10 {
			fmt.Fprintf(&b, "BenchmarkAlloc/scenario=s/guest=g%d/mode=replay 1 %g ns/op\n", i, 100+float64(i)*float64(c-5)/5)
		}
	}
	n, err := MeasureNoise(strings.NewReader(b.String()), "x", "sec/op")
	if err != nil {
		t.Fatal(err)
	}
	if n.Cells != 10 || n.Worst != "Alloc/scenario=s/guest=g9/mode=replay" {
		t.Errorf("noise = %+v", n)
	}
	// benchstat's ± for benchmark i is the 95% interval of the median of ten: the
	// 2nd and 9th values, 100-0.8i and 100+0.6i, around the median 100-0.1i:
	// 0.7i/(100-0.1i). The median cell is i=4, the p90 cell i=8.
	pct := func(i float64) float64 { return 100 * 0.7 * i / (100 - 0.1*i) }
	if math.Abs(n.Median-pct(4)) > 1e-9 || math.Abs(n.P90-pct(8)) > 1e-9 {
		t.Errorf("median %.3f%%, p90 %.3f%%; want %.3f%% and %.3f%%", n.Median, n.P90, pct(4), pct(8))
	}
	if _, err := MeasureNoise(strings.NewReader("BenchmarkX 1 3 ns/op\n"), "x", "sec/op"); err == nil {
		t.Error("one count: no error")
	}
}

// TestWriterNoHeap checks a run without heap records leaves no sidecar, and a
// new run at the same path removes the old one's.
func TestWriterNoHeap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.txt")
	if err := os.WriteFile(HeapPath(path), []byte("{\"name\":\"old\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &benchfmt.Result{Name: benchfmt.Name("Boundary/scenario=leak-check/guest=bump"), Iters: 1, Values: []benchfmt.Value{{Value: 3, Unit: "lost-bytes"}}}
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(HeapPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sidecar of a run without heap records: %v, want none", err)
	}
}
