// Package harness runs allocator guests under wazero: it replays a scenario's
// trace against a guest, checks every block the guest hands out, and measures the
// pass: time per op, memory grown, the out-of-memory point and the live bytes.
//
// A Lab holds the wazero runtimes; Lab.Run replays one trace once (a Pass);
// Measure combines a checked pass, an out-of-memory pass and timed passes into the
// Result that cmd/alloclab writes as a benchmark line.
package harness

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Lab owns the wazero runtimes the guests run in: one per engine and
// interruptibility, each compiling a module once. A Lab is not safe for concurrent use.
type Lab struct {
	cache    wazero.CompilationCache
	runtimes map[runtimeKey]*labRuntime
}

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
	return &Lab{cache: wazero.NewCompilationCache(), runtimes: map[runtimeKey]*labRuntime{}}
}

// Close closes every runtime the lab made.
func (l *Lab) Close(ctx context.Context) error {
	for k, r := range l.runtimes {
		r.rt.Close(ctx)
		delete(l.runtimes, k)
	}
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
