// Package boundary measures what happens at the host/guest boundary of a wazero
// embedder: data copied into and out of guest memory, Go objects that own guest
// blocks, and the memory a guest's allocator loses. It runs the same way the lab
// measures allocators, as scenarios over every guest with exact metrics, and its
// helpers are the patterns it recommends:
//
//   - View holds a guest block as a Go slice and refuses it once memory.grow has
//     moved the memory (under wazero's default memory, every grow past the
//     memory's capacity moves it: a slice taken before is silently stale).
//   - Owner and Handle tie a guest block to a Go object, released by Close or,
//     once the object is collected, by a runtime.AddCleanup that queues the
//     block for the owning goroutine to free at its next safe point (wazero
//     module calls are not safe concurrently on one instance).
//   - Checker wraps a guest and checks every block (placement, double free,
//     invalid free) and keeps the live set; LeakCheck measures what the
//     allocator lost once a workload freed everything.
//
// The scenarios (Runner) write benchmark lines named
// Boundary/scenario=S/KEY=VALUE.../guest=G:
//
//   - boundary-copy, way=copy|view|pooled, size=64B|4KiB|64KiB|1MiB: the host
//     passes a payload to the guest and reads it back. copy allocates a block,
//     Memory.Writes the payload encoded in a Go buffer, copies it back out and
//     frees the block; view allocates a block, encodes the payload straight into
//     the slice Memory.Read returns and reads it in place; pooled writes and
//     copies back like copy, through one long-lived guest block. copy − pooled
//     is the cost of the alloc and free calls, copy − view that of the copies.
//     Units: ns/op, copied-bytes (between Go and guest memory, per op) and
//     guest-calls (wazero calls per op).
//   - boundary-copy, way=view-across-grow, policy=default|capacity-from-max|mmap:
//     for each payload size, a slice and a View of a block are taken, the guest
//     is made to grow its memory, and the host writes through both. Units:
//     stale-views (slices no longer aliasing guest memory), lost-write-bytes
//     (bytes written through them that the guest never saw), refused-views
//     (stale Views refused by their guard: always equal to stale-views).
//   - host-handles, way=close|cleanup|never: Go objects each own a guest block
//     (16 B to 4 KiB, log-uniform), the most recent HandleWindow of them kept
//     reachable; an object pushed out of the window is closed, left to its
//     cleanup, or dropped (a leak). The scenario calls runtime.GC every
//     GCEvery objects and drains the cleanup queue before every alloc and after
//     every GC. Units: ns/op per object (the forced collections excluded),
//     leaked-bytes (guest bytes never freed after the final collection),
//     live-bytes-max (sampled every GCEvery objects), free-delay-gc-mean and
//     -max (forced GC cycles from the object becoming unreachable to its block
//     being freed), free-delay-obj-mean and -max (the same in objects created),
//     end-gcs (forced cycles the final collection took to free everything).
//     Lines with at=25%|50%|75%|100% give live-bytes and pages over the run.
//   - leak-check, after=boundary-copy|host-handles: the copy way's calls at every
//     size, or the close way of host-handles, run on a fresh instance that then
//     frees everything; LeakCheck allocates back the workload's peak live set.
//     Units: probe-bytes (that set), lost-bytes (what the guest could not hand
//     back inside the memory it already held), held-pages (that memory: wasm
//     memory never shrinks), probe-grown-pages (what the probe had to grow).
//
// Exact units (ExactUnits) are deterministic: every run gives the same.
package boundary

import (
	"context"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"golang.org/x/perf/benchfmt"
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
)

// Scenarios lists them in the order they run.
var Scenarios = []string{ScenarioCopy, ScenarioHandles, ScenarioLeak}

// Units of the metrics, as they appear in benchfmt.
const (
	UnitCopiedBytes      = "copied-bytes"
	UnitGuestCalls       = "guest-calls"
	UnitStaleViews       = "stale-views"
	UnitLostWriteBytes   = "lost-write-bytes"
	UnitRefusedViews     = "refused-views"
	UnitLeakedBytes      = "leaked-bytes"
	UnitLiveBytesMax     = "live-bytes-max"
	UnitFreeDelayGCMean  = "free-delay-gc-mean"
	UnitFreeDelayGCMax   = "free-delay-gc-max"
	UnitFreeDelayObjMean = "free-delay-obj-mean"
	UnitFreeDelayObjMax  = "free-delay-obj-max"
	UnitEndGCs           = "end-gcs"
	UnitLiveBytes        = "live-bytes"
	UnitPages            = "pages"
	UnitProbeBytes       = "probe-bytes"
	UnitLostBytes        = "lost-bytes"
	UnitHeldPages        = "held-pages"
	UnitProbeGrownPages  = "probe-grown-pages"
)

// ExactUnits lists the deterministic units, to be declared assume=exact.
var ExactUnits = []string{
	UnitCopiedBytes, UnitGuestCalls, UnitStaleViews, UnitLostWriteBytes, UnitRefusedViews,
	UnitLeakedBytes, UnitProbeBytes, UnitLostBytes, UnitHeldPages, UnitProbeGrownPages,
}

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
}

// Name returns the benchmark name without the "Benchmark" prefix:
// Boundary/scenario=S/K=V.../guest=G.
func (r *Result) Name() string {
	var b strings.Builder
	b.WriteString("Boundary/scenario=" + r.Scenario)
	for _, p := range r.Parts {
		b.WriteString("/" + p.Key + "=" + p.Value)
	}
	b.WriteString("/guest=" + r.Guest)
	return b.String()
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

// round keeps digits significant digits, as harness.Result does.
func round(v float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	return f
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
