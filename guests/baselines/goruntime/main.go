// Command goruntime is the go-runtime baseline: allocator ABI v1
// (guests/README.md) over Go's own garbage-collected heap, built for wasip1 as a
// reactor (-buildmode=c-shared, which exports _initialize).
//
// Every block is a []byte that a map keeps reachable until free deletes it, so
// the measure includes what carrying a GC in linear memory costs: the runtime's
// size, its heap metadata and the collector's headroom. Go zeroes every block and
// throws "out of memory" (the module exits) instead of returning 0.
//
// TinyGo compiles the same source for the TinyGo heap baselines (build.sh:
// tinygo-leaking, tinygo-conservative, tinygo-precise), for wasm-unknown, through
// the //export lines (TinyGo 0.33 has no go:wasmexport; Go ignores them). TinyGo
// zeroes every block too, and on out of memory panics, a trap with -panic=trap.
//
// It has its own go.mod so that the lab's module does not compile it; its go line
// is 1.22 because TinyGo 0.33 runs on Go 1.19 to 1.23.
package main

import "unsafe"

// live maps each block's address to the slice that holds it.
var live = map[uint32][]byte{}

//go:wasmexport alloc
//export alloc
func alloc(size, align uint32) uint32 {
	if align <= minAlign {
		// Round the size up to a multiple of align, which the tiny allocator honours.
		b := make([]byte, (size+align-1)&^(align-1))
		p := addr(b)
		live[p] = b
		return p
	}
	// Over-allocate and round up inside the slice.
	b := make([]byte, size+align-1)
	p := (addr(b) + align - 1) &^ (align - 1)
	live[p] = b
	return p
}

//go:wasmexport free
//export free
func free(ptr, size, align uint32) {
	delete(live, ptr)
}

//go:wasmexport realloc
//export realloc
func realloc(ptr, oldSize, align, newSize uint32) uint32 {
	old := live[ptr]
	p := alloc(newSize, align)
	b := live[p]
	copy(b[p-addr(b):], old[ptr-addr(old):][:min(oldSize, newSize)])
	delete(live, ptr)
	return p
}

// addr returns the linear-memory address of b's first byte.
func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func main() {}
