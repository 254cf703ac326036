package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/alloclab/alloclab/harness/internal/hostmem"
	"github.com/alloclab/alloclab/harness/internal/shadow"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/trace"
)

// PageSize is the size of a wasm page.
const PageSize = 1 << 16

// Pass is what one replay of a trace against one fresh guest instance observed.
type Pass struct {
	Ops     int           // ops completed
	Elapsed time.Duration // wall time from the first op to the last, instantiation excluded
	// OOM is the first alloc or realloc that returned 0, which ends the pass.
	OOM *OOMPoint

	InitialPages, Pages uint32 // memory at the start and at the end (wasm memory never shrinks)
	Grows               GrowStats

	// Checked passes only: the shadow's peaks, the memory size at each Mark op, and
	// utilisation sampled every SampleEvery ops.
	PeakLiveBytes uint64
	HeapEnd       uint64 // highest end address of any block handed out
	MarkPages     []uint32
	Samples       []Sample
	// PeakMap is the heap just after the op at which live bytes first reach their
	// peak; OOMMap the heap just before the first failed alloc.
	PeakMap, OOMMap *HeapMap
	// LostBytes: after a trace that freed everything, of its peak live set
	// allocated again, the bytes the guest placed beyond the memory it held (see
	// leakCheck); LeakChecked says it was measured.
	LostBytes   uint64
	LeakChecked bool

	// DiscardableBytes and PeakDiscardableBytes (checked passes): the bytes of 4 KiB
	// pages of memory holding no live byte at the end of the pass and just after
	// the peak op (see shadow.Checker.DiscardableBytes).
	DiscardableBytes, PeakDiscardableBytes uint64
	// TouchedBytes (Config.Touched): the bytes of 4 KiB pages of the guest's memory
	// written by the end of the pass; TouchedErr says why it could not be measured.
	TouchedBytes uint64
	TouchedErr   error

	// HostPeakBytes is how far the host process's peak resident memory rose above
	// what it held before the guest was instantiated (Config.MeasureHost; Linux only).
	HostPeakBytes uint64
	// Latency holds the pass's tail latencies (Config.Latency).
	Latency *Latency
	// CallNs is the median cost of one call to an empty exported function of the
	// driver, on the same runtime, just after the pass (Config.MeasureCall).
	CallNs float64
	// Counts is what the completed ops cost the metered guest; checked passes only.
	Counts *Counts
}

// Sample is the state of the heap after one op of a checked pass (the heap
// sidecar's schema, defined in package results).
type Sample = results.Sample

// Samples is the number of utilisation samples a checked pass takes.
const Samples = 100

// OOMPoint is where a guest first failed to allocate (defined in package results).
type OOMPoint = results.OOMPoint

