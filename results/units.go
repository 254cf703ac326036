package results

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"
)

// Unit describes one unit of the lab's results files.
type Unit struct {
	// Name is the unit as written; a Name ending in "*" describes a family of
	// units sharing that prefix (the scenario-specific pages-grown-… units).
	Name   string
	Exact  bool   // deterministic: every run gives the same, so benchstat needs no test
	Better string // "lower", "higher", or "" when neither is better
	Desc   string // what it is, in one sentence of Markdown for README's table
	// Short is the report's caption in plain text, for a Desc that leans on
	// README (a link, "below", "that pass", "the same"); "" makes the caption
	// Desc without its Markdown (Caption).
	Short string
}

// Units of the metrics, as they appear in results files. ns units are tidied to
// sec by benchfmt's reader: ns/op reads back as sec/op, p99-ns as p99-sec.
const (
	UnitNsOp          = "ns/op"
	UnitCallNs        = "call-ns"
	UnitP50           = "p50-ns"
	UnitP99           = "p99-ns"
	UnitP999          = "p99.9-ns"
	UnitMax           = "max-ns"
	UnitGrowSec       = "grow-sec"
	UnitHostPeakBytes = "host-peak-bytes"
	UnitGrowCalls     = "grow-calls"
	UnitPagesGrown    = "pages-grown"
	UnitPeakPages     = "peak-pages"
	UnitPeakLiveBytes = "peak-live-bytes"
	UnitPeakHeapBytes = "peak-heap-bytes"
	UnitFragmentation = "heap/live"
	UnitOOMOp         = "oom-op"
	UnitOOMLiveBytes  = "oom-live-bytes"
	UnitOOMUtil       = "oom-live/limit"
	UnitMarkGrowth    = "pages-grown-*" // a family: each scenario names its own
	UnitLostBytes     = "lost-bytes"
	UnitWasmBytes     = "wasm-bytes"

	// Issue 12's instruction metering.
	UnitInstrsOp    = "instrs/op"
	UnitP99Instrs   = "p99-instrs"
	UnitMaxInstrs   = "max-instrs"
	UnitMemOpsOp    = "mem-ops/op"
	UnitBulkBytesOp = "bulk-bytes/op"

	// Issue 17's host cost.
	UnitTouchedBytes         = "touched-bytes"
	UnitTouchedLive          = "touched/live"
	UnitDiscardableBytes     = "discardable-bytes"
	UnitPeakDiscardableBytes = "peak-discardable-bytes"
	UnitHostBytesInstance    = "host-bytes/instance"
	UnitInstancesGiB         = "instances/GiB"
)

// Units only the host-boundary suite (package harness/boundary) writes; it also
// writes ns/op, instrs/op, lost-bytes, host-bytes/instance and instances/GiB.
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
	UnitHeldPages        = "held-pages"
	UnitProbeGrownPages  = "probe-grown-pages"
)

const (
	lower  = "lower"
	higher = "higher"
)

