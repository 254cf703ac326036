package harness

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/trace"
)

// DefaultOOMLimitPages is the fixed memory limit of the out-of-memory pass: 16 MiB.
const DefaultOOMLimitPages = 256

// DefaultTimeout bounds each checked pass.
const DefaultTimeout = 2 * time.Minute

// Exact holds a guest's deterministic metrics on a trace: every run gives the same.
type Exact struct {
	Ops           int    // ops in the trace as the guest ran it (resets lowered for guests without reset)
	GrowCalls     int    // successful memory.grow calls
	PagesGrown    uint32 // pages added by memory.grow
	InitialPages  uint32 // memory at the start: the guest's own, or Config.InitialPages
	PeakPages     uint32 // memory at the end, which is its peak: wasm memory never shrinks
	PeakLiveBytes uint64 // most bytes live at once
	PeakHeapBytes uint64 // highest end address of any block: the heap's high-water mark
	// OOM is the first failed alloc under OOMLimitPages, or nil if the trace fit.
	OOM           *OOMPoint
	OOMLimitPages uint32
	WasmBytes     int
	MarkPages     []uint32 // memory size at each Mark op of the trace
	Samples       []Sample // utilisation over the trace
	LostBytes     uint64   // leak check: peak live set bytes not handed back without growing
	LeakChecked   bool     // LostBytes was measured (the trace freed everything)
	PeakMap       *HeapMap // the heap when live bytes first peak
	OOMMap        *HeapMap // the heap at the first failed alloc under OOMLimitPages
	Counts        *Counts  // what the ops cost the metered guest; nil if it could not be metered
	// DiscardableBytes and PeakDiscardableBytes: bytes of 4 KiB pages holding no
	// live byte, at the end of the trace and at its peak.
	DiscardableBytes, PeakDiscardableBytes uint64
	// TouchedBytes: bytes of 4 KiB pages the guest wrote over an unchecked pass;
	// Touched says it was measured, TouchedErr why not.
	TouchedBytes uint64
	Touched      bool
	TouchedErr   error
}

// MarkGrowth returns the pages grown between the trace's first and last Mark op,
// and false if it has fewer than two.
func (e *Exact) MarkGrowth() (uint32, bool) {
	if len(e.MarkPages) < 2 {
		return 0, false
	}
	return e.MarkPages[len(e.MarkPages)-1] - e.MarkPages[0], true
}

// Fragmentation is peak heap bytes over peak live bytes: 1 is perfect, 2 means the
// heap reached twice the most the program ever had live.
func (e *Exact) Fragmentation() float64 {
	if e.PeakLiveBytes == 0 {
		return 0
	}
	return float64(e.PeakHeapBytes) / float64(e.PeakLiveBytes)
}

// MeasureExact replays t twice under the checker: once under cfg's memory limit for
// the growth and peak metrics, and once under oomLimitPages for the out-of-memory
// point. Any fault ends it with a *Fault.
func (l *Lab) MeasureExact(ctx context.Context, g *Guest, scenario string, t *trace.Trace, cfg Config, oomLimitPages uint32) (*Exact, error) {
	cfg.Check = true
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	p, err := l.Run(ctx, g, scenario, t, cfg)
	if err != nil {
		return nil, err
	}
	if p.OOM != nil {
		limit := cfg.withDefaults().MemoryLimitPages
		op := t.Ops[p.OOM.Op]
		if !g.HasReset {
			op = l.lowering(t).Ops[p.OOM.Op]
		}
		return nil, &Fault{Guest: g.Name, Scenario: scenario, Op: p.OOM.Op,
			Err: fmt.Errorf("%v of %d bytes aligned to %d failed with %d bytes live and memory at %d of its %d-page limit",
				op.Kind, op.Size, op.Align, p.OOM.LiveBytes, p.Pages, limit)}
	}
	e := &Exact{
		Ops:           p.Ops,
		GrowCalls:     p.Grows.Grows,
		PagesGrown:    p.Pages - p.InitialPages,
		InitialPages:  p.InitialPages,
		PeakPages:     p.Pages,
		PeakLiveBytes: p.PeakLiveBytes,
		PeakHeapBytes: p.HeapEnd,
		OOMLimitPages: oomLimitPages,
		WasmBytes:     g.Size(),
		MarkPages:     p.MarkPages,
		Samples:       p.Samples,
		PeakMap:       p.PeakMap,
		LostBytes:     p.LostBytes,
		LeakChecked:   p.LeakChecked,
		Counts:        p.Counts,

		DiscardableBytes:     p.DiscardableBytes,
		PeakDiscardableBytes: p.PeakDiscardableBytes,
	}
	if oomLimitPages > 0 {
		cfg.MemoryLimitPages = oomLimitPages
		p, err := l.Run(ctx, g, scenario, t, cfg)
		if err != nil {
			return nil, err
		}
		e.OOM, e.OOMMap = p.OOM, p.OOMMap
	}
	return e, nil
}

