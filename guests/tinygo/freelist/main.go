// Command freelist is the TinyGo twin of guests/freelist/freelist.wat: the same
// algorithm with the same constants, exporting ABI v1 (guests/README.md).
//
// First fit over an explicit, doubly linked LIFO list of free blocks, splitting
// and boundary-tag coalescing. Every block [b, b+size) carries the tag size|used
// in its first and last word; a free block's next and prev links are at b+4 and
// b+8. Headers sit at 4 mod 8 so payloads are 8-aligned; the smallest block is
// 16 bytes. A used prologue of 8 bytes at heap+68 and a used epilogue in the
// last word of memory spare every bounds check; no two free blocks are ever
// adjacent. See freelist.wat for the full picture: every function here is one
// of its functions, in the same order.
package main

import "github.com/alloclab/alloclab/guests/tinygo/wasm"

// heap is freelist.wat's address 0: the prologue is at heap+68, the first block
// at heap+76 (payload heap+80).
const heap = wasm.Base

var (
	heapEnd  uint32 // the epilogue, the last word of memory; 0 until setup
	freeHead uint32 // the first block on the free list; 0 when it is empty
)

func load(a uint32) uint32      { return wasm.Load(a) }
func store(a, v uint32)         { wasm.Store(a, v) }
func blockSize(b uint32) uint32 { return load(b) &^ 7 }

// setBlock writes the tag size|used into header and footer of [b, b+size).
func setBlock(b, size, used uint32) {
	tag := size | used
	store(b, tag)
	store(b+size-4, tag)
}

// push puts free block b at the front of the list.
func push(b uint32) {
	store(b+4, freeHead)
	store(b+8, 0)
	if freeHead != 0 {
		store(freeHead+8, b)
	}
	freeHead = b
}

// unlink takes free block b off the list, wherever it is.
func unlink(b uint32) {
	next, prev := load(b+4), load(b+8)
	if prev != 0 {
		store(prev+4, next)
	} else {
		freeHead = next
	}
	if next != 0 {
		store(next+8, prev)
	}
}

// setup lays out prologue, one free block over the rest of memory, and epilogue.
func setup() {
	end := wasm.Size()<<16 - 4
	setBlock(heap+68, 8, 1)
	store(end, 1)
	setBlock(heap+76, end-(heap+76), 0)
	push(heap + 76)
	heapEnd = end
}

// growHeap makes memory at least req bytes long, growing by the fewest pages,
// and moves the epilogue to the new last word. It stops at 65535 pages.
func growHeap(req uint64) bool {
	if req > 0xFFFF0000 {
		return false
	}
	if have := uint64(wasm.Size()) << 16; req > have {
		if wasm.Grow(uint32((req-have+0xFFFF)>>16)) == -1 {
			return false
		}
	}
	end := wasm.Size()<<16 - 4
	store(end, 1)
	heapEnd = end
	return true
}

// take turns [b, b+total) into a used block for need bytes, splitting off a
// tail of 16 bytes or more as a free block.
func take(b, total, need uint32) {
	if rest := total - need; rest >= 16 {
		setBlock(b, need, 1)
		setBlock(b+need, rest, 0)
		push(b + need)
	} else {
		setBlock(b, total, 1)
	}
}

// place carves the used block with payload p out of free block b and returns p.
// The front [b, p-4) is split off when 16 bytes or more, else (8 bytes) given
// to the used block before b.
func place(b, p, need uint32) uint32 {
	total := blockSize(b)
	unlink(b)
	if front := p - 4 - b; front != 0 {
		if front >= 16 {
			setBlock(b, front, 0)
			push(b)
		} else {
			left := load(b-4) &^ 7
			setBlock(b-left, left+front, 1)
		}
		b = p - 4
		total -= front
	}
	take(b, total, need)
	return p
}

// payloadAt is the lowest payload address at or after b+4 that is a multiple
// of align, in 64 bits so it cannot wrap.
func payloadAt(b, align uint32) uint64 {
	mask := uint64(align - 1)
	return (uint64(b) + 4 + mask) &^ mask
}

// fit is the aligned payload address if free block b can hold a used block of
// need bytes, else 0.
func fit(b, need, align uint32) uint32 {
	if align == 8 {
		if blockSize(b) >= need {
			return b + 4
		}
		return 0
	}
	p := payloadAt(b, align)
	if p+uint64(need)-4 <= uint64(b+blockSize(b)) {
		return uint32(p)
	}
	return 0
}