// Units is every unit of the scenario suite, in the order README lists them.
var Units = []Unit{
	{UnitInstrsOp, true, lower, "mean wasm instructions the guest executed per op, counted by its metered module in the checked pass ([below](#counting-instructions)); the driver, adapters and shims are not counted", "mean wasm instructions the guest executed per op; the driver, adapters and shims are not counted"},
	{UnitP99Instrs, true, lower, "the tail of the per-op instruction counts (nearest rank over every op of the trace): a deterministic tail latency, such as a first-fit scan or a coalescing free", ""},
	{UnitMaxInstrs, true, lower, "the most instructions one op took", ""},
	{UnitMemOpsOp, true, lower, "mean loads and stores to linear memory per op", ""},
	{UnitBulkBytesOp, true, lower, "mean bytes per op that the guest's `memory.copy`, `memory.fill` and `memory.init` moved", ""},
	{UnitNsOp, false, lower, "mean time of one op (alloc, free, realloc or reset) on memory pre-grown to the size the guest needs: the allocator's own work; the median of the counts", ""},
	{UnitCallNs, false, lower, "host mode only: one call to an empty wasm function on the same runtime", ""},
	{UnitP50, false, lower, "median latency per op over a second pass that grows memory on demand, on an mmap reservation unless the variant names a policy, so `memory.grow` and first-touch page faults show in the tail (method below)", "median latency per op over a pass that grows memory on demand, so memory.grow and first-touch page faults show in the tail"},
	{UnitP99, false, lower, "99th percentile latency per op over that pass", "99th percentile latency per op over a pass that grows memory on demand"},
	{UnitP999, false, lower, "99.9th percentile latency per op over that pass", "99.9th percentile latency per op over a pass that grows memory on demand"},
	{UnitMax, false, lower, "the slowest op of that pass", "the slowest op of a pass that grows memory on demand"},
	{UnitGrowSec, false, lower, "time the host spent providing new pages during that pass", "time the host spent providing new pages during a pass that grows memory on demand"},
	{UnitHostPeakBytes, false, lower, "`prealloc-vs-grow` only: how far the process's peak resident memory rose over the pass", ""},
	{UnitGrowCalls, true, lower, "successful `memory.grow` calls", ""},
	{UnitPagesGrown, true, lower, "64 KiB pages those calls added", "64 KiB pages that memory.grow added"},
	{UnitPeakPages, true, lower, "the memory at the end, in pages: its peak, since wasm memory never shrinks", ""},
	{UnitPeakLiveBytes, true, "", "the most bytes live at once: a property of the trace, the same for every guest", ""},
	{UnitPeakHeapBytes, true, lower, "the highest end address of any block the guest handed out", ""},
	{UnitFragmentation, true, lower, "`peak-heap-bytes / peak-live-bytes`: fragmentation and overhead; 1 is perfect", ""},
	{UnitOOMOp, true, higher, "replayed under a fixed limit (16 MiB by default), the op at which the first alloc failed; absent when the trace fits", ""},
	{UnitOOMLiveBytes, true, higher, "the bytes live at that op", "the bytes live when the first alloc failed under the limit"},
	{UnitOOMUtil, true, higher, "those bytes over the limit: how much of its memory a guest could use", "the bytes live when the first alloc failed, divided by the limit: how much of its memory a guest could use"},
	{UnitMarkGrowth, true, lower, "scenario-specific: pages grown over a stretch of the trace, such as `pages-grown-after-warm-up` (see [scenarios/README.md](scenarios/README.md))", "scenario-specific: pages grown over a stretch of the trace"},
	{UnitLostBytes, true, lower, "leak check, when the trace freed everything: its peak live set is allocated again, and these are the bytes the guest could only place beyond the memory it held (a guest that reuses what was freed loses 0; bump loses all; free space at the top of memory can hide a loss)", ""},
	{UnitTouchedBytes, true, lower, "bytes of the 4 KiB OS pages of the guest's memory that the guest wrote by the end of the trace, on an extra unchecked pass under the mmap policy (Linux only; [below](#what-a-guest-costs-its-host))", "bytes of the 4 KiB OS pages of the guest's memory that the guest wrote by the end of the trace (Linux only): what the host had to back"},
	{UnitTouchedLive, true, lower, "`touched-bytes / peak-live-bytes`", ""},
	{UnitDiscardableBytes, true, lower, "bytes of the 4 KiB pages of memory that hold no live byte at the end of the trace: the most `memory.discard` could return then", ""},
	{UnitPeakDiscardableBytes, true, lower, "the same just after the op at which live bytes peak", "bytes of the 4 KiB pages of memory that hold no live byte just after the op at which live bytes peak"},
	{UnitWasmBytes, true, lower, "the guest's binary size", ""},
	{UnitHostBytesInstance, false, lower, "host memory one instance costs", ""},
	{UnitInstancesGiB, false, higher, "instances that fit in 1 GiB of host memory", ""},
}

