package baselines

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/probe"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/trace"
)

// names lists every baseline build.sh knows, each built into out/NAME.wasm.
var names = []string{"dlmalloc", "rust-std", "tlsf", "as-stub", "emmalloc", "go-runtime",
	"tinygo-leaking", "tinygo-conservative", "tinygo-precise",
	"go-runtime-gogc50", "go-runtime-memlimit", "mimalloc", "mallocng"}

// oomTraps says how each baseline runs out of memory (README.md): true for
// those that trap once memory.grow is refused, false for those whose alloc
// returns 0.
var oomTraps = map[string]bool{
	"dlmalloc": false, "rust-std": false, "tlsf": true, "as-stub": true, "emmalloc": false,
	"go-runtime": true, "go-runtime-gogc50": true, "go-runtime-memlimit": true,
	"mimalloc": false, "mallocng": false,
	"tinygo-leaking": true, "tinygo-conservative": true, "tinygo-precise": true,
}

var modes = []harness.Mode{harness.Replay, harness.Host}

// loadBaseline loads out/NAME.wasm and checks the harness accepts it, skipping
// the test when it has not been built.
func loadBaseline(t *testing.T, name string) *harness.Guest {
	t.Helper()
	return labtest.File(t, filepath.Join("out", name+".wasm"), true, "run guests/baselines/build.sh "+name)
}

// checkTrace runs t through the checker in both modes with no out-of-memory
// pass: no fault, the peak of live bytes the trace says, and the same touched
// pages in both modes (the metric is declared exact).
func checkTrace(t *testing.T, lab *harness.Lab, g *harness.Guest, scenario string, trace *trace.Trace) {
	t.Helper()
	want := trace.Stats().PeakLiveBytes
	touched := map[harness.Mode]uint64{}
	t.Cleanup(func() {
		if len(touched) == 2 && touched[harness.Replay] != touched[harness.Host] {
			t.Errorf("touched %d bytes in replay mode, %d in host mode", touched[harness.Replay], touched[harness.Host])
		}
	})
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			e, err := lab.MeasureExact(context.Background(), g, scenario, trace, harness.Config{Mode: mode}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if e.PeakLiveBytes != want {
				t.Errorf("peak live bytes %d, want %d from the trace", e.PeakLiveBytes, want)
			}
			if p, err := lab.Run(context.Background(), g, scenario, trace, harness.Config{Mode: mode, Touched: true}); err != nil {
				t.Fatal(err)
			} else if p.TouchedErr == nil {
				touched[mode] = p.TouchedBytes
			}
			t.Logf("%d bytes of wasm, %d pages at the end, heap/live %.3f", e.WasmBytes, e.PeakPages, e.Fragmentation())
		})
	}
}

// TestBaselines runs each built baseline through the checker on the churn scenario.
func TestBaselines(t *testing.T) {
	trace := labtest.Short(t, "churn")
	lab := labtest.Lab(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			checkTrace(t, lab, loadBaseline(t, name), "churn", trace)
		})
	}
}

// TestBaselinesAlignment runs each baseline on a trace that asks for every
// alignment the ABI allows, 1 to 4096, with sizes from 1 byte and reallocs: the
// wrappers' own alignment code (over-allocation in tlsf and go-runtime, Go's
// tiny objects) is what it checks.
func TestBaselinesAlignment(t *testing.T) {
	tr := trace.Alignments()
	lab := labtest.Lab(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			checkTrace(t, lab, loadBaseline(t, name), "alignment", tr)
		})
	}
}

// TestTinyGoHeapsOOM records how TinyGo's heaps run out of memory on the short
// churn trace: each traps ("out of memory" is a panic, which -panic=trap makes
// unreachable) right after the host refuses to grow its memory, instead of
// returning 0. The leaking heap reuses nothing and fails under 32 pages (2 MiB),
// 278 ops before bump does; the collectors fit in 32 pages, and under 16 fail when
// TinyGo, which doubles its memory, asks for 16 more: the conservative one first,
// likely because it scans the bytes of every block for pointers (the checker
// fills blocks with a pattern), where the precise one skips []byte.
func TestTinyGoHeapsOOM(t *testing.T) {
	trace := labtest.Short(t, "churn")
	lab := labtest.Lab(t)
	for _, tc := range []struct {
		name  string
		limit uint32
		op    int
	}{
		{"tinygo-leaking", 32, 8568}, {"tinygo-conservative", 16, 5372}, {"tinygo-precise", 16, 6069},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := loadBaseline(t, tc.name)
			e, err := lab.MeasureExact(context.Background(), g, "churn", trace, harness.Config{}, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if e.OOM == nil {
				t.Fatalf("no OOM under %d pages (%d pages at the end)", tc.limit, e.PeakPages)
			}
			t.Logf("OOM at op %d, %d bytes live, trap %q", e.OOM.Op, e.OOM.LiveBytes, e.OOM.Trap)
			if e.OOM.Op != tc.op || e.OOM.Trap == "" {
				t.Errorf("OOM at op %d (trap %q), want a trap at op %d", e.OOM.Op, e.OOM.Trap, tc.op)
			}
		})
	}
}

// TestBaselinesOOM runs each baseline out of memory with alloclab check's probe
// (16 MiB) and checks it fails the way README.md says: alloc returns 0, or the
// guest traps right after its memory.grow was refused.
func TestBaselinesOOM(t *testing.T) {
	lab := labtest.Lab(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r, err := probe.OOM(context.Background(), lab, loadBaseline(t, name), harness.Config{Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if traps := r.At.Trap != ""; traps != oomTraps[name] {
				t.Errorf("%v: trapped %v, want %v", r, traps, oomTraps[name])
			}
			t.Log(r)
		})
	}
}
