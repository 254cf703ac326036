// Package guests embeds the lab's own allocator guests: four written by hand in
// WAT, and their TinyGo twins (the same algorithms written in Go, tinygo/).
// README.md beside this file documents the ABI every guest keeps.
package guests

import (
	_ "embed"
	"strings"
)

// Guest is an allocator shipped with the lab.
type Guest struct {
	Name     string
	Strategy string // one line; the guest's README.md says more
	Wasm     []byte
	// Toolchain is what built it: Toolchain or TinyGoToolchain.
	Toolchain string
}

// Toolchain is what built every WAT guest here: make guests runs it, and go test
// checks the committed bytes are what it builds.
const Toolchain = "wat2wasm 1.0.32 (Debian wabt) --debug-names"

// TinyGoToolchain is what built every TinyGo twin: tinygo/build.sh, with TinyGo
// from tinygo/toolchain.sh. Its first part is the toolchain.txt line that
// toolchain.sh writes; go test rebuilds the twins byte for byte when it matches.
const TinyGoToolchain = TinyGoVersion + " " + TinyGoFlags

// TinyGoVersion is the toolchain line the committed twins were built with.
const TinyGoVersion = "tinygo 0.33.0 (LLVM 16.0.6, go1.23.12) + wasm-opt version 108"

// TinyGoFlags are tinygo/build.sh's flags.
const TinyGoFlags = "-target=tinygo/target.json -gc=none -scheduler=none -opt=2 -no-debug -panic=trap"

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

// Rebuild the TinyGo twins: guests/tinygo/build.sh
//
//go:embed bump/bump-tinygo.wasm
var bumpTinyGo []byte

//go:embed freelist/freelist-tinygo.wasm
var freelistTinyGo []byte

//go:embed arena/arena-tinygo.wasm
var arenaTinyGo []byte

//go:embed pool/pool-tinygo.wasm
var poolTinyGo []byte

// Floor is not an allocator: its blocks overlap, so it is never checked. Timing it
// measures the lab's own overhead per op (see floor/README.md).
var Floor = Guest{"floor", "the lab's overhead: bumps a pointer through a fixed memory, no checks", floor, Toolchain}

// All lists the lab's guests, in the order tables show them: the WAT guests, then
// their TinyGo twins (each named after its twin, with -tinygo).
var All = []Guest{
	{"bump", "bump a pointer; free is a no-op; reset rewinds", bump, Toolchain},
	{"freelist", "first-fit free list with splitting and boundary-tag coalescing", freelist, Toolchain},
	{"arena", "bump inside chunks; free is a no-op; reset recycles every chunk", arena, Toolchain},
	{"pool", "segregated size classes 16 B-2 KiB; page runs above", pool, Toolchain},
	{"bump-tinygo", "bump's TinyGo twin", bumpTinyGo, TinyGoToolchain},
	{"freelist-tinygo", "freelist's TinyGo twin", freelistTinyGo, TinyGoToolchain},
	{"arena-tinygo", "arena's TinyGo twin", arenaTinyGo, TinyGoToolchain},
	{"pool-tinygo", "pool's TinyGo twin", poolTinyGo, TinyGoToolchain},
}

// Twin returns the WAT guest a TinyGo twin is the twin of ("bump" for
// "bump-tinygo"), or "" for a guest that is no twin.
func Twin(name string) string {
	if w, ok := strings.CutSuffix(name, "-tinygo"); ok {
		return w
	}
	return ""
}

// Lookup returns the lab's guest named name: one of All, or Floor.
func Lookup(name string) (Guest, bool) {
	for _, g := range All {
		if g.Name == name {
			return g, true
		}
	}
	if name == Floor.Name {
		return Floor, true
	}
	return Guest{}, false
}
