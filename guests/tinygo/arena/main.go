// Command arena is the TinyGo twin of guests/arena/arena.wat: the same
// algorithm with the same constants, exporting ABI v1 (guests/README.md).
//
// Memory is a list of chunks laid end to end, each whole 64 KiB pages on a page
// boundary, with a 16-byte header (next at +0, size at +4). The head chunk is
// the first page of the heap, at wasm.Base (arena.wat's address 0). alloc bumps
// inside the current chunk; when the request does not fit, the next chunk
// becomes current, a chunk too small absorbs the ones after it, and a chunk is
// appended only when the list runs out. free is a no-op; reset makes the head
// current again and keeps every chunk. Addresses are uint64 so nothing wraps.
package main

import "github.com/alloclab/alloclab/guests/tinygo/wasm"

// head is the head chunk; its header is written by init (arena.wat's data segment).
const head = wasm.Base

var (
	cur   uint32 = head           // the current chunk
	bump  uint64 = head + 16      // the next free byte in it
	limit uint64 = head + 0x10000 // its end
	tail  uint32 = head           // the last chunk of the list
	last  uint32                  // the most recent block, 0 when there is none
)

func init() {
	wasm.Store(head+4, 0x10000) // next = 0 (zeroed memory), size = one page
}

// take places [p, p+size) at the first align boundary after chunk c's header.
// If it fits, c becomes the current chunk and p is returned; else 0.
func take(c, size, align uint32) uint32 {
	p := (uint64(c) + 16 + uint64(align) - 1) & -uint64(align)
	end := p + uint64(size)
	lim := uint64(c) + uint64(wasm.Load(c+4))
	if end > lim {
		return 0
	}
	cur = c
	bump = end
	limit = lim
	last = uint32(p)
	return last
}

// chunkBytes is the size a chunk at base needs for (size, align): header,
// padding, the block, rounded up to whole pages (at least one).
func chunkBytes(base uint64, size, align uint32) uint64 {
	p := (base + uint64(align) - 1 + 16) & -uint64(align)
	return (p - base + uint64(size) + 0xFFFF) &^ 0xFFFF
}

// allocSlow runs when the current chunk is full: take cur.next if it fits, else
// merge the chunk after it into it and retry; grow the tail by the pages it
// lacks; append a new chunk when cur is the tail.
func allocSlow(size, align uint32) uint32 {
	c := wasm.Load(cur)
	if c == 0 {
		base := uint64(tail) + uint64(wasm.Load(tail+4))
		bytes := chunkBytes(base, size, align)
		if !wasm.Fit(base + bytes) {
			return 0
		}
		c = uint32(base)
		wasm.Store(c, 0)
		wasm.Store(c+4, uint32(bytes))
		wasm.Store(tail, c)
		tail = c
		return take(c, size, align)
	}
	for {
		if p := take(c, size, align); p != 0 {
			return p
		}
		n := wasm.Load(c)
		if n == 0 {
			break
		}
		wasm.Store(c+4, wasm.Load(c+4)+wasm.Load(n+4))
		wasm.Store(c, wasm.Load(n))
		if n == tail {
			tail = c
		}
	}
	bytes := chunkBytes(uint64(c), size, align)
	if !wasm.Fit(uint64(c) + bytes) {
		return 0
	}
	wasm.Store(c+4, uint32(bytes))
	return take(c, size, align)
}

//export alloc
func alloc(size, align uint32) uint32 {
	p := (bump + uint64(align) - 1) & -uint64(align)
	end := p + uint64(size)
	if end > limit {
		return allocSlow(size, align)
	}
	bump = end
	last = uint32(p)
	return last
}

// free is a no-op: blocks are reclaimed by reset only.
//
//export free
func free(ptr, size, align uint32) {}

// realloc resizes the last block of the current chunk in place while it fits
// there, and moves any other block.
//
//export realloc
func realloc(ptr, oldSize, align, newSize uint32) uint32 {
	if ptr == last && uint64(ptr)+uint64(oldSize) == bump {
		if end := uint64(ptr) + uint64(newSize); end <= limit {
			bump = end
			return ptr
		}
	}
	q := alloc(newSize, align)
	if q != 0 {
		wasm.Copy(q, ptr, min(oldSize, newSize))
	}
	return q
}

//export reset
func reset() {
	cur = head
	bump = head + 16
	limit = head + uint64(wasm.Load(head+4))
	last = 0
}

func main() {}
