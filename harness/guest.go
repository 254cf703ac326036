package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/alloclab/alloclab/harness/internal/adapter"
	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

// Guest is an allocator module that keeps ABI v1 (see guests/README.md).
type Guest struct {
	Name      string
	Wasm      []byte
	Toolchain string // what built it, if known: results record it

	HasRealloc, HasReset, HasInitialize bool
	ImportsWASI                         bool
	// Convention is the allocator exports the module has; a module with the C or
	// wasm-bindgen convention runs through an adapter to the lab's ABI.
	Convention Convention
	Imports    []string // module.name of each imported function
	exports    map[string]bool
	meter      *meterCache // the metered module, made on first use
}

// Convention names a module's allocator exports: ConventionABI (the lab's),
// ConventionC (malloc, free, and aligned_alloc and realloc if present) or
// ConventionBindgen (__wbindgen_malloc, __wbindgen_free, __wbindgen_realloc).
type Convention = adapter.Convention

// The conventions.
const (
	ConventionABI     = adapter.ABI
	ConventionC       = adapter.C
	ConventionBindgen = adapter.Bindgen
)

// Exports reports whether the module exports a function named name.
func (g *Guest) Exports(name string) bool { return g.exports[name] }

// Size returns the size of the guest's binary in bytes.
func (g *Guest) Size() int { return len(g.Wasm) }

// SHA256 returns the hex digest of the guest's binary: what exactly was measured.
func (g *Guest) SHA256() string {
	sum := sha256.Sum256(g.Wasm)
	return hex.EncodeToString(sum[:])
}

type signature struct {
	params, results []api.ValueType
}

type export struct {
	name     string
	sig      signature
	required bool
}

var (
	i32          = api.ValueTypeI32
	sigI32       = []api.ValueType{i32}
	sigI32x2     = []api.ValueType{i32, i32}
	sigI32x3     = []api.ValueType{i32, i32, i32}
	sigI32x4     = []api.ValueType{i32, i32, i32, i32}
	initialize   = export{"_initialize", signature{nil, nil}, false}
	conventions  = []adapter.Convention{adapter.ABI, adapter.C, adapter.Bindgen}
	conventionOf = map[adapter.Convention][]export{
		adapter.ABI: {
			{"alloc", signature{sigI32x2, sigI32}, true},
			{"free", signature{sigI32x3, nil}, true},
			{"realloc", signature{sigI32x4, sigI32}, false},
			{"reset", signature{nil, nil}, false},
			initialize,
		},
		adapter.C: {
			{"malloc", signature{sigI32, sigI32}, true},
			{"free", signature{sigI32, nil}, true},
			{"aligned_alloc", signature{sigI32x2, sigI32}, false},
			{"realloc", signature{sigI32x2, sigI32}, false},
			initialize,
		},
		adapter.Bindgen: {
			{"__wbindgen_malloc", signature{sigI32x2, sigI32}, true},
			{"__wbindgen_free", signature{sigI32x3, nil}, true},
			{"__wbindgen_realloc", signature{sigI32x4, sigI32}, false},
			initialize,
		},
	}
)

// checkExports returns what does not fit convention c among fns.
func checkExports(c adapter.Convention, fns map[string]api.FunctionDefinition) (problems []string) {
	for _, e := range conventionOf[c] {
		def, ok := fns[e.name]
		switch {
		case !ok && e.required:
			problems = append(problems, fmt.Sprintf("exports no %s", e.name))
		case !ok:
		case !slices.Equal(def.ParamTypes(), e.sig.params) || !slices.Equal(def.ResultTypes(), e.sig.results):
			problems = append(problems, fmt.Sprintf("%s has type %s, want %s", e.name,
				typeString(def.ParamTypes(), def.ResultTypes()), typeString(e.sig.params, e.sig.results)))
		}
	}
	return problems
}

// NewGuest decodes wasm and checks it keeps ABI v1: a memory export named "memory",
// alloc and free, and realloc, reset and _initialize where present, each with its
// signature. It imports nothing but WASI. The error names the guest and what does
// not fit.
func NewGuest(name string, wasm []byte) (*Guest, error) {
	if err := wasmbin.Precheck(wasm); err != nil {
		return nil, fmt.Errorf("guest %s: not a valid WebAssembly module: %w", name, err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	cm, err := compileSafely(ctx, rt, wasm)
	if err != nil {
		return nil, fmt.Errorf("guest %s: not a valid WebAssembly module: %w", name, err)
	}
	g := &Guest{Name: name, Wasm: wasm, meter: &meterCache{}}
	var problems []string
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		problems = append(problems, `exports no memory named "memory"`)
	}
	fns := cm.ExportedFunctions()
	// The first convention whose required exports are all there decides; with
	// none, the lab's ABI names what is missing.
	g.Convention = adapter.ABI
	for _, c := range conventions {
		if p := checkExports(c, fns); len(p) == 0 {
			g.Convention = c
			break
		}
	}
	problems = append(problems, checkExports(g.Convention, fns)...)
	for _, imp := range cm.ImportedFunctions() {
		mod, fn, _ := imp.Import()
		g.Imports = append(g.Imports, mod+"."+fn)
		if mod != "wasi_snapshot_preview1" {
			problems = append(problems, fmt.Sprintf("imports %s.%s (only wasi_snapshot_preview1 is provided)", mod, fn))
			continue
		}
		g.ImportsWASI = true
	}
	for _, imp := range cm.ImportedMemories() {
		mod, n, _ := imp.Import()
		problems = append(problems, fmt.Sprintf("imports its memory %s.%s (a guest must define its own)", mod, n))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("guest %s does not keep the allocator ABI (nor the C or wasm-bindgen convention): %s", name, strings.Join(problems, "; "))
	}
	g.exports = map[string]bool{}
	for name := range fns {
		g.exports[name] = true
	}
	_, g.HasRealloc = fns["realloc"]
	_, g.HasReset = fns["reset"]
	_, g.HasInitialize = fns["_initialize"]
	if g.Convention != adapter.ABI {
		g.HasRealloc, g.HasReset = true, false // the adapter exports realloc, never reset
	}
	return g, nil
}

// compileSafely compiles wasm, turning a panic inside wazero into an error:
// fuzzing found modules on which wazero v1.12.0's function validation indexes
// out of range instead of refusing them.
func compileSafely(ctx context.Context, rt wazero.Runtime, wasm []byte) (cm wazero.CompiledModule, err error) {
	defer func() {
		if r := recover(); r != nil {
			cm, err = nil, fmt.Errorf("wazero panicked while validating it: %v", r)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}

func typeString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}
