package alloclabtest_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/alloclabtest"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

// recorder is a testing.TB that records what Check reports instead of failing.
type recorder struct {
	testing.TB // nil: a method Check should not call panics
	logs       []string
	fatal      []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Logf(format string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(format, a...)) }
func (r *recorder) Fatalf(format string, a ...any) {
	r.fatal = append(r.fatal, fmt.Sprintf(format, a...))
}

func guest(t *testing.T, name string) []byte {
	return labtest.Guest(t, name).Wasm
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	wasm, err := os.ReadFile("../harness/testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// TestCheckFaults runs Check on faulty modules and bad options: each fails with
// one line, the one alloclab check prints after "verdict: FAIL: ".
func TestCheckFaults(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		opts []alloclabtest.Option
		want string
	}{
		{"corrupt", fixture(t, "corrupt"), []alloclabtest.Option{alloclabtest.Name("corrupt")},
			"guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live"},
		{"overlap", fixture(t, "overlap"), []alloclabtest.Option{alloclabtest.Name("overlap"), alloclabtest.Scenarios("fragmentation-swiss")},
			"guest overlap, scenario fragmentation-swiss, op 1: block [0xc840, 0xcc40) overlaps live block [0x40, 0x19040) from op 0"},
		{"cmallocmin", fixture(t, "cmallocmin"), []alloclabtest.Option{alloclabtest.Name("cmallocmin"), alloclabtest.Scenarios()},
			"guest cmallocmin, scenario alignments, op 3: alloc of 1691 bytes aligned to 64 failed with 5760 bytes live and memory at 1 of its 65535-page limit"},
		{"badabi", fixture(t, "badabi"), nil,
			"the harness cannot run it: guest module does not keep the allocator ABI (nor the C or wasm-bindgen convention): alloc has type (i32) -> (i32), want (i32, i32) -> (i32); exports no free"},
		{"limit", guest(t, "bump"), []alloclabtest.Option{alloclabtest.Name("bump"), alloclabtest.Scenarios("churn"), alloclabtest.MemoryLimit(16)},
			"guest bump, scenario churn, op 4513: alloc of 53618 bytes aligned to 8 failed with 158310 bytes live and memory at 16 of its 16-page limit"},
		{"engine", guest(t, "pool"), []alloclabtest.Option{alloclabtest.Engine("jit")},
			`alloclabtest: Engine: unknown engine "jit" (want compiler or interpreter)`},
		{"scenario", guest(t, "pool"), []alloclabtest.Option{alloclabtest.Scenarios("churn", "nope")},
			`alloclabtest: Scenarios: unknown scenario "nope"`},
		{"mode", guest(t, "pool"), []alloclabtest.Option{alloclabtest.Modes("jit")},
			`alloclabtest: Modes: unknown mode "jit" (want replay or host)`},
		{"tracefile", guest(t, "pool"), []alloclabtest.Option{alloclabtest.TraceFile("testdata/missing.trace")},
			"alloclabtest: TraceFile: open testdata/missing.trace: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			alloclabtest.Check(r, tc.wasm, tc.opts...)
			if len(r.fatal) != 1 || r.fatal[0] != tc.want || strings.Contains(r.fatal[0], "\n") {
				t.Fatalf("Check failed with %q, want one line %q", r.fatal, tc.want)
			}
			if err := alloclabtest.Verify(tc.wasm, tc.opts...); err == nil || err.Error() != r.fatal[0] {
				t.Errorf("Verify = %v, want Check's %q", err, r.fatal[0])
			}
		})
	}
}

// TestCheck passes a correct guest on the default scenarios and logs each pass.
func TestCheck(t *testing.T) {
	r := &recorder{}
	alloclabtest.Check(r, guest(t, "pool"), alloclabtest.Name("pool"))
	if len(r.fatal) > 0 {
		t.Fatal(r.fatal)
	}
	logs := strings.Join(r.logs, "\n")
	for _, want := range []string{
		"checker: churn, replay mode: 20548 ops, every block sound",
		"checker: trace-cc1, host mode: ",
		"checker: alignments, host mode: 4487 ops, every block sound",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "oom-sweep") {
		t.Errorf("checked oom-sweep by default:\n%s", logs)
	}
	t.Log(logs)
}

// writeTrace writes a small trace file and returns its path and trace.
func writeTrace(t *testing.T) (string, *trace.Trace) {
	var b trace.Builder
	for i := range 200 {
		b.Alloc(uint32(16+i*8), 8)
		if i%3 == 2 {
			b.Free(b.LiveSlot(0))
		}
	}
	b.FreeAll()
	tr := b.Trace()
	path := filepath.Join(t.TempDir(), "mine.trace")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tracefile.Write(f, tracefile.Header{Source: "a test"}, tr); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, tr
}

