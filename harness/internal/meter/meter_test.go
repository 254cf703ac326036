package meter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/alloclab/alloclab/guests"
)

// engines are wazero's two: counts must not depend on the engine.
var engines = []struct {
	name string
	cfg  func() wazero.RuntimeConfig
}{
	{"compiler", wazero.NewRuntimeConfigCompiler},
	{"interpreter", wazero.NewRuntimeConfigInterpreter},
}

// counters reads a metered instance's counters.
func counters(m api.Module) [3]uint64 {
	var c [3]uint64
	for i, e := range Exports {
		c[i] = m.ExportedGlobal(e).Get()
	}
	return c
}

// TestCounts pins the counts of testdata/counts.wat's functions, worked out by
// hand from its code (the numbers in brackets are a straight-line run's
// instructions, each charged by the prologue at its start):
//
//   - sum(n): [block] 1, [loop] 1, then per word [local.get local.get i32.ge_u
//     br_if] 4 and [local.get local.get i32.const i32.shl i32.load i32.add
//     local.set local.get i32.const i32.add local.set br] 12 with one load, then
//     the last test 4 jumps out of the block, past both ends (not counted), to
//     [local.get end] 2: 16n + 8 instructions and n memory ops.
//   - pick(c): [local.get if] 2, then [i32.const else] 2 and a jump past the end,
//     or [i32.const end] 2; then [end] 1: 5 either way.
//   - table(k): [block] [block] [block] 3, [local.get br_table] 2, then the
//     target's [i32.const return] or [i32.const end] 2: 7.
//   - bulk(n): one run of 19 (i32.const local.set nop, 4 for memory.fill, 4 for
//     memory.copy, i32.const i32.const i32.load8_u i32.store8, local.get
//     local.get i32.add end); 2 memory ops; fill and copy move n bytes each.
//   - calls(): [call] 1, $inc's [global.get i32.const i32.add global.set end] 5,
//     [call] 1, 5 again, [global.get end] 2: 14.
func TestCounts(t *testing.T) {
	wasm, err := os.ReadFile("testdata/counts.wasm")
	if err != nil {
		t.Fatal(err)
	}
	metered, err := Rewrite("counts", wasm)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		fn     string
		arg    []uint64
		result uint64
		want   [3]uint64 // instructions, memory ops, bulk bytes
	}{
		{"sum", []uint64{0}, 0, [3]uint64{8, 0, 0}},
		{"sum", []uint64{3}, 0, [3]uint64{56, 3, 0}},
		{"sum", []uint64{100}, 0, [3]uint64{1608, 100, 0}},
		{"pick", []uint64{1}, 10, [3]uint64{5, 0, 0}},
		{"pick", []uint64{0}, 20, [3]uint64{5, 0, 0}},
		{"table", []uint64{0}, 100, [3]uint64{7, 0, 0}},
		{"table", []uint64{1}, 200, [3]uint64{7, 0, 0}},
		{"table", []uint64{9}, 300, [3]uint64{7, 0, 0}},
		{"bulk", []uint64{10}, 15, [3]uint64{19, 2, 20}},
		{"bulk", []uint64{0}, 5, [3]uint64{19, 2, 0}},
		{"calls", nil, 2, [3]uint64{14, 0, 0}},
	}
	ctx := context.Background()
	for _, e := range engines {
		rt := wazero.NewRuntimeWithConfig(ctx, e.cfg())
		defer rt.Close(ctx)
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%s%v", e.name, tc.fn, tc.arg), func(t *testing.T) {
				for _, w := range []struct {
					name string
					wasm []byte
				}{{"original", wasm}, {"metered", metered}} {
					m, err := rt.InstantiateWithConfig(ctx, w.wasm, wazero.NewModuleConfig().WithName(""))
					if err != nil {
						t.Fatal(err)
					}
					res, err := m.ExportedFunction(tc.fn).Call(ctx, tc.arg...)
					if err != nil {
						t.Fatal(err)
					}
					if len(res) != 1 || res[0] != tc.result {
						t.Errorf("%s: %s%v = %v, want %d", w.name, tc.fn, tc.arg, res, tc.result)
					}
					if w.name == "metered" {
						if got := counters(m); got != tc.want {
							t.Errorf("%s%v: counts %v, want %v", tc.fn, tc.arg, got, tc.want)
						}
					}
					m.Close(ctx)
				}
			})
		}
	}
}

