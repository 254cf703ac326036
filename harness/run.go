package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/alloclab/alloclab/harness/internal/adapter"
	"github.com/alloclab/alloclab/harness/internal/hostmem"
	"github.com/alloclab/alloclab/harness/internal/replay"
	"github.com/alloclab/alloclab/harness/internal/shadow"
	"github.com/alloclab/alloclab/harness/internal/wasmbin"
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

// Sample is the state of the heap after one op of a checked pass.
type Sample struct {
	Op        int    `json:"op"`
	LiveBytes uint64 `json:"live_bytes"`
	HeapBytes uint64 `json:"heap_bytes"` // the heap's high-water mark so far
	Pages     uint32 `json:"pages"`
}

// Samples is the number of utilisation samples a checked pass takes.
const Samples = 100

// OOMPoint is where a guest first failed to allocate.
type OOMPoint struct {
	Op        int    `json:"op"`         // index of the failing op
	LiveBytes uint64 `json:"live_bytes"` // bytes live just before it
	// Trap, if set, says the guest trapped instead of returning 0, right after the
	// host refused to grow its memory (AssemblyScript and Go do): the reason.
	Trap string `json:"trap,omitempty"`
}

// Fault is a guest's failure: a trap, a hang, or a block the checker refused.
type Fault struct {
	Guest, Scenario string
	Op              int // -1 when the guest failed before the first op
	Err             error
}

func (f *Fault) Error() string {
	if f.Op < 0 {
		return fmt.Sprintf("guest %s, scenario %s: %v", f.Guest, f.Scenario, f.Err)
	}
	return fmt.Sprintf("guest %s, scenario %s, op %d: %v", f.Guest, f.Scenario, f.Op, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

// errFault unwinds a guest call after a checker hook recorded a fault.
var errFault = errors.New("checker fault")

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
	if !cfg.Check {
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
		switch {
		case p.fault != nil:
			err = p.fault
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = fmt.Errorf("did not finish within the time limit of %v", cfg.Timeout)
		default:
			var exit *sys.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded {
				err = fmt.Errorf("did not finish within the time limit of %v", cfg.Timeout)
			} else {
				// wazero appends the wasm stack trace on further lines; a fault is one line.
				err = fmt.Errorf("trapped: %s", firstLine(err.Error()))
			}
		}
		return res, fault(p.at, err)
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
			return res, fault(len(t.Ops), fmt.Errorf("leak check: trapped: %s", firstLine(err.Error())))
		}
		res.LostBytes, res.LeakChecked = lost, true
	}
	return res, nil
}

// instance is one guest with what the driver needs beside it.
type instance struct {
	lab     *Lab         // whose one live instance this is, until closed
	modules []api.Module // closed in reverse order
	guest   api.Module
	mem     api.Memory
	grows   *hostmem.Allocator

	alloc, free, realloc, reset api.Function // host mode calls these
	driver                      api.Module
	before, after               func(stack []uint64) // the checker's hooks, set per pass
	counters                    *[3]api.Global       // the metered guest's; nil if not metered
}

