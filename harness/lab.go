// Package harness runs allocator guests under wazero: it replays a scenario's
// trace against a guest, checks every block the guest hands out, and measures the
// pass: time per op, memory grown, the out-of-memory point and the live bytes.
// A checked pass runs the guest's metered module (Guest.Metered), so it also
// counts the wasm instructions, memory ops and bulk bytes of each op (Counts).
//
// A Lab holds the wazero runtimes; Lab.Run replays one trace once (a Pass);
// Measure combines a checked pass, an out-of-memory pass and timed passes into the
// Result that cmd/alloclab writes as a benchmark line.
package harness

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/alloclab/alloclab/trace"
)

// Lab owns the wazero runtimes the guests run in: one per engine and
// interruptibility, each compiling a module once. A Lab is not safe for concurrent
// use, and it runs one guest instance at a time: Run closes its instance before it
// returns, and an Instance must be closed before the next Run or Instantiate, which
// otherwise fail with ErrInstanceLive. Use a Lab per goroutine to run guests side
// by side.
type Lab struct {
	cache    wazero.CompilationCache
	runtimes map[runtimeKey]*labRuntime
	live     bool                          // an instance is open
	lowered  map[*trace.Trace]*trace.Trace // traces with resets lowered, by trace
}

// ErrInstanceLive is the error of a Run or Instantiate while another instance of
// the same Lab is still open: a mistake of the caller, not a fault of the guest.
var ErrInstanceLive = errors.New("harness: the lab already has a live instance; close it first (a Lab runs one instance at a time)")

type runtimeKey struct {
	engine        Engine
	interruptible bool
}

type labRuntime struct {
	rt       wazero.Runtime
	compiled map[[32]byte]wazero.CompiledModule
	wasi     bool
}

// NewLab returns an empty lab; Close releases it.
func NewLab() *Lab {
	return &Lab{cache: wazero.NewCompilationCache(), runtimes: map[runtimeKey]*labRuntime{}, lowered: map[*trace.Trace]*trace.Trace{}}
}

// NewLabCache returns an empty lab that keeps wazero's compiled code in the
// folder dir, so the next process does not compile the same module again.
func NewLabCache(dir string) (*Lab, error) {
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	return &Lab{cache: c, runtimes: map[runtimeKey]*labRuntime{}, lowered: map[*trace.Trace]*trace.Trace{}}, nil
}

// Close closes every runtime the lab made.
func (l *Lab) Close(ctx context.Context) error {
	for k, r := range l.runtimes {
		r.rt.Close(ctx)
		delete(l.runtimes, k)
	}
	clear(l.lowered)
	return l.cache.Close(ctx)
}

func (l *Lab) runtime(ctx context.Context, cfg Config) *labRuntime {
	key := runtimeKey{cfg.Engine, cfg.Timeout > 0}
	if r, ok := l.runtimes[key]; ok {
		return r
	}
	rc := wazero.NewRuntimeConfigCompiler()
	if cfg.Engine == Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	rc = rc.WithCompilationCache(l.cache).
		WithCloseOnContextDone(cfg.Timeout > 0)
	r := &labRuntime{rt: wazero.NewRuntimeWithConfig(ctx, rc), compiled: map[[32]byte]wazero.CompiledModule{}}
	l.runtimes[key] = r
	return r
}

func (r *labRuntime) compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	key := sha256.Sum256(wasm)
	if cm, ok := r.compiled[key]; ok {
		return cm, nil
	}
	cm, err := compileSafely(ctx, r.rt, wasm)
	if err != nil {
		return nil, err
	}
	r.compiled[key] = cm
	return cm, nil
}

// provideWASI instantiates wasi_snapshot_preview1 once per runtime. Guests get it
// with wazero's defaults: no filesystem, arguments, environment or network.
func (r *labRuntime) provideWASI(ctx context.Context) error {
	if r.wasi {
		return nil
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		return fmt.Errorf("wasi_snapshot_preview1: %w", err)
	}
	r.wasi = true
	return nil
}

// lowering returns t with resets lowered to frees (for guests without reset),
// computed once per trace for the Lab's life.
func (l *Lab) lowering(t *trace.Trace) *trace.Trace {
	if out, ok := l.lowered[t]; ok {
		return out
	}
	out := t
	if slices.ContainsFunc(t.Ops, func(op trace.Op) bool { return op.Kind == trace.Reset }) {
		out = t.LowerResets()
	}
	l.lowered[t] = out
	return out
}