// TestFeatures counts testdata/features.wat's SIMD, atomics, multi-value,
// reference types, bulk and tail-call instructions, by hand:
//
//   - simd: one run of 12 (i32.const i32.const v128.load i32.const
//     i32x4.replace_lane i32.const v128.load64_zero i8x16.shuffle
//     v128.store32_lane v128.const i32x4.extract_lane end), 3 of them memory ops.
//   - mv: [local.get block] 2, [i32.const i32.extend8_s end] 3, then 22 to the
//     end; memory.init moves 2 bytes.
//
// and those of threadsModule, which wat2wasm builds only with flags:
//
//   - atomics: atomic.fence, the store's 3, the rmw's 3, end: 8; 2 memory ops
//     (the fence is none).
//   - tail: [return_call] 1, then the callee's [i32.const end] 2: 3.
func TestFeatures(t *testing.T) {
	wasm, err := os.ReadFile("testdata/features.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		wasm   []byte
		fn     string
		result []uint64
		want   [3]uint64
	}{
		{wasm, "simd", []uint64{1}, [3]uint64{12, 3, 0}},
		{wasm, "mv", []uint64{1, 7}, [3]uint64{27, 0, 2}},
		{threadsModule, "atomics", []uint64{5}, [3]uint64{8, 2, 0}},
		{threadsModule, "tail", []uint64{7}, [3]uint64{3, 0, 0}},
	}
	ctx := context.Background()
	for _, e := range engines {
		rt := wazero.NewRuntimeWithConfig(ctx, e.cfg().WithCoreFeatures(allFeatures))
		defer rt.Close(ctx)
		for _, tc := range tests {
			t.Run(e.name+"/"+tc.fn, func(t *testing.T) {
				metered, err := Rewrite("features", tc.wasm)
				if err != nil {
					t.Fatal(err)
				}
				m, err := rt.InstantiateWithConfig(ctx, metered, wazero.NewModuleConfig().WithName(""))
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close(ctx)
				var args []uint64
				if tc.fn == "mv" {
					args = []uint64{7}
				}
				res, err := m.ExportedFunction(tc.fn).Call(ctx, args...)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(res) != fmt.Sprint(tc.result) {
					t.Errorf("%s() = %v, want %v", tc.fn, res, tc.result)
				}
				if got := counters(m); got != tc.want {
					t.Errorf("%s(): counts %v, want %v", tc.fn, got, tc.want)
				}
			})
		}
	}
}

// TestImportedGlobals: with a global imported and one defined, the counters
// are globals 2 to 4, and the imported global is left alone.
func TestImportedGlobals(t *testing.T) {
	wasm, err := os.ReadFile("testdata/imports.wasm")
	if err != nil {
		t.Fatal(err)
	}
	metered, err := Rewrite("imports", wasm)
	if err != nil {
		t.Fatal(err)
	}
	env := []byte("\x00asm\x01\x00\x00\x00" +
		"\x06\x06\x01\x7e\x01\x42\x29\x0b" + // global (mut i64) (i64.const 41)
		"\x07\x05\x01\x01g\x03\x00") // exported as g
	ctx := context.Background()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			rt := wazero.NewRuntimeWithConfig(ctx, e.cfg())
			defer rt.Close(ctx)
			em, err := rt.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := rt.InstantiateWithConfig(ctx, metered, wazero.NewModuleConfig().WithName("m"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.ExportedFunction("bump").Call(ctx)
			if err != nil || len(res) != 1 || res[0] != 42 {
				t.Fatalf("bump() = %v, %v; want 42", res, err)
			}
			if got := counters(m); got != [3]uint64{6, 0, 0} {
				t.Errorf("counts %v, want [6 0 0]", got)
			}
			if g := em.ExportedGlobal("g").Get(); g != 41 {
				t.Errorf("imported global %d, want 41", g)
			}
		})
	}
}