// find walks the free list, first fit, and places the block in the first free
// block that can hold it; 0 if none can.
func find(need, align uint32) uint32 {
	for b := freeHead; b != 0; b = load(b + 4) {
		if p := fit(b, need, align); p != 0 {
			return place(b, p, need)
		}
	}
	return 0
}

// allocBlock returns the payload of a used block of need bytes, from the free
// list, else from new memory (extending the last block if it is free); 0 if
// memory cannot grow.
func allocBlock(need, align uint32) uint32 {
	if p := find(need, align); p != 0 {
		return p
	}
	oldEnd := heapEnd
	lastTag := load(oldEnd - 4)
	start := oldEnd
	if lastTag&1 == 0 {
		start = oldEnd - lastTag
	}
	p := payloadAt(start, align)
	if !growHeap(p + uint64(need)) {
		return 0
	}
	setBlock(start, heapEnd-start, 0)
	if start == oldEnd {
		push(start)
	}
	return place(start, uint32(p), need)
}

// release frees the block at b and merges it with a free neighbour on either side.
func release(b uint32) {
	size := blockSize(b)
	if tag := load(b + size); tag&1 == 0 {
		unlink(b + size)
		size += tag
	}
	if tag := load(b - 4); tag&1 == 0 {
		// The left block grows over this one; clearing the old header makes a
		// second free of this pointer see a free tag.
		store(b, 0)
		b -= tag
		setBlock(b, size+tag, 0)
	} else {
		setBlock(b, size, 0)
		push(b)
	}
}

// blockAlign is the alignment to use, at least 8; 0 if align is not a power of two.
func blockAlign(align uint32) uint32 {
	if align&(align-1) != 0 {
		return 0
	}
	return max(align, 8)
}

// blockBytes is the block size for a payload of size bytes, tags included:
// (size + 8) rounded up to 8, at least 16; 0 if size + 15 would wrap.
func blockBytes(size uint32) uint32 {
	if size > 0xFFFFFFE0 {
		return 0
	}
	return max((size+15)&^7, 16)
}

//export alloc
func alloc(size, align uint32) uint32 {
	if heapEnd == 0 {
		setup()
	}
	align = blockAlign(align)
	need := blockBytes(size)
	if align == 0 || need == 0 {
		return 0
	}
	return allocBlock(need, align)
}

// free ignores size and align: the header knows the size. A block whose tag
// says free is not freed again.
//
//export free
func free(ptr, size, align uint32) {
	if ptr == 0 {
		return
	}
	if b := ptr - 4; load(b)&1 != 0 {
		release(b)
	}
}

// realloc shrinks in place; grows in place over a free right neighbour; grows a
// block at the end of the heap with memory unless a free block fits; else moves.
// On failure it returns 0 and the old block is untouched.
//
//export realloc
func realloc(ptr, oldSize, align, newSize uint32) uint32 {
	if ptr == 0 {
		return alloc(newSize, align)
	}
	align = blockAlign(align)
	need := blockBytes(newSize)
	if align == 0 || need == 0 {
		return 0
	}
	b := ptr - 4
	size := blockSize(b)

	// 1. Shrink, or no change of block size.
	if need <= size {
		if size-need >= 16 {
			setBlock(b, need, 1)
			next := b + need
			setBlock(next, size-need, 1)
			release(next)
		}
		return ptr
	}

	// 2. Grow over a free right neighbour.
	next := b + size
	tag := load(next)
	room := size
	if tag&1 == 0 {
		room = size + tag
		if room >= need {
			unlink(next)
			take(b, room, need)
			return ptr
		}
	}

	var q uint32
	if b+room == heapEnd {
		// 3. Last in the heap: a free block that fits wins over growing memory.
		q = find(need, align)
		if q == 0 {
			if !growHeap(uint64(b) + uint64(need+4)) {
				return 0
			}
			if tag&1 == 0 {
				unlink(next)
			}
			take(b, heapEnd-b, need)
			return ptr
		}
	} else {
		// 4. Move anywhere.
		q = allocBlock(need, align)
		if q == 0 {
			return 0
		}
	}
	wasm.Copy(q, ptr, min(oldSize, newSize, size-8))
	release(b)
	return q
}

func main() {}
