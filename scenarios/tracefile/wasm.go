package tracefile

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// allocFn says how to read one allocator function's call.
type allocFn struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
	// record turns a call's params and results into events.
	record func(r *WasmRecorder, mod api.Module, params, results []uint64)
}

var i32 = api.ValueTypeI32

func sizeOf(v uint64) uint64 { return uint64(uint32(v)) }

// allocFns are the allocator functions WasmRecorder knows, wasm32 signatures:
// C's (wasi-libc, emscripten) and Rust's global allocator entry points.
var allocFns = []allocFn{
	{"malloc", []api.ValueType{i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		r.ev.Alloc(sizeOf(res[0]), sizeOf(p[0]), uint64(DefaultAlign(sizeOf(p[0]))))
	}},
	{"calloc", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		size := sizeOf(p[0]) * sizeOf(p[1]) // at most 2^64 - 2^33 + 1: no overflow
		r.ev.Alloc(sizeOf(res[0]), size, uint64(DefaultAlign(size)))
	}},
	{"realloc", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		old, size, ptr := sizeOf(p[0]), sizeOf(p[1]), sizeOf(res[0])
		if old != 0 && size == 0 && ptr == 0 {
			r.ev.Free(old) // realloc(p, 0) freed p
			return
		}
		r.ev.Realloc(old, ptr, size)
	}},
	{"free", []api.ValueType{i32}, nil, func(r *WasmRecorder, _ api.Module, p, _ []uint64) {
		r.ev.Free(sizeOf(p[0]))
	}},
	{"aligned_alloc", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		r.ev.Alloc(sizeOf(res[0]), sizeOf(p[1]), max(sizeOf(p[0]), uint64(DefaultAlign(sizeOf(p[1])))))
	}},
	{"memalign", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		r.ev.Alloc(sizeOf(res[0]), sizeOf(p[1]), max(sizeOf(p[0]), uint64(DefaultAlign(sizeOf(p[1])))))
	}},
	{"posix_memalign", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, mod api.Module, p, res []uint64) {
		if uint32(res[0]) != 0 {
			r.ev.Skipped.Failed++
			return
		}
		ptr, ok := mod.Memory().ReadUint32Le(uint32(p[0]))
		if !ok {
			r.ev.Skipped.Failed++
			return
		}
		r.ev.Alloc(uint64(ptr), sizeOf(p[2]), max(sizeOf(p[1]), uint64(DefaultAlign(sizeOf(p[2])))))
	}},
	// Rust's global allocator: __rust_alloc(size, align) and friends, which call
	// the libc functions above (those nested calls are not recorded twice).
	{"__rust_alloc", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		r.ev.Alloc(sizeOf(res[0]), sizeOf(p[0]), sizeOf(p[1]))
	}},
	{"__rust_alloc_zeroed", []api.ValueType{i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		r.ev.Alloc(sizeOf(res[0]), sizeOf(p[0]), sizeOf(p[1]))
	}},
	{"__rust_dealloc", []api.ValueType{i32, i32, i32}, nil, func(r *WasmRecorder, _ api.Module, p, _ []uint64) {
		r.ev.Free(sizeOf(p[0]))
	}},
	{"__rust_realloc", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, func(r *WasmRecorder, _ api.Module, p, res []uint64) {
		r.ev.Realloc(sizeOf(p[0]), sizeOf(res[0]), sizeOf(p[3]))
	}},
}

// WasmRecorder records a WebAssembly module's calls to its allocator into
// Events. It is a wazero experimental.FunctionListenerFactory: put it in the
// context with experimental.WithFunctionListenerFactory before compiling the
// module, and every call of the compiled module's malloc, calloc, realloc, free,
// aligned_alloc, memalign, posix_memalign and Rust's __rust_alloc,
// __rust_alloc_zeroed, __rust_realloc and __rust_dealloc is recorded: the size
// from the params and the pointer from the results.
//
// Functions are found by their name in the name section or by an export name,
// so a module whose allocator is internal (as wasi-libc's is) must keep its name
// section (wasm-ld keeps it unless told --strip-all). A function of one of
// those names with another signature (a wasm64 module, say) is not recorded;
// Found and Ignored list them.
//
// Only the outermost allocator call is recorded: when __rust_alloc calls malloc,
// or calloc calls malloc, the inner call is the outer one's doing. Calls that
// trap record nothing.
//
// A WasmRecorder serialises its listeners with a mutex, but it follows one call
// stack: record one instance at a time.
type WasmRecorder struct {
	mu      sync.Mutex
	ev      *Events
	found   []string
	ignored []string
	stack   []frame
}

type frame struct {
	fn     *allocFn
	params [4]uint64
	n      int
	nested bool
}

// NewWasmRecorder returns a recorder that records into ev.
func NewWasmRecorder(ev *Events) *WasmRecorder {
	return &WasmRecorder{ev: ev}
}

// Found returns the functions the recorder listens to, as "name (function N)".
func (r *WasmRecorder) Found() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.found)
}

// Ignored returns the functions with an allocator's name but another signature.
func (r *WasmRecorder) Ignored() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ignored)
}

// NewFunctionListener implements experimental.FunctionListenerFactory.
func (r *WasmRecorder) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	names := append([]string{def.Name()}, def.ExportNames()...)
	for i := range allocFns {
		fn := &allocFns[i]
		if !slices.Contains(names, fn.name) {
			continue
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		desc := fmt.Sprintf("%s (function %d)", fn.name, def.Index())
		if !slices.Equal(def.ParamTypes(), fn.params) || !slices.Equal(def.ResultTypes(), fn.results) {
			r.ignored = append(r.ignored, desc+": signature "+signature(def)+", want "+signatureOf(fn.params, fn.results))
			return nil
		}
		r.found = append(r.found, desc)
		return &listener{r: r, fn: fn}
	}
	return nil
}

func signature(def api.FunctionDefinition) string {
	return signatureOf(def.ParamTypes(), def.ResultTypes())
}

func signatureOf(params, results []api.ValueType) string {
	s := "("
	for i, p := range params {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	s += ")"
	if len(results) > 0 {
		s += " -> "
		for i, p := range results {
			if i > 0 {
				s += ", "
			}
			s += api.ValueTypeName(p)
		}
	}
	return s
}

type listener struct {
	r  *WasmRecorder
	fn *allocFn
}

func (l *listener) Before(_ context.Context, _ api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	r := l.r
	r.mu.Lock()
	defer r.mu.Unlock()
	f := frame{fn: l.fn, nested: len(r.stack) > 0}
	f.n = copy(f.params[:], params)
	r.stack = append(r.stack, f)
}

func (l *listener) After(_ context.Context, mod api.Module, _ api.FunctionDefinition, results []uint64) {
	r := l.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.stack) == 0 {
		return
	}
	f := r.stack[len(r.stack)-1]
	r.stack = r.stack[:len(r.stack)-1]
	if f.nested || f.fn != l.fn {
		return
	}
	f.fn.record(r, mod, f.params[:f.n], results)
}

func (l *listener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {
	r := l.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.stack) > 0 {
		r.stack = r.stack[:len(r.stack)-1]
	}
}
