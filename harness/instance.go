package harness

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/alloclab/alloclab/harness/internal/adapter"
	"github.com/alloclab/alloclab/harness/internal/hostmem"
)

// Instance is one guest instantiated for a workload the host drives itself, call by
// call, as an embedder does: passing data in and out, or holding guest blocks in Go
// objects. Scenarios that replay a trace use Lab.Run instead.
type Instance struct {
	guest *Guest
	inst  *instance
	stack []uint64
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
	return &Instance{guest: g, inst: inst, stack: make([]uint64, 4)}, nil
}

// Alloc calls the guest's alloc; 0 means it could not allocate.
func (i *Instance) Alloc(ctx context.Context, size, align uint32) (uint32, error) {
	i.stack[0], i.stack[1] = uint64(size), uint64(align)
	if err := i.inst.alloc.CallWithStack(ctx, i.stack); err != nil {
		return 0, fmt.Errorf("guest %s: alloc(%d, %d): %w", i.guest.Name, size, align, err)
	}
	return uint32(i.stack[0]), nil
}

// Free calls the guest's free.
func (i *Instance) Free(ctx context.Context, ptr, size, align uint32) error {
	i.stack[0], i.stack[1], i.stack[2] = uint64(ptr), uint64(size), uint64(align)
	if err := i.inst.free.CallWithStack(ctx, i.stack); err != nil {
		return fmt.Errorf("guest %s: free(%#x, %d, %d): %w", i.guest.Name, ptr, size, align, err)
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