func (l *Lab) instantiate(ctx context.Context, r *labRuntime, g *Guest, cfg Config) (*instance, error) {
	wasm := g.Wasm
	metered := false
	if cfg.Check && !cfg.NoCounts {
		if m, err := g.Metered(); err == nil {
			wasm, metered = m, true
		}
	}
	wasm, err := r.prepare(ctx, g, wasm, cfg)
	if err != nil {
		return nil, err
	}
	// The host memory allocator enforces the limit, so it binds the guest and not
	// the driver beside it, and a refused grow is seen.
	// Timed passes touch the initial memory up front, to keep page faults out of
	// the timing, except when the host's memory is measured: an embedder's fresh
	// memory is not touched until used, and the peak should show that.
	if l.live {
		return nil, ErrInstanceLive
	}
	l.live = true
	inst := &instance{lab: l, grows: &hostmem.Allocator{Policy: cfg.Policy, LimitBytes: uint64(cfg.MemoryLimitPages) * PageSize,
		Prefault: !cfg.MeasureHost && !cfg.Touched, SmallPages: cfg.Touched}}
	ok := false
	defer func() {
		if !ok {
			inst.close(ctx)
		}
	}()
	add := func(name string, wasm []byte, ctx context.Context) (api.Module, error) {
		cm, err := r.compile(ctx, wasm)
		if err != nil {
			return nil, err
		}
		m, err := r.rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(name).WithStartFunctions())
		if err != nil {
			return nil, err
		}
		inst.modules = append(inst.modules, m)
		return m, nil
	}

	name := "guest"
	if g.Convention != adapter.ABI {
		name = adapter.RawName
	}
	guest, err := add(name, wasm, experimental.WithMemoryAllocator(ctx, inst.grows))
	if err != nil {
		return nil, err
	}
	if metered {
		if inst.counters = counterGlobals(guest); inst.counters == nil {
			return nil, fmt.Errorf("the metered module exports no counters")
		}
	}
	if g.HasInitialize {
		if _, err := guest.ExportedFunction("_initialize").Call(ctx); err != nil {
			return nil, fmt.Errorf("_initialize: %w", err)
		}
	}
	// A module of another convention gets its adapter as "guest".
	for _, m := range adapter.Modules(g.Convention, func(name string) bool { return g.exports[name] }) {
		if guest, err = add(m.Name, m.Wasm, ctx); err != nil {
			return nil, fmt.Errorf("%s adapter (%s): %w", g.Convention, m.Name, err)
		}
	}
	inst.guest, inst.mem = guest, guest.ExportedMemory("memory")
	reallocShim, resetShim := replay.ReallocEmulated, replay.ResetAbsent
	if g.HasRealloc {
		reallocShim = replay.ReallocReexport
	}
	if g.HasReset {
		resetShim = replay.ResetReexport
	}
	re, err := add("abi.realloc", reallocShim, ctx)
	if err != nil {
		return nil, fmt.Errorf("realloc shim: %w", err)
	}
	rs, err := add("abi.reset", resetShim, ctx)
	if err != nil {
		return nil, fmt.Errorf("reset shim: %w", err)
	}
	if _, err := add("meter", meterModule(metered, g.Convention != adapter.ABI), ctx); err != nil {
		return nil, fmt.Errorf("meter shim: %w", err)
	}
	inst.alloc, inst.free = guest.ExportedFunction("alloc"), guest.ExportedFunction("free")
	inst.realloc, inst.reset = re.ExportedFunction("realloc"), rs.ExportedFunction("reset")

	hooks, err := r.rt.NewHostModuleBuilder("checker").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) { inst.before(stack) }),
		[]api.ValueType{i32}, nil).Export("before").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) { inst.after(stack) }),
		[]api.ValueType{i32, i32}, nil).Export("after").
		Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("checker hooks: %w", err)
	}
	inst.modules = append(inst.modules, hooks)
	if inst.driver, err = add("driver", replay.Driver, ctx); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	ok = true
	return inst, nil
}

// prepare returns wasm, g's module, with its memory starting at cfg.InitialPages,
// if that is larger, after checking the start is within cfg's limit, and provides
// WASI if g imports it.
func (r *labRuntime) prepare(ctx context.Context, g *Guest, wasm []byte, cfg Config) ([]byte, error) {
	lim, err := wasmbin.MemoryLimits(wasm)
	if err != nil {
		return nil, err
	}
	if initial := max(lim.Min, cfg.InitialPages); initial > cfg.MemoryLimitPages {
		return nil, fmt.Errorf("initial memory of %d pages is above the limit of %d pages", initial, cfg.MemoryLimitPages)
	}
	if cfg.InitialPages > lim.Min {
		if wasm, err = wasmbin.SetLimits(wasm, cfg.InitialPages, 0); err != nil {
			return nil, fmt.Errorf("setting the initial memory: %w", err)
		}
	}
	if g.ImportsWASI {
		if err := r.provideWASI(ctx); err != nil {
			return nil, err
		}
	}
	return wasm, nil
}