// Run replays trace t of scenario against a fresh instance of g once. An error is
// a *Fault naming the guest, the scenario and the op, or a failure of the lab.
func (l *Lab) Run(ctx context.Context, g *Guest, scenario string, t *trace.Trace, cfg Config) (*Pass, error) {
	cfg = cfg.withDefaults()
	fault := func(op int, err error) error { return &Fault{Guest: g.Name, Scenario: scenario, Op: op, Err: err} }
	if !g.HasReset {
		t = l.lowering(t)
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	r := l.runtime(ctx, cfg)
	// The host's peak is measured from before instantiation, so it counts the
	// memory the guest starts with as well as what it grows.
	var rss func() uint64
	if cfg.MeasureHost {
		rss = hostmem.PeakRSS()
	}
	inst, err := l.instantiate(ctx, r, g, cfg)
	if errors.Is(err, ErrInstanceLive) {
		return nil, err
	}
	if err != nil {
		return nil, fault(-1, fmt.Errorf("instantiating: %w", err))
	}
	defer inst.close(context.WithoutCancel(ctx))

	p := &pass{inst: inst, trace: t, cfg: cfg, res: &Pass{InitialPages: inst.mem.Size() / PageSize},
		sampleEvery: max(1, len(t.Ops)/Samples), peakOp: peakOp(t)}
	if cfg.Check {
		p.checker = shadow.New(inst.mem, t.Slots, true)
	}
	if inst.counters != nil {
		p.counts = make([]opCount, 0, len(t.Ops))
	}
	if !cfg.Check && !cfg.Quiet {
		// Collect and return freed memory to the OS now, so that neither a collection
		// nor the background scavenger (whose madvise calls interrupt every thread of
		// the process) runs inside the timing.
		debug.FreeOSMemory()
	}
	if cfg.Mode == Host {
		err = p.runHost(ctx)
	} else {
		err = p.runReplay(ctx)
	}
	res := p.res
	if rss != nil {
		res.HostPeakBytes = rss()
	}
	if err == nil && cfg.Latency {
		res.Latency = p.latency.summarize(p.method)
	}
	if err == nil && cfg.Touched {
		res.TouchedBytes, res.TouchedErr = inst.grows.Touched()
	}
	if err == nil && cfg.MeasureCall {
		res.CallNs = callCost(ctx, inst.driver.ExportedFunction("nop"))
	}
	if err == nil && inst.counters != nil {
		res.Counts = summarizeCounts(t.Ops[:res.Ops], p.counts)
	}
	res.Pages = inst.mem.Size() / PageSize
	res.Grows = inst.grows.Stats
	if p.checker != nil {
		res.PeakLiveBytes, res.HeapEnd = p.checker.PeakLiveBytes, p.checker.HeapEnd
	}
	if err != nil && p.fault == nil && res.Grows.LastFailed && p.allocating() {
		// Out of memory by trap: the guest gave up after its memory.grow was refused.
		res.OOM = &OOMPoint{Op: p.at, Trap: firstLine(err.Error())}
		err = nil
	}
	if err != nil {
		return res, fault(p.at, classify(ctx, err, p.fault, cfg.Timeout))
	}
	if res.OOM != nil {
		res.OOM.LiveBytes = liveBefore(t, res.OOM.Op)
		if p.checker != nil {
			res.OOMMap = p.heapMap(res.OOM.Op)
		}
	}
	if p.checker != nil && res.OOM == nil {
		res.DiscardableBytes = p.checker.DiscardableBytes()
	}
	if p.checker != nil && res.OOM == nil && p.checker.LiveBlocks == 0 {
		// Everything was freed: what can the guest hand back without growing?
		lost, err := p.leakCheck(ctx)
		if err != nil {
			return res, fault(len(t.Ops), fmt.Errorf("leak check: %w", classify(ctx, err, nil, cfg.Timeout)))
		}
		res.LostBytes, res.LeakChecked = lost, true
	}
	return res, nil
}

// pass is the state of one Run.
type pass struct {
	inst    *instance
	trace   *trace.Trace
	cfg     Config
	checker *shadow.Checker
	res     *Pass
	at      int   // the op under way, for errors
	fault   error // set by a checker hook before it unwinds the guest call

	sampleEvery int
	peakOp      int
	latency     latencies
	method      string
	counts      []opCount // each completed op's, when the guest is metered
	before      opCount   // the counters before the op under way (host mode)
}

// check runs op i past the checker: before free, reset and mark, after alloc and
// realloc.
func (p *pass) check(i int, ptr uint32) error {
	op := &p.trace.Ops[i]
	if i%p.sampleEvery == 0 || i == len(p.trace.Ops)-1 {
		c := p.checker
		defer func() {
			p.res.Samples = append(p.res.Samples, Sample{Op: i, LiveBytes: c.LiveBytes, HeapBytes: c.HeapEnd, Pages: p.inst.mem.Size() / PageSize})
		}()
	}
	if i == p.peakOp {
		defer func() { p.res.PeakMap, p.res.PeakDiscardableBytes = p.heapMap(i), p.checker.DiscardableBytes() }()
	}
	switch op.Kind {
	case trace.Mark:
		p.res.MarkPages = append(p.res.MarkPages, p.inst.mem.Size()/PageSize)
		return nil
	case trace.Alloc:
		return p.checker.Allocated(i, op.Slot, op.Size, op.Align, ptr)
	case trace.Realloc:
		return p.checker.Reallocated(i, op.Slot, op.Size, op.Align, ptr)
	case trace.Free:
		return p.checker.Freeing(i, op.Slot)
	case trace.Reset:
		return p.checker.Resetting(i)
	}
	return fmt.Errorf("unknown op kind %v", op.Kind)
}

// allocating reports whether the op under way allocates.
func (p *pass) allocating() bool {
	if p.at < 0 || p.at >= len(p.trace.Ops) {
		return false
	}
	k := p.trace.Ops[p.at].Kind
	return k == trace.Alloc || k == trace.Realloc
}
