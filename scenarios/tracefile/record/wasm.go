package record

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/alloclab/alloclab/scenarios/tracefile"
)

// WasmOptions say how Wasm runs a module.
type WasmOptions struct {
	// Invoke is the export to call, a function of no parameters; "" is
	// _start. Another export runs after _initialize, if the module has one.
	Invoke string
	// Args are the module's arguments after its name.
	Args []string
	// Stdout and Stderr are the module's; nil discards.
	Stdout, Stderr io.Writer
	// Timeout, if positive, limits the whole run.
	Timeout time.Duration
	// MaxOps, if positive, keeps the first MaxOps ops and frees the blocks live
	// at the cut.
	MaxOps int
	// Compiled, if set, is called once the module is compiled, before it runs,
	// with the allocator functions found and those ignored for another
	// signature (see tracefile.WasmRecorder).
	Compiled func(found, ignored []string)
}

// InvokeError says the module has no export WasmOptions.Invoke that Wasm can
// call.
type InvokeError struct {
	Path, Invoke string
	Params       int // the export's parameters; -1 if there is no such function
}

func (e *InvokeError) Error() string {
	if e.Params < 0 {
		return fmt.Sprintf("%s exports no function %q to invoke", e.Path, e.Invoke)
	}
	return fmt.Sprintf("%s: %s takes %d parameters; want none", e.Path, e.Invoke, e.Params)
}

// Wasm runs the WebAssembly module bin (read from path, which names it in
// errors and the header) and records its allocator calls. The module gets WASI
// without files, environment or network. It is an error if the module has no
// allocator function the recorder knows by name: the name section must be kept.
// A non-zero exit ends the recording with a warning.
func Wasm(ctx context.Context, path string, bin []byte, opts WasmOptions) (*Recording, error) {
	invoke := cmp.Or(opts.Invoke, "_start")
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	rec := &Recording{Events: &tracefile.Events{MaxOps: opts.MaxOps}}
	listen := tracefile.NewWasmRecorder(rec.Events)
	ctx = experimental.WithFunctionListenerFactory(ctx, listen)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer r.Close(context.WithoutCancel(ctx))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		return nil, err
	}
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rec.Found = listen.Found()
	if opts.Compiled != nil {
		opts.Compiled(rec.Found, listen.Ignored())
	}
	if len(rec.Found) == 0 {
		return nil, fmt.Errorf("%s: no malloc, free, realloc, calloc, aligned_alloc, posix_memalign or __rust_alloc found by name: keep the module's name section (do not link with --strip-all)", path)
	}
	exports := compiled.ExportedFunctions()
	fn, ok := exports[invoke]
	if !ok {
		return nil, &InvokeError{Path: path, Invoke: invoke, Params: -1}
	}
	if n := len(fn.ParamTypes()); n != 0 {
		return nil, &InvokeError{Path: path, Invoke: invoke, Params: n}
	}
	name := filepath.Base(path)
	cfg := wazero.NewModuleConfig().WithName(name).WithArgs(append([]string{name}, opts.Args...)...).
		WithStdout(opts.Stdout).WithStderr(opts.Stderr).WithStartFunctions()
	mod, err := r.InstantiateModule(ctx, compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: instantiating: %w", path, err)
	}
	call := func(fn string) error {
		_, err := mod.ExportedFunction(fn).Call(ctx)
		var exit *sys.ExitError
		switch {
		case errors.As(err, &exit) && exit.ExitCode() == 0:
		case errors.As(err, &exit) && ctx.Err() != nil:
			return fmt.Errorf("%s: %s did not finish within %v", path, fn, opts.Timeout)
		case errors.As(err, &exit):
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("%s exited with status %d; the trace covers the run as far as it went", fn, exit.ExitCode()))
		case err != nil:
			return fmt.Errorf("%s: %s: %w", path, fn, err)
		}
		return nil
	}
	if invoke != "_start" && exports["_initialize"] != nil {
		if err := call("_initialize"); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	if err := call(invoke); err != nil {
		return nil, err
	}
	rec.Elapsed = time.Since(start)
	sum := sha256.Sum256(bin)
	rec.Header.Source = fmt.Sprintf("wasm module %s (sha256 %s), export %s, recorded with wazero function listeners on %s",
		name, hex.EncodeToString(sum[:8]), invoke, strings.Join(rec.Found, ", "))
	return rec, nil
}