func (inst *instance) close(ctx context.Context) {
	for i := len(inst.modules) - 1; i >= 0; i-- {
		inst.modules[i].Close(ctx)
	}
	inst.modules = nil
	inst.grows.Close()
	if inst.lab != nil {
		inst.lab.live, inst.lab = false, nil
	}
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

func (p *pass) runReplay(ctx context.Context) error {
	ops := p.trace.Ops
	dm := p.inst.driver.ExportedMemory("memory")
	base := uint32(p.trace.Slots) * 4
	need := uint64(base) + uint64(len(ops))*replay.OpBytes
	countsAt := uint32(need) // where the driver writes a checked batch's counts
	if p.checker != nil {
		need += uint64(p.cfg.Batch) * replay.CountBytes
	}
	if need > uint64(MaxPages)*PageSize {
		return fmt.Errorf("trace of %d ops is too large to replay", len(ops))
	}
	if have := uint64(dm.Size()); need > have {
		if _, ok := dm.Grow(uint32((need - have + PageSize - 1) / PageSize)); !ok {
			return fmt.Errorf("cannot grow the driver's memory to %d bytes", need)
		}
	}
	if !dm.Write(base, replay.Encode(nil, ops)) {
		return fmt.Errorf("cannot write the trace into the driver's memory")
	}
	checked := uint64(0)
	if p.checker != nil {
		checked = 1
		current := p.inst.driver.ExportedGlobal("current")
		p.inst.before = func(stack []uint64) { p.hook(int(uint32(stack[0])), 0) }
		p.inst.after = func(stack []uint64) { p.hook(int(uint32(stack[0])), uint32(stack[1])) }
		defer func() { p.at = max(p.at, int(uint32(current.Get()))) }()
	}
	run := p.inst.driver.ExportedFunction("run")
	stack := make([]uint64, 5)
	batch := p.cfg.Batch
	var overhead time.Duration
	if p.cfg.Latency {
		batch = LatencyBatch
		overhead = median(1001, func() time.Duration {
			stack[0], stack[1], stack[2], stack[3], stack[4] = uint64(base), 0, 0, 0, 0
			t0 := time.Now()
			_ = run.CallWithStack(ctx, stack)
			return time.Since(t0)
		})
		p.method = fmt.Sprintf("batches of %d ops, less the median cost of an empty batch (%v)", batch, overhead)
		p.latency = make(latencies, 0, len(ops)/batch+1)
	}
	start := time.Now()
	for from := 0; from < len(ops); from += batch {
		to := min(from+batch, len(ops))
		p.at = from
		stack[0], stack[1], stack[2], stack[3], stack[4] = uint64(base), uint64(from), uint64(to), checked, uint64(countsAt)
		t0 := time.Now()
		if err := run.CallWithStack(ctx, stack); err != nil {
			return err
		}
		if checked != 0 && !p.readCounts(dm, countsAt, int(uint32(stack[0]))-from) {
			return fmt.Errorf("cannot read the counts from the driver's memory")
		}
		if p.cfg.Latency {
			p.latency = append(p.latency, float64(max(time.Since(t0)-overhead, 0).Nanoseconds())/float64(to-from))
		}
		if done := int(uint32(stack[0])); done < to {
			p.res.Elapsed, p.res.Ops = time.Since(start), done
			p.res.OOM = &OOMPoint{Op: done}
			return nil
		}
	}
	p.res.Elapsed, p.res.Ops = time.Since(start), len(ops)
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// allocating reports whether the op under way allocates.
func (p *pass) allocating() bool {
	if p.at < 0 || p.at >= len(p.trace.Ops) {
		return false
	}
	k := p.trace.Ops[p.at].Kind
	return k == trace.Alloc || k == trace.Realloc
}

// hook is the checker's host function: it records a fault and unwinds the guest.
func (p *pass) hook(i int, ptr uint32) {
	p.at = i
	if err := p.check(i, ptr); err != nil {
		p.fault = err
		panic(errFault)
	}
}

func (p *pass) runHost(ctx context.Context) error {
	ops := p.trace.Ops
	ptrs := make([]uint32, p.trace.Slots)
	stack := make([]uint64, 4)
	inst := p.inst
	var overhead time.Duration
	var t0 time.Time
	if p.cfg.Latency {
		overhead = median(1001, func() time.Duration { t0 := time.Now(); return time.Since(t0) })
		p.method = fmt.Sprintf("each op timed alone, less the median cost of reading the clock (%v)", overhead)
		p.latency = make(latencies, 0, len(ops))
	}
	start := time.Now()
	for i := range ops {
		op := &ops[i]
		p.at = i
		if p.cfg.Latency {
			// An op's time runs from its start to the next op's start.
			if i > 0 {
				p.latency = append(p.latency, float64(max(time.Since(t0)-overhead, 0).Nanoseconds()))
			}
			t0 = time.Now()
		}
		p.countsBefore()
		switch op.Kind {
		case trace.Alloc, trace.Realloc:
			f := inst.alloc
			stack[0], stack[1] = uint64(op.Size), uint64(op.Align)
			if op.Kind == trace.Realloc {
				f = inst.realloc
				stack[0], stack[1], stack[2], stack[3] = uint64(ptrs[op.Slot]), uint64(op.OldSize), uint64(op.Align), uint64(op.Size)
			}
			if err := f.CallWithStack(ctx, stack); err != nil {
				return err
			}
			ptr := uint32(stack[0])
			if ptr == 0 {
				p.res.Elapsed, p.res.Ops = time.Since(start), i
				p.res.OOM = &OOMPoint{Op: i}
				return nil
			}
			ptrs[op.Slot] = ptr
			p.countsAfter()
			if p.checker != nil {
				if err := p.check(i, ptr); err != nil {
					p.fault = err
					return err
				}
			}
		case trace.Free, trace.Reset, trace.Mark:
			if p.checker != nil {
				if err := p.check(i, 0); err != nil {
					p.fault = err
					return err
				}
			}
			var err error
			switch op.Kind {
			case trace.Mark:
			case trace.Reset:
				err = inst.reset.CallWithStack(ctx, stack)
			default:
				stack[0], stack[1], stack[2] = uint64(ptrs[op.Slot]), uint64(op.Size), uint64(op.Align)
				err = inst.free.CallWithStack(ctx, stack)
			}
			if err != nil {
				return err
			}
			p.countsAfter()
		}
	}
	p.res.Elapsed, p.res.Ops = time.Since(start), len(ops)
	if p.cfg.Latency && len(ops) > 0 {
		p.latency = append(p.latency, float64(max(time.Since(t0)-overhead, 0).Nanoseconds()))
	}
	return nil
}
