// Command bump is the TinyGo twin of guests/bump/bump.wat: the same algorithm
// with the same constants, exporting ABI v1 (guests/README.md). top moves up;
// alloc aligns it, hands out [ptr, ptr+size) and grows memory by just the pages
// the block needs; free is a no-op; reset rewinds top. Addresses are uint64 so
// nothing wraps, as in the WAT guest.
package main

import "github.com/alloclab/alloclab/guests/tinygo/wasm"

// heapStart is the first address handed out: bump.wat's 64, shifted by wasm.Base.
const heapStart = wasm.Base + 64

var (
	top  uint64 = heapStart // the first free byte
	last uint32             // the most recent block, 0 when there is none
)

//export alloc
func alloc(size, align uint32) uint32 {
	ptr := (top + uint64(align) - 1) & -uint64(align)
	end := ptr + uint64(size)
	if end > uint64(wasm.Size())<<16 && !wasm.Fit(end) {
		return 0
	}
	top = end
	last = uint32(ptr)
	return last
}

// free is a no-op: blocks are reclaimed by reset only.
//
//export free
func free(ptr, size, align uint32) {}

// realloc grows or shrinks the most recent block in place; any other block moves.
//
//export realloc
func realloc(ptr, oldSize, align, newSize uint32) uint32 {
	if ptr == last && uint64(ptr)+uint64(oldSize) == top {
		end := uint64(ptr) + uint64(newSize)
		if !wasm.Fit(end) {
			return 0
		}
		top = end
		return ptr
	}
	q := alloc(newSize, align)
	if q != 0 {
		wasm.Copy(q, ptr, min(oldSize, newSize))
	}
	return q
}

//export reset
func reset() {
	top = heapStart
	last = 0
}

func main() {}
