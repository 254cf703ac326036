// Command pool is the TinyGo twin of guests/pool/pool.wat: the same algorithm
// with the same constants, exporting ABI v1 (guests/README.md).
//
// Requests of s = max(size, align) <= 2048 go to 14 size classes from 16 B to
// 2 KiB, each a LIFO free list threaded through its free blocks and carved from
// 16 KiB slabs; anything larger (or align 4096) goes to runs of 4 KiB pages on
// an address-ordered, first-fit, coalescing list of free runs (run+0 next,
// run+4 length in pages). pool.wat keeps its control data in the first 4 KiB of
// memory; here it is the twin's globals, and the heap starts 4 KiB into the
// page at wasm.Base, as pool.wat's starts at 0x1000. See pool.wat for the full
// picture: every function here is one of its functions, in the same order.
package main

import "github.com/alloclab/alloclab/guests/tinygo/wasm"

// heap is pool.wat's 0x1000: the first 4 KiB page of slabs and runs.
const heap = wasm.Base + 0x1000

// classSize holds the 14 classes; classOf[(s+15)>>4] is the smallest class >= s.
var (
	classSize = [14]uint32{16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048}
	classOf   = [129]uint8{
		0, 0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7, 7,
		7, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9,
		9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
		10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
		11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
		12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
		12, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
		13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
		13,
	}
)

var (
	ready    bool       // the initial pages are on the free-run list
	runHead  uint32     // the first free run; 0 when there is none
	freeList [14]uint32 // per class: the first free block
	slabNext [14]uint32 // per class: the next block to carve from its slab
	slabLeft [14]uint32 // per class: the bytes left in its slab
)

// setup puts the pages memory already has, above pool.wat's control page, on
// the free-run list.
func setup() {
	ready = true
	if pages := wasm.Size()<<4 - heap>>12; pages > 0 {
		runFree(heap, pages)
	}
}

// req widens a request to s = max(size, align).
func req(size, align uint32) uint32 { return max(size, align) }

// pages is ceil(s / 4096), without overflow.
func pages(s uint32) uint32 {
	n := s >> 12
	if s&4095 != 0 {
		n++
	}
	return n
}

// class is the smallest class >= s (1 <= s <= 2048) whose blocks are aligned to
// align: only a 1.5x class can be too loosely aligned, and the next class is then
// a power of two >= s, so the loop steps at most once.
func class(s, align uint32) uint32 {
	idx := uint32(classOf[(s+15)>>4])
	for {
		c := classSize[idx]
		if c&-c >= align {
			return idx
		}
		idx++
	}
}

// bucket names where a request lives, for realloc: its class for small
// requests, 16 + its page count for runs.
func bucket(size, align uint32) uint32 {
	if s := req(size, align); s <= 2048 {
		return class(s, align)
	} else {
		return pages(s) + 16
	}
}

// runFree puts the run of n pages at addr on the free-run list, in address
// order, merged with the free runs right below and right above it. link is the
// word that points at cur: runHead, or the next field of the run before cur.
func runFree(addr, n uint32) {
	page := addr >> 12
	head := wasm.Ptr(&runHead)
	link := head
	cur := runHead
	for cur != 0 && cur <= addr {
		link = cur
		cur = wasm.Load(cur)
	}
	next := cur
	if cur != 0 && page+n == cur>>12 {
		n += wasm.Load(cur + 4)
		next = wasm.Load(cur)
	}
	if link != head && link>>12+wasm.Load(link+4) == page {
		wasm.Store(link+4, wasm.Load(link+4)+n)
		wasm.Store(link, next)
		return
	}
	wasm.Store(addr, next)
	wasm.Store(addr+4, n)
	wasm.Store(link, addr)
}

// runTake returns the first free run of at least n pages, split so that only n
// pages leave the list, or 0 if no free run is long enough.
func runTake(n uint32) uint32 {
	link := wasm.Ptr(&runHead)
	for {
		cur := wasm.Load(link)
		if cur == 0 {
			return 0
		}
		if m := wasm.Load(cur + 4); m >= n {
			if m == n {
				wasm.Store(link, wasm.Load(cur))
			} else {
				rest := cur + n<<12
				wasm.Store(rest, wasm.Load(cur))
				wasm.Store(rest+4, m-n)
				wasm.Store(link, rest)
			}
			return cur
		}
		link = cur
	}
}

// runAlloc returns a run of n pages, growing memory by just what is missing
// when no free run fits (the highest free run counts if it reaches the end of
// memory); 0 if memory cannot grow.
func runAlloc(n uint32) uint32 {
	if p := runTake(n); p != 0 {
		return p
	}
	need := n
	if last := runHead; last != 0 {
		for wasm.Load(last) != 0 {
			last = wasm.Load(last)
		}
		if last>>12+wasm.Load(last+4) == wasm.Size()<<4 {
			need = n - wasm.Load(last+4)
		}
	}
	w := (need + 15) >> 4
	old := wasm.Grow(w)
	if old == -1 {
		return 0
	}
	runFree(uint32(old)<<16, w<<4)
	return runTake(n)
}

// smallAlloc returns a block of class idx: from its free list, else carved from
// its slab, else from a new 16 KiB slab; 0 if out of memory.
func smallAlloc(idx uint32) uint32 {
	if p := freeList[idx]; p != 0 {
		freeList[idx] = wasm.Load(p)
		return p
	}
	c := classSize[idx]
	if left := slabLeft[idx]; left >= c {
		p := slabNext[idx]
		slabNext[idx] = p + c
		slabLeft[idx] = left - c
		return p
	}
	p := runAlloc(4)
	if p == 0 {
		return 0
	}
	slabNext[idx] = p + c
	slabLeft[idx] = 16384 - c
	return p
}

//export alloc
func alloc(size, align uint32) uint32 {
	if !ready {
		setup()
	}
	if align > 4096 {
		return 0
	}
	s := req(size, align)
	if s <= 2048 {
		return smallAlloc(class(s, align))
	}
	return runAlloc(pages(s))
}

// free takes the class or the run length from the size and align passed.
//
//export free
func free(ptr, size, align uint32) {
	if ptr == 0 {
		return
	}
	s := req(size, align)
	if s <= 2048 {
		idx := class(s, align)
		wasm.Store(ptr, freeList[idx])
		freeList[idx] = ptr
		return
	}
	runFree(ptr, pages(s))
}

// realloc keeps the block when the new size maps to the same class or run
// length; otherwise it moves the first min(old, new) bytes and frees the old
// block. On failure it returns 0 and the old block stays live.
//
//export realloc
func realloc(ptr, oldSize, align, newSize uint32) uint32 {
	if ptr == 0 {
		return alloc(newSize, align)
	}
	if bucket(oldSize, align) == bucket(newSize, align) {
		return ptr
	}
	q := alloc(newSize, align)
	if q == 0 {
		return 0
	}
	wasm.Copy(q, ptr, min(oldSize, newSize))
	free(ptr, oldSize, align)
	return q
}

func main() {}
