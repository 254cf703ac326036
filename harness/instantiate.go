package harness

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/alloclab/alloclab/harness/internal/adapter"
	"github.com/alloclab/alloclab/harness/internal/hostmem"
	"github.com/alloclab/alloclab/harness/internal/replay"
	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

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