// MeasureTouched adds touched-bytes to e: one more pass of t, unchecked (the
// checker's fill patterns write every block, so these are the guest's own
// writes), under cfg but in replay mode (the pages are the same in both modes,
// tested) with Config.Touched. Where the pages cannot be read, e.TouchedErr says
// why; an error is a guest's *Fault.
func (l *Lab) MeasureTouched(ctx context.Context, g *Guest, scenario string, t *trace.Trace, cfg Config, e *Exact) error {
	cfg.Check, cfg.Touched, cfg.Mode = false, true, Replay
	p, err := l.Run(ctx, g, scenario, t, cfg)
	if err != nil {
		return err
	}
	e.TouchedBytes, e.TouchedErr, e.Touched = p.TouchedBytes, p.TouchedErr, p.TouchedErr == nil
	return nil
}

// Result is one benchmark line: a timed pass with the exact metrics beside it.
type Result struct {
	Scenario, Guest string
	Variant         string // extra name parts, such as "limit=16MiB"; may be empty
	Mode            Mode
	Timed           *Pass  // the throughput pass: ns/op, and call-ns in host mode
	Latency         *Pass  // the latency pass, if any: tail latencies and time spent growing
	Exact           *Exact // nil for the floor guest, which is never checked
	// MarkUnit names the exact metric of the pages grown between the trace's first
	// and last Mark op; empty for none.
	MarkUnit string
	// Host adds the host process's peak resident memory over the timed pass.
	Host bool
}

// Name returns the benchmark name, without the "Benchmark" prefix.
func (r *Result) Name() string {
	return results.Name{Scenario: r.Scenario, Variant: r.Variant, Guest: r.Guest, Mode: string(r.Mode)}.String()
}

// Benchfmt returns the result as a benchfmt record: Iters is the number of ops
// timed; ns/op is the mean over them.
func (r *Result) Benchfmt() *benchfmt.Result {
	out := &benchfmt.Result{Name: benchfmt.Name(r.Name()), Iters: r.Timed.Ops}
	add := func(v float64, unit string) { out.Values = append(out.Values, benchfmt.Value{Value: v, Unit: unit}) }
	// The counts lead, so benchstat's tables and comparisons start with them.
	if e := r.Exact; e != nil && e.Counts != nil {
		c := e.Counts.All
		instrs, memOps, bulk := c.PerOp()
		add(Round(instrs, 7), results.UnitInstrsOp)
		add(float64(c.P99Instrs), results.UnitP99Instrs)
		add(float64(c.MaxInstrs), results.UnitMaxInstrs)
		add(Round(memOps, 7), results.UnitMemOpsOp)
		add(Round(bulk, 7), results.UnitBulkBytesOp)
	}
	if r.Timed.Ops > 0 {
		add(Round(float64(r.Timed.Elapsed.Nanoseconds())/float64(r.Timed.Ops), 5), results.UnitNsOp)
	}
	if r.Timed.CallNs > 0 {
		add(Round(r.Timed.CallNs, 4), results.UnitCallNs)
	}
	if l := r.Latency; l != nil && l.Latency != nil {
		add(Round(l.Latency.P50, 4), results.UnitP50)
		add(Round(l.Latency.P99, 4), results.UnitP99)
		add(Round(l.Latency.P999, 4), results.UnitP999)
		add(Round(l.Latency.Max, 4), results.UnitMax)
		add(Round(l.Grows.GrowTime.Seconds(), 4), results.UnitGrowSec)
	}
	if r.Host {
		add(float64(r.Timed.HostPeakBytes), results.UnitHostPeakBytes)
	}
	if e := r.Exact; e != nil {
		add(float64(e.GrowCalls), results.UnitGrowCalls)
		add(float64(e.PagesGrown), results.UnitPagesGrown)
		add(float64(e.PeakPages), results.UnitPeakPages)
		add(float64(e.PeakLiveBytes), results.UnitPeakLiveBytes)
		add(float64(e.PeakHeapBytes), results.UnitPeakHeapBytes)
		add(Round(e.Fragmentation(), 4), results.UnitFragmentation)
		if e.OOM != nil {
			add(float64(e.OOM.Op), results.UnitOOMOp)
			add(float64(e.OOM.LiveBytes), results.UnitOOMLiveBytes)
			add(Round(float64(e.OOM.LiveBytes)/(float64(e.OOMLimitPages)*PageSize), 4), results.UnitOOMUtil)
		}
		if grown, ok := e.MarkGrowth(); ok && r.MarkUnit != "" {
			add(float64(grown), r.MarkUnit)
		}
		if e.LeakChecked {
			add(float64(e.LostBytes), results.UnitLostBytes)
		}
		if e.Touched {
			add(float64(e.TouchedBytes), results.UnitTouchedBytes)
			if e.PeakLiveBytes > 0 {
				add(Round(float64(e.TouchedBytes)/float64(e.PeakLiveBytes), 4), results.UnitTouchedLive)
			}
		}
		add(float64(e.DiscardableBytes), results.UnitDiscardableBytes)
		add(float64(e.PeakDiscardableBytes), results.UnitPeakDiscardableBytes)
		add(float64(e.WasmBytes), results.UnitWasmBytes)
	}
	return out
}

// Round keeps digits significant digits of v, as the lab writes the values of its
// benchmark lines (package boundary's too).
func Round(v float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	return f
}