// TestCheckTraceFile checks a user's trace file alone, in the interpreter.
func TestCheckTraceFile(t *testing.T) {
	path, tr := writeTrace(t)
	r := &recorder{}
	alloclabtest.Check(r, guest(t, "freelist"), alloclabtest.Scenarios(), alloclabtest.TraceFile(path),
		alloclabtest.Engine("interpreter"), alloclabtest.Modes("host"))
	want := fmt.Sprintf("checker: trace-mine, host mode: %d ops, every block sound", len(tr.Ops))
	if len(r.fatal) > 0 || len(r.logs) < 2 || !strings.HasPrefix(r.logs[0], want) || !strings.HasPrefix(r.logs[1], "checker: alignments, host mode") {
		t.Fatalf("fatal %q, logs %q; want the trace file, then alignments", r.fatal, r.logs)
	}
}

// TestBenchmark reports the lab's exact metrics, equal to what the harness
// measures for the same scenario, beside ns/op.
func TestBenchmark(t *testing.T) {
	// A fixed b.N keeps the test short: each replay is a fresh instance.
	benchtime := flag.Lookup("test.benchtime").Value
	old := benchtime.String()
	if err := benchtime.Set("5000x"); err != nil {
		t.Fatal(err)
	}
	defer benchtime.Set(old)
	path, _ := writeTrace(t)
	for _, scenario := range []string{"fragmentation-swiss", "trace-mine"} {
		t.Run(scenario, func(t *testing.T) {
			pool := guest(t, "pool")
			var failed string
			r := testing.Benchmark(func(b *testing.B) {
				alloclabtest.Benchmark(b, pool, scenario, alloclabtest.Name("pool"), alloclabtest.TraceFile(path))
				if b.Failed() {
					failed = "failed"
				}
			})
			if failed != "" || r.N != 5000 {
				t.Fatalf("the benchmark %s (N %d)", failed, r.N)
			}
			sc, err := scenarios.Lookup(scenario)
			if scenario == "trace-mine" {
				sc, err = scenarios.FromFile(path)
			}
			if err != nil {
				t.Fatal(err)
			}
			lab, g := labtest.Lab(t), labtest.Guest(t, "pool")
			e, err := lab.MeasureExact(context.Background(), g, scenario, sc.Trace(true), harness.Config{}, harness.DefaultOOMLimitPages)
			if err != nil {
				t.Fatal(err)
			}
			if err := lab.MeasureTouched(context.Background(), g, scenario, sc.Trace(true), harness.Config{}, e); err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{
				results.UnitPagesGrown:       float64(e.PagesGrown),
				results.UnitPeakPages:        float64(e.PeakPages),
				results.UnitPeakLiveBytes:    float64(e.PeakLiveBytes),
				results.UnitPeakHeapBytes:    float64(e.PeakHeapBytes),
				results.UnitWasmBytes:        float64(len(pool)),
				results.UnitDiscardableBytes: float64(e.DiscardableBytes),
			}
			if e.Touched {
				want[results.UnitTouchedBytes] = float64(e.TouchedBytes)
			}
			if e.OOM != nil {
				want[results.UnitOOMOp] = float64(e.OOM.Op)
			}
			if e.Counts == nil {
				t.Fatal("the pool guest ran without instruction counts")
			}
			want[results.UnitP99Instrs] = float64(e.Counts.All.P99Instrs)
			want[results.UnitMaxInstrs] = float64(e.Counts.All.MaxInstrs)
			if instrs, _, _ := e.Counts.All.PerOp(); math.Abs(r.Extra[results.UnitInstrsOp]-instrs) > 1e-6*instrs {
				t.Errorf("%s = %v, want %v", results.UnitInstrsOp, r.Extra[results.UnitInstrsOp], instrs)
			}
			for unit, v := range want {
				if got, ok := r.Extra[unit]; !ok || got != v {
					t.Errorf("%s = %v (reported %v), want %v", unit, got, ok, v)
				}
			}
			if ns := r.Extra["ns/op"]; ns <= 0 || r.NsPerOp() != int64(ns) {
				t.Errorf("ns/op %v, NsPerOp %d: want the replays' time", ns, r.NsPerOp())
			}
			t.Logf("N %d: %v", r.N, r.Extra)
		})
	}
}

// TestWriteUnits checks benchstat's reader sees every exact unit as exact.
func TestWriteUnits(t *testing.T) {
	var buf bytes.Buffer
	if err := alloclabtest.WriteUnits(&buf); err != nil {
		t.Fatal(err)
	}
	exact := map[string]bool{}
	r := benchfmt.NewReader(&buf, "units")
	for r.Scan() {
		if u, ok := r.Result().(*benchfmt.UnitMetadata); ok && u.Key == "assume" && u.Value == "exact" {
			exact[u.Unit] = true
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range results.Fixed() {
		if u, _ := results.Lookup(name); u.Exact && !exact[results.Tidy(name)] {
			t.Errorf("unit %s is not declared exact:\n%s", name, buf.String())
		}
	}
}
