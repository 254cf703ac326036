// Package boundary measures what happens at the host/guest boundary of a wazero
// embedder: data copied into and out of guest memory, Go objects that own guest
// blocks, and the memory a guest's allocator loses. It runs the way the lab
// measures allocators, as scenarios over every guest with exact metrics, and its
// helpers are the patterns it recommends:
//
//   - View holds a guest block as a Go slice and refuses it once memory.grow has
//     moved the memory. Under wazero's default memory, a grow past the memory's
//     capacity (its initial size) moves it, and a slice taken before is silently
//     stale: writes through it are lost.
//   - Owner and Handle tie a guest block to a Go object, released by Close or,
//     once the object is collected, by a runtime.AddCleanup that queues the
//     block for the owning goroutine to free at its next safe point (wazero
//     module calls are not safe concurrently on one instance; cleanups run on
//     the runtime's goroutines).
//   - Checker wraps a guest and checks every block (placement, double free,
//     invalid free) against a shadow set of the live blocks; LeakCheck measures
//     what the allocator lost once a workload freed everything.
//
// Runner runs the scenarios and writes benchmark lines named
// Boundary/scenario=S/KEY=VALUE.../guest=G:
//
//   - boundary-copy, way=copy|view|pooled, size=64B|4KiB|64KiB|1MiB: the host
//     passes a payload to the guest and reads it back. copy allocates a block,
//     Memory.Writes the payload the host encoded in a Go buffer, copies it back
//     out and frees the block; view allocates a block, encodes the payload
//     straight into the slice Memory.Read returns, reads it in place and frees
//     the block; pooled writes and copies back like copy, through one
//     long-lived guest block. So copy − pooled is the price of the alloc and
//     free calls, copy − view that of the copies. Units: ns/op, copied-bytes
//     (bytes copied between Go and guest memory per op), guest-calls (wazero
//     calls per op) and instrs/op (the guest's wasm instructions per op in the
//     checked pass, counted by its metered module; set-up and warm-up included). The guest ABI has no function that computes on the data,
//     so the result read back is the payload as the guest holds it.
//   - boundary-copy, way=view-across-grow, policy=default|capacity-from-max|mmap:
//     for each payload size, a slice and a View of a fresh block are taken, the
//     guest is made to grow its memory (by allocating a block as large as the
//     memory), and the host writes through both. Units: stale-views (slices that
//     no longer alias guest memory), lost-write-bytes (bytes written through
//     them the guest never saw), refused-views (stale Views refused by their
//     guard: always equal to stale-views).
//   - host-handles, way=close|cleanup|never: HandleObjects Go objects each own a
//     guest block (16 B to 4 KiB, log-uniform); the most recent HandleWindow are
//     kept reachable, and an object pushed out of the window is closed, left to
//     its cleanup, or dropped without either (a leak). The scenario calls
//     runtime.GC after every GCEvery objects, and drains the cleanup queue
//     before every alloc and after every collection. Units: ns/op per object
//     (the forced collections excluded; memory grows on demand, so a leak's
//     growth is in it), leaked-bytes (guest bytes never freed once every object
//     is gone and collected), live-bytes-max, free-delay-gc-mean and -max
//     (forced collections between an object becoming unreachable, or being
//     closed, and its block being freed), free-delay-obj-mean and -max (the
//     same in objects created), end-gcs (collections the end of the run needed
//     to free every collectable block). Lines with at=25%|50%|75%|100% give the
//     live bytes and the memory's pages over the run.
//   - leak-check, after=boundary-copy|host-handles: the copy way's calls at
//     every size, or host-handles' close way, run on a fresh instance, which
//     then has freed everything; LeakCheck allocates back the workload's peak
//     live set. Units: probe-bytes (that set), lost-bytes (the part the guest
//     could not hand back inside the memory it held), held-pages (that memory:
//     wasm memory never shrinks), probe-grown-pages (what the probe grew).
//   - density, policy=default|capacity-from-max|mmap: up to DensityBudget
//     instances of the guest, each with a 64 MiB limit, each running a short
//     trace (DensityWorkload: 256 blocks of 16 B to 4 KiB written in full, half
//     freed), all kept alive. Units: host-bytes/instance (the rise of the
//     process's resident memory with them all alive, after a collection, per
//     instance: the guest's memory, wazero's instance and the lab's driver and
//     shims) and instances/GiB. Iterations are the instances made, fewer than
//     the budget's when its memory or time ran out. Linux only.
//
// The units are package results' (results.BoundaryUnits says which are exact:
// deterministic, the same in every run of a guest; the others are times, or
// depend on when the Go collector runs the cleanups).
package boundary

import (
	"context"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/results"
)

// Guest is an allocator guest driven call by call from one goroutine.
// *harness.Instance and *Checker implement it.
type Guest interface {
	Alloc(ctx context.Context, size, align uint32) (uint32, error)
	Free(ctx context.Context, ptr, size, align uint32) error
	Memory() api.Memory
}

// The scenarios.
const (
	ScenarioCopy    = "boundary-copy"
	ScenarioHandles = "host-handles"
	ScenarioLeak    = "leak-check"
	ScenarioDensity = "density"
)

// Scenarios lists them in the order they run.
var Scenarios = []string{ScenarioCopy, ScenarioHandles, ScenarioLeak, ScenarioDensity}

// Part is one key=value part of a benchmark name.
type Part struct{ Key, Value string }

// Value is one metric.
type Value struct {
	Value float64
	Unit  string
}

// Result is one benchmark line.
type Result struct {
	Scenario string
	Parts    []Part // between the scenario and the guest
	Guest    string
	Iters    int     // ops timed, or items measured
	Values   []Value // in order
	Note     string  // for the log, not the line: why a run stopped short
}

// Name returns the benchmark name without the "Benchmark" prefix:
// Boundary/scenario=S/K=V.../guest=G.
func (r *Result) Name() string {
	parts := make([]string, len(r.Parts))
	for i, p := range r.Parts {
		parts[i] = p.Key + "=" + p.Value
	}
	return results.Name{Suite: "Boundary", Scenario: r.Scenario, Variant: strings.Join(parts, "/"), Guest: r.Guest}.String()
}

// Value returns the value in unit, and false if there is none.
func (r *Result) Value(unit string) (float64, bool) {
	for _, v := range r.Values {
		if v.Unit == unit {
			return v.Value, true
		}
	}
	return 0, false
}

func (r *Result) add(v float64, unit string) {
	r.Values = append(r.Values, Value{v, unit})
}

// Benchfmt returns the result as a benchfmt record.
func (r *Result) Benchfmt() *benchfmt.Result {
	out := &benchfmt.Result{Name: benchfmt.Name(r.Name()), Iters: max(r.Iters, 1)}
	for _, v := range r.Values {
		out.Values = append(out.Values, benchfmt.Value{Value: v.Value, Unit: v.Unit})
	}
	return out
}

// SizeName names a payload size as the benchmark names do: 64B, 4KiB, 1MiB.
func SizeName(n uint32) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(int(n>>20)) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(int(n>>10)) + "KiB"
	}
	return strconv.Itoa(int(n)) + "B"
}