// BoundaryUnits is every unit of the host-boundary suite (package
// harness/boundary), in the order README lists them. A unit both suites write
// has the same Exact and Better in both tables and its own Desc in each.
var BoundaryUnits = []Unit{
	{UnitNsOp, false, lower, "`boundary-copy`: mean time of one op (the way's alloc, copies and free of one payload) on memory pre-grown to what the checked pass reached; `host-handles`: mean time per object, the forced collections excluded, on memory grown on demand", ""},
	{UnitCopiedBytes, true, lower, "bytes copied between Go and guest memory per op", ""},
	{UnitGuestCalls, true, lower, "wazero calls into the guest per op", ""},
	{UnitInstrsOp, true, lower, "mean wasm instructions the guest executed per op of `boundary-copy`'s checked pass (set-up and warm-up included), counted by its metered module", ""},
	{UnitStaleViews, true, lower, "`way=view-across-grow`: slices taken before a `memory.grow` that no longer alias guest memory after it", ""},
	{UnitLostWriteBytes, true, lower, "bytes written through those slices that the guest never saw", ""},
	{UnitRefusedViews, true, "", "stale `boundary.View`s refused by their guard: always equal to `stale-views`", ""},
	{UnitLeakedBytes, true, lower, "`host-handles`: guest bytes never freed once every object is gone and collected", ""},
	{UnitLiveBytesMax, false, lower, "the most guest bytes the objects held at once", ""},
	{UnitFreeDelayGCMean, false, lower, "forced collections between an object becoming unreachable (or being closed) and its block being freed, on average", ""},
	{UnitFreeDelayGCMax, false, lower, "the same, at most", ""},
	{UnitFreeDelayObjMean, false, lower, "that delay counted in objects created, on average", ""},
	{UnitFreeDelayObjMax, false, lower, "the same, at most", ""},
	{UnitEndGCs, false, lower, "collections the end of the run needed to free every collectable block", ""},
	{UnitLiveBytes, false, "", "`at=` lines, at 25%, 50%, 75% and 100% of the objects: the guest bytes live then", ""},
	{UnitPages, false, lower, "the guest's memory then, in pages", ""},
	{UnitProbeBytes, true, "", "`leak-check`: the workload's peak live set, which the probe allocates again once the workload has freed everything", ""},
	{UnitLostBytes, true, lower, "the part of that set the guest could only place beyond the memory it held", ""},
	{UnitHeldPages, true, lower, "that memory, in pages: the guest holds it for good, since wasm memory never shrinks", ""},
	{UnitProbeGrownPages, true, lower, "the pages the probe grew", ""},
	{UnitHostBytesInstance, false, lower, "`density` (Linux only): the rise of the process's resident memory with every instance alive, after a collection, per instance: the guest's memory, wazero's instance and the lab's driver and shims", ""},
	{UnitInstancesGiB, false, higher, "instances that fit in 1 GiB of host memory at that cost", ""},
}

// Lookup returns the row for the unit name, as written or as benchfmt tidies it
// (sec/op for ns/op), from Units or else BoundaryUnits, and false if neither has
// one.
func Lookup(name string) (Unit, bool) {
	if u, ok := lookup(Units, name); ok {
		return u, true
	}
	return lookup(BoundaryUnits, name)
}

func lookup(table []Unit, name string) (Unit, bool) {
	for _, u := range table {
		if prefix, ok := strings.CutSuffix(u.Name, "*"); ok {
			if strings.HasPrefix(name, prefix) && name != prefix {
				return u, true
			}
			continue
		}
		if u.Name == name || Tidy(u.Name) == name {
			return u, true
		}
	}
	return Unit{}, false
}

// Caption returns the report's caption of a unit of the scenario suite (Units),
// as written or as benchfmt tidies it, in plain text: its Short, or else its
// Desc with the Markdown taken out. It is "" for a unit Units has no row for.
func Caption(name string) string {
	u, ok := lookup(Units, name)
	if !ok {
		return ""
	}
	if u.Short != "" {
		return u.Short
	}
	return PlainText(u.Desc)
}

