// Package guests embeds the lab's own allocator guests, written by hand in WAT.
// README.md beside this file documents the ABI every guest keeps.
package guests

import _ "embed"

// Guest is an allocator shipped with the lab.
type Guest struct {
	Name     string
	Strategy string // one line; the guest's README.md says more
	Wasm     []byte
}

// Toolchain is what built every guest here: make guests runs it, and go test checks
// the committed bytes are what it builds.
const Toolchain = "wat2wasm 1.0.32 (Debian wabt) --debug-names"

// Rebuild: cd guests/bump && wat2wasm --debug-names bump.wat
//
//go:embed bump/bump.wasm
var bump []byte

// Rebuild: cd guests/freelist && wat2wasm --debug-names freelist.wat
//
//go:embed freelist/freelist.wasm
var freelist []byte

// Rebuild: cd guests/arena && wat2wasm --debug-names arena.wat
//
//go:embed arena/arena.wasm
var arena []byte

// Rebuild: cd guests/pool && wat2wasm --debug-names pool.wat
//
//go:embed pool/pool.wasm
var pool []byte

// Rebuild: cd guests/floor && wat2wasm --debug-names floor.wat
//
//go:embed floor/floor.wasm
var floor []byte

// Floor is not an allocator: its blocks overlap, so it is never checked. Timing it
// measures the lab's own overhead per op (see floor/README.md).
var Floor = Guest{"floor", "the lab's overhead: bumps a pointer through a fixed memory, no checks", floor}

// All lists the lab's guests, in the order tables show them.
var All = []Guest{
	{"bump", "bump a pointer; free is a no-op; reset rewinds", bump},
	{"freelist", "first-fit free list with splitting and boundary-tag coalescing", freelist},
	{"arena", "bump inside chunks; free is a no-op; reset recycles every chunk", arena},
	{"pool", "segregated size classes 16 B-2 KiB; page runs above", pool},
}
