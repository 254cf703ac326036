// Package adapter lets the harness run modules that export another allocator
// convention than the lab's ABI: the C library's (malloc, free, aligned_alloc,
// realloc) and wasm-bindgen's (__wbindgen_malloc, __wbindgen_free,
// __wbindgen_realloc). The user's module is instantiated as "guest.raw" and a small
// adapter module as "guest", exporting the ABI over it; optional functions come
// through one-function shim modules that either re-export the module's own or
// stand in for it.
package adapter

import _ "embed"

// Convention names the allocator exports a module has.
type Convention string

// The conventions.
const (
	ABI     Convention = "abi"          // the lab's ABI: alloc, free (guests/README.md)
	C       Convention = "c"            // malloc, free; aligned_alloc and realloc if present
	Bindgen Convention = "wasm-bindgen" // __wbindgen_malloc, __wbindgen_free; __wbindgen_realloc if present
)

// Module is one module to instantiate under a name.
type Module struct {
	Name string
	Wasm []byte
}

// Rebuild each: cd harness/internal/adapter && wat2wasm --debug-names NAME.wat

//go:embed c.wasm
var cAdapter []byte

//go:embed c_aligned_reexport.wasm
var cAlignedReexport []byte

//go:embed c_aligned_absent.wasm
var cAlignedAbsent []byte

//go:embed c_realloc_reexport.wasm
var cReallocReexport []byte

//go:embed c_realloc_emulated.wasm
var cReallocEmulated []byte

//go:embed bindgen.wasm
var bindgenAdapter []byte

//go:embed bindgen_realloc_reexport.wasm
var bindgenReallocReexport []byte

//go:embed bindgen_realloc_emulated.wasm
var bindgenReallocEmulated []byte

// RawName is the name the user's module is instantiated under when adapted.
const RawName = "guest.raw"

// Modules returns the shims and the adapter to instantiate, in order, after the
// user's module (as RawName), for convention c; has says whether the module exports
// a function. The adapter comes last and is to be named "guest".
func Modules(c Convention, has func(name string) bool) []Module {
	pick := func(name string, reexport, fallback []byte) []byte {
		if has(name) {
			return reexport
		}
		return fallback
	}
	switch c {
	case C:
		return []Module{
			{"c.aligned", pick("aligned_alloc", cAlignedReexport, cAlignedAbsent)},
			{"c.realloc", pick("realloc", cReallocReexport, cReallocEmulated)},
			{"guest", cAdapter},
		}
	case Bindgen:
		return []Module{
			{"bindgen.realloc", pick("__wbindgen_realloc", bindgenReallocReexport, bindgenReallocEmulated)},
			{"guest", bindgenAdapter},
		}
	}
	return nil
}