var (
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdStrong   = regexp.MustCompile(`\*\*(\S(?:.*?\S)?)\*\*|\b__(\S(?:.*?\S)?)__\b`)
	mdEmphasis = regexp.MustCompile(`\*(\S(?:[^*]*?\S)?)\*|\b_(\S(?:[^_]*?\S)?)_\b`)
)

// PlainText returns Markdown of the kind the unit table's Desc uses as plain
// text: a link becomes its text, emphasis loses its marks and code its
// backticks (what is inside them is left as written), as Markdown shows them.
func PlainText(md string) string {
	parts := strings.Split(mdLink.ReplaceAllString(md, "$1"), "`")
	for i, s := range parts {
		if i%2 == 1 && i < len(parts)-1 { // code
			continue
		}
		s = mdStrong.ReplaceAllString(s, "$1$2")
		parts[i] = mdEmphasis.ReplaceAllString(s, "$1$2")
	}
	if n := len(parts); n%2 == 0 { // an unmatched backtick is a backtick
		return strings.Join(parts[:n-1], "") + "`" + parts[n-1]
	}
	return strings.Join(parts, "")
}

// Tidy returns the unit as benchfmt's reader and benchstat show it: ns/op becomes
// sec/op, p99-ns p99-sec.
func Tidy(name string) string {
	_, tidy := benchunit.Tidy(1, name)
	return tidy
}

// Assumption returns how benchstat must treat the unit: exact units need no test.
func Assumption(name string) benchmath.Assumption {
	if u, ok := Lookup(name); ok && u.Exact {
		return benchmath.AssumeExact
	}
	return benchmath.AssumeNothing
}

// MetadataLine returns the unit's "Unit NAME assume=exact better=lower" line
// (without a newline), or "" when the table says nothing of it.
func MetadataLine(name string) string {
	u, ok := Lookup(name)
	if !ok || (!u.Exact && u.Better == "") {
		return ""
	}
	line := "Unit " + name
	if u.Exact {
		line += " assume=exact"
	}
	if u.Better != "" {
		line += " better=" + u.Better
	}
	return line
}

// Metadata returns the unit metadata records of a unit, as benchfmt's reader
// would give them for its MetadataLine.
func Metadata(name string) []*benchfmt.UnitMetadata {
	u, ok := Lookup(name)
	if !ok {
		return nil
	}
	var out []*benchfmt.UnitMetadata
	add := func(k, v string) {
		out = append(out, &benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: Tidy(name), Key: k}, OrigUnit: name, Value: v})
	}
	if u.Exact {
		add("assume", "exact")
	}
	if u.Better != "" {
		add("better", u.Better)
	}
	return out
}

// Fixed returns the names of the suite's units (Units) that are not families, in
// order.
func Fixed() []string {
	var out []string
	for _, u := range Units {
		if !strings.HasSuffix(u.Name, "*") {
			out = append(out, u.Name)
		}
	}
	return out
}

// MarkdownTable returns README's unit table of the scenario suite.
func MarkdownTable() string { return markdownTable(Units) }

// BoundaryMarkdownTable returns README's unit table of the host-boundary suite.
func BoundaryMarkdownTable() string { return markdownTable(BoundaryUnits) }

func markdownTable(table []Unit) string {
	var b strings.Builder
	b.WriteString("| unit | what it is | exact? | better |\n|---|---|---|---|\n")
	for _, u := range table {
		name := strings.TrimSuffix(Tidy(u.Name), "*")
		if strings.HasSuffix(u.Name, "*") {
			name += "…"
		}
		exact := "no"
		if u.Exact {
			exact = "yes"
		}
		better := u.Better
		if better == "" {
			better = "neither"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, u.Desc, exact, better)
	}
	return b.String()
}
