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

	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

// Guest is an allocator module that keeps ABI v1 (see guests/README.md).
type Guest struct {
	Name      string
	Wasm      []byte
	Toolchain string // what built it, if known: results record it

	HasRealloc, HasReset, HasInitialize bool
	ImportsWASI                         bool
}

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

var (
	i32 = api.ValueTypeI32
	abi = []struct {
		name     string
		sig      signature
		required bool
	}{
		{"alloc", signature{[]api.ValueType{i32, i32}, []api.ValueType{i32}}, true},
		{"free", signature{[]api.ValueType{i32, i32, i32}, nil}, true},
		{"realloc", signature{[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}}, false},
		{"reset", signature{nil, nil}, false},
		{"_initialize", signature{nil, nil}, false},
	}
)

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
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("guest %s: not a valid WebAssembly module: %w", name, err)
	}
	g := &Guest{Name: name, Wasm: wasm}
	var problems []string
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		problems = append(problems, `exports no memory named "memory"`)
	}
	fns := cm.ExportedFunctions()
	for _, e := range abi {
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
	for _, imp := range cm.ImportedFunctions() {
		mod, fn, _ := imp.Import()
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
		return nil, fmt.Errorf("guest %s does not keep the allocator ABI: %s", name, strings.Join(problems, "; "))
	}
	_, g.HasRealloc = fns["realloc"]
	_, g.HasReset = fns["reset"]
	_, g.HasInitialize = fns["_initialize"]
	return g, nil
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
