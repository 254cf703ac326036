package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/alloclab/alloclab/harness/internal/adapter"
	"github.com/alloclab/alloclab/harness/internal/hostmem"
	"github.com/alloclab/alloclab/harness/internal/replay"
	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

// Instance is one guest instantiated for a workload the host drives itself, call by
// call, as an embedder does: passing data in and out, or holding guest blocks in Go
// objects. Scenarios that replay a trace use Lab.Run instead.
type Instance struct {
	guest   *Guest
	inst    *instance
	stack   []uint64
	timeout time.Duration // cfg.Timeout, for classify
}

// Instantiate instantiates g under cfg (engine, memory limit, initial pages,
// host memory policy, and Check, which instantiates the metered module so
// Instance.Instrs counts; the other fields do not apply). Close releases it; until
// then the Lab runs nothing else (ErrInstanceLive).
func (l *Lab) Instantiate(ctx context.Context, g *Guest, cfg Config) (*Instance, error) {
	return l.instantiateAs(ctx, g, cfg, l.instantiate)
}

// InstantiateAnonymous instantiates g alone and without a name, so that a runtime
// holds any number of them at once, as an embedder's does (they do not count as
// the Lab's live instance): no driver, shims or checker hooks beside it. It
// serves Alloc, Free and Memory, for guests of the lab's ABI only.
func (l *Lab) InstantiateAnonymous(ctx context.Context, g *Guest, cfg Config) (*Instance, error) {
	return l.instantiateAs(ctx, g, cfg, l.instantiateAnonymous)
}

func (l *Lab) instantiateAs(ctx context.Context, g *Guest, cfg Config,
	instantiate func(context.Context, *labRuntime, *Guest, Config) (*instance, error)) (*Instance, error) {
	cfg = cfg.withDefaults()
	inst, err := instantiate(ctx, l.runtime(ctx, cfg), g, cfg)
	if errors.Is(err, ErrInstanceLive) {
		return nil, err
	}
	if err != nil {
		return nil, &Fault{Guest: g.Name, Scenario: "instantiate", Op: -1, Err: err}
	}
	return &Instance{guest: g, inst: inst, stack: make([]uint64, 4), timeout: cfg.Timeout}, nil
}

// Alloc calls the guest's alloc; 0 means it could not allocate.
func (i *Instance) Alloc(ctx context.Context, size, align uint32) (uint32, error) {
	i.stack[0], i.stack[1] = uint64(size), uint64(align)
	if err := i.inst.alloc.CallWithStack(ctx, i.stack); err != nil {
		return 0, fmt.Errorf("guest %s: alloc(%d, %d): %w", i.guest.Name, size, align, classify(ctx, err, nil, i.timeout))
	}
	return uint32(i.stack[0]), nil
}

// Free calls the guest's free.
func (i *Instance) Free(ctx context.Context, ptr, size, align uint32) error {
	i.stack[0], i.stack[1], i.stack[2] = uint64(ptr), uint64(size), uint64(align)
	if err := i.inst.free.CallWithStack(ctx, i.stack); err != nil {
		return fmt.Errorf("guest %s: free(%#x, %d, %d): %w", i.guest.Name, ptr, size, align, classify(ctx, err, nil, i.timeout))
	}
	return nil
}

// Instrs returns the instructions the metered guest has executed so far, and
// false when it is not metered (Config.Check unset, or it cannot be).
func (i *Instance) Instrs() (uint64, bool) {
	if i.inst.counters == nil {
		return 0, false
	}
	return i.inst.counters[0].Get(), true
}

// Memory returns the guest's linear memory.
func (i *Instance) Memory() api.Memory { return i.inst.mem }

// GrowStats returns the memory.grow calls the guest has made so far and the time
// the host spent on them.
func (i *Instance) GrowStats() GrowStats { return i.inst.grows.Stats }

// Close releases the instance.
func (i *Instance) Close(ctx context.Context) { i.inst.close(ctx) }

func (l *Lab) instantiateAnonymous(ctx context.Context, r *labRuntime, g *Guest, cfg Config) (*instance, error) {
	if g.Convention != adapter.ABI {
		return nil, fmt.Errorf("an anonymous instance needs the lab's ABI, not the %s convention", g.Convention)
	}
	wasm, err := r.prepare(ctx, g, g.Wasm, cfg)
	if err != nil {
		return nil, err
	}
	cm, err := r.compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	inst := &instance{grows: &hostmem.Allocator{Policy: cfg.Policy, LimitBytes: uint64(cfg.MemoryLimitPages) * PageSize}}
	m, err := r.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, inst.grows), cm,
		wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		inst.close(ctx)
		return nil, err
	}
	inst.modules = append(inst.modules, m)
	if err := growInitial(m, inst.grows, cfg.InitialPages); err != nil {
		inst.close(ctx)
		return nil, err
	}
	if g.HasInitialize {
		if _, err := m.ExportedFunction("_initialize").Call(ctx); err != nil {
			inst.close(ctx)
			return nil, fmt.Errorf("_initialize: %w", err)
		}
	}
	inst.guest, inst.mem = m, m.ExportedMemory("memory")
	inst.alloc, inst.free = m.ExportedFunction("alloc"), m.ExportedFunction("free")
	return inst, nil
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
	if err := growInitial(guest, inst.grows, cfg.InitialPages); err != nil {
		return nil, err
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

// growInitial starts guest's memory at initial pages by growing it before the
// guest runs any code, as if the module declared that minimum: the module is not
// rewritten, so its compiled code is shared by every starting size. The grow is
// not counted in grows' stats; a prefaulting allocator touches the new pages.
func growInitial(guest api.Module, grows *hostmem.Allocator, initial uint32) error {
	mem := guest.ExportedMemory("memory")
	if mem == nil || initial <= mem.Size()/PageSize {
		return nil
	}
	from := mem.Size()
	if _, ok := mem.Grow(initial - from/PageSize); !ok {
		return fmt.Errorf("setting the initial memory: growing to %d pages failed", initial)
	}
	grows.Stats = hostmem.Stats{}
	if grows.Prefault {
		buf, _ := mem.Read(from, mem.Size()-from)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 0 // fresh pages are zero: touching them changes nothing
		}
	}
	return nil
}

// prepare returns wasm, g's module, after checking that its memory's start (or
// cfg.InitialPages, if larger) is within cfg's limit, and provides WASI if g
// imports it.
func (r *labRuntime) prepare(ctx context.Context, g *Guest, wasm []byte, cfg Config) ([]byte, error) {
	lim, err := wasmbin.MemoryLimits(wasm)
	if err != nil {
		return nil, err
	}
	if initial := max(lim.Min, cfg.InitialPages); initial > cfg.MemoryLimitPages {
		return nil, fmt.Errorf("initial memory of %d pages is above the limit of %d pages", initial, cfg.MemoryLimitPages)
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