// threadsModule has a memory and exports atomics and tail (hand-assembled):
//
//	(func $atomics (result i32)
//	  atomic.fence
//	  (i32.atomic.store (i32.const 64) (i32.const 5))
//	  (i32.atomic.rmw.add (i32.const 64) (i32.const 1)))
//	(func $tail (result i32) (return_call $seven))
//	(func $seven (result i32) (i32.const 7))
var threadsModule = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x05\x01\x60\x00\x01\x7f" + // type: () -> i32
	"\x03\x04\x03\x00\x00\x00" + // three functions of it
	"\x05\x03\x01\x00\x01" + // memory 1
	"\x07\x12\x02\x07atomics\x00\x00\x04tail\x00\x01" + // exports
	"\x0a\x23\x03" + // code
	"\x17\x00\xfe\x03\x00\x41\xc0\x00\x41\x05\xfe\x17\x02\x00\x41\xc0\x00\x41\x01\xfe\x1e\x02\x00\x0b" +
	"\x04\x00\x12\x02\x0b" +
	"\x04\x00\x41\x07\x0b")

// modules returns every module of the lab: the guests, the built baselines (when
// built), the harness's test modules, adapters and shims.
func modules(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, g := range append(guests.All, guests.Floor) {
		out[g.Name] = g.Wasm
	}
	out["threads"] = threadsModule
	for _, pattern := range []string{"../../../guests/baselines/out/*.wasm", "../../testdata/*.wasm",
		"../adapter/*.wasm", "../replay/*.wasm", "../../boundary/testdata/*.wasm", "testdata/*.wasm"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "premetered.wasm") {
				continue // exports a counter's name already: it cannot be metered
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = b
		}
	}
	return out
}

// allFeatures are wazero's features the rewrite decodes: testdata/features.wasm
// needs threads and tail calls, which the lab leaves off.
const allFeatures = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall

// TestRewriteValid meters every module of the lab and checks wazero accepts the
// result, with the counters exported.
func TestRewriteValid(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
	defer rt.Close(ctx)
	for name, wasm := range modules(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			out, err := Rewrite(name, wasm)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("metered module does not validate: %v", err)
			}
			defer cm.Close(ctx)
			orig, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			defer orig.Close(ctx)
			// The original's exports are all there, with the same types.
			of, mf := orig.ExportedFunctions(), cm.ExportedFunctions()
			if len(of) != len(mf) {
				t.Errorf("%d exported functions, want %d", len(mf), len(of))
			}
			for n, d := range of {
				if m, ok := mf[n]; !ok || !sameTypes(d, m) {
					t.Errorf("export %s lost or changed", n)
				}
			}
			// A second rewrite refuses: the counters are exported already.
			if _, err := Rewrite(name, out); err == nil || !strings.Contains(err.Error(), "already exports") {
				t.Errorf("metering a metered module: %v, want an error", err)
			}
		})
	}
}

func sameTypes(a, b api.FunctionDefinition) bool {
	eq := func(x, y []api.ValueType) bool { return string(x) == string(y) }
	return eq(a.ParamTypes(), b.ParamTypes()) && eq(a.ResultTypes(), b.ResultTypes())
}

// TestRewriteErrors: what the rewrite cannot meter is an *Error naming the module
// and the byte.
func TestRewriteErrors(t *testing.T) {
	// A module of one function () -> () whose body is code.
	module := func(code ...byte) []byte {
		body := append([]byte{0}, code...) // no locals
		b := []byte("\x00asm\x01\x00\x00\x00")
		b = append(b, 1, 4, 1, 0x60, 0, 0) // type section: () -> ()
		b = append(b, 3, 2, 1, 0)          // function section
		b = append(b, 10, byte(len(body)+2), 1, byte(len(body)))
		return append(b, body...)
	}
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"not wasm", []byte("hello"), "cannot meter module m: byte 0: not a WebAssembly module (bad magic)"},
		{"try", module(0x06, 0x40, 0x0b, 0x0b), "cannot meter module m: byte 23: unsupported opcode 0x06 (exception handling)"},
		{"unknown", module(0xc5, 0x0b), "cannot meter module m: byte 23: unknown opcode 0xc5"},
		{"unknown 0xfc", module(0xfc, 0x30, 0x0b), "cannot meter module m: byte 23: opcode 0xfc: unknown sub-opcode 48"},
		{"truncated", module(0x41), "cannot meter module m: byte 23: opcode 0x41: truncated"},
		{"no end", module(0x01), "cannot meter module m: byte 24: function body ends before its final end"},
		{"after end", module(0x0b, 0x01), "cannot meter module m: byte 24: bytes after the function's final end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Rewrite("m", tc.wasm)
			var me *Error
			if !errors.As(err, &me) || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	// The well-formed module meters.
	if _, err := Rewrite("m", module(0x01, 0x0b)); err != nil {
		t.Errorf("nop module: %v", err)
	}
}
