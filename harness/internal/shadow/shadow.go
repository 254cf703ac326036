// Package shadow checks every block an allocator hands out against a shadow of
// the live blocks, and counts what the deterministic metrics need.
//
// A Checker keeps one bit per byte of guest memory (set where a live block lies)
// and the pointer, size and fill pattern of each live slot. At alloc it checks
// that the block is non-zero, aligned, inside memory and disjoint from every live
// block, then fills it; at free it checks the fill is intact, so a guest that
// corrupts a neighbour, or hands out a block shorter than asked, is caught.
package shadow

import (
	"bytes"
	"fmt"
	"math/bits"

	"github.com/alloclab/alloclab/harness/internal/bitmap"
)

// Memory is the guest memory the checker reads and writes; wazero's api.Memory
// satisfies it.
type Memory interface {
	Size() uint32
	Read(offset, byteCount uint32) ([]byte, bool)
}

// pattern is the fill source: block bytes are pattern[off+i] for the block's off,
// repeating every patternPeriod bytes.
var pattern = Pattern(patternOffsets + patternPeriod)

// Pattern returns the first n bytes of the xorshift sequence the checker fills
// blocks with, for other checkers (package boundary's) to fill theirs the same way.
func Pattern(n int) []byte {
	p := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return p
}

const (
	patternOffsets = 4093 // prime, so neighbours rarely share a phase
	patternPeriod  = 1 << 16
)

type block struct {
	ptr, size uint32
	off       uint32 // phase in pattern
	op        int    // op that allocated it
}

// Checker shadows one guest instance's live blocks.
type Checker struct {
	mem    Memory
	fill   bool        // write and verify fill patterns
	used   bitmap.Bits // bit per byte of memory: inside a live block
	blocks []block     // per slot

	LiveBytes, PeakLiveBytes uint64
	HeapEnd                  uint64 // highest end address of any block handed out
	LiveBlocks               int
}

// New returns a checker for mem with slots slots. With fill off it still checks
// placement but not contents.
func New(mem Memory, slots int, fill bool) *Checker {
	return &Checker{mem: mem, fill: fill, blocks: make([]block, slots)}
}

// Allocated checks the block ptr that alloc(size, align) returned into slot at op.
func (c *Checker) Allocated(op int, slot, size, align, ptr uint32) error {
	if err := c.place(op, slot, size, align, ptr); err != nil {
		return err
	}
	if c.fill {
		return c.paint(slot, 0)
	}
	return nil
}

// Freeing checks the block in slot before it is freed and forgets it.
func (c *Checker) Freeing(op int, slot uint32) error {
	if err := c.verify(op, slot, c.blocks[slot].size); err != nil {
		return err
	}
	c.remove(slot)
	return nil
}

// Reallocated checks the block ptr that realloc returned for slot, which held
// oldSize bytes and now holds newSize: its first min(old, new) bytes must be the
// old contents, wherever it moved.
func (c *Checker) Reallocated(op int, slot, newSize, align, ptr uint32) error {
	old := c.blocks[slot]
	keep := min(old.size, newSize)
	c.remove(slot)
	if err := c.place(op, slot, newSize, align, ptr); err != nil {
		return err
	}
	c.blocks[slot].off = old.off
	if err := c.verify(op, slot, keep); err != nil {
		return err
	}
	if c.fill {
		return c.paint(slot, keep)
	}
	return nil
}

// Resetting checks every live block before reset() frees them all.
func (c *Checker) Resetting(op int) error {
	for slot := range c.blocks {
		if c.blocks[slot].size == 0 {
			continue
		}
		if err := c.verify(op, uint32(slot), c.blocks[slot].size); err != nil {
			return err
		}
		c.remove(uint32(slot))
	}
	return nil
}

// Live calls fn for every live block.
func (c *Checker) Live(fn func(slot, ptr, size uint32)) {
	for slot, b := range c.blocks {
		if b.size != 0 {
			fn(uint32(slot), b.ptr, b.size)
		}
	}
}

func (c *Checker) place(op int, slot, size, align, ptr uint32) error {
	end := uint64(ptr) + uint64(size)
	switch {
	case ptr == 0:
		return fmt.Errorf("returned 0 for a block that was allocated")
	case align != 0 && ptr%align != 0:
		return fmt.Errorf("block %#x is not aligned to %d", ptr, align)
	case end > uint64(c.mem.Size()):
		return fmt.Errorf("block [%#x, %#x) is out of bounds: memory is %d bytes", ptr, end, c.mem.Size())
	}
	c.used.Cover(end)
	if c.used.Any(ptr, size) {
		other := c.owner(ptr, size)
		return fmt.Errorf("block [%#x, %#x) overlaps live block [%#x, %#x) from op %d",
			ptr, end, other.ptr, uint64(other.ptr)+uint64(other.size), other.op)
	}
	c.used.Set(ptr, size, true)
	c.blocks[slot] = block{ptr: ptr, size: size, off: uint32(op % patternOffsets), op: op}
	c.LiveBytes += uint64(size)
	c.LiveBlocks++
	c.PeakLiveBytes = max(c.PeakLiveBytes, c.LiveBytes)
	c.HeapEnd = max(c.HeapEnd, end)
	return nil
}

func (c *Checker) remove(slot uint32) {
	b := c.blocks[slot]
	c.used.Set(b.ptr, b.size, false)
	c.LiveBytes -= uint64(b.size)
	c.LiveBlocks--
	c.blocks[slot] = block{}
}

// paint fills the block in slot from byte from onwards.
func (c *Checker) paint(slot, from uint32) error {
	b := c.blocks[slot]
	buf, ok := c.mem.Read(b.ptr, b.size)
	if !ok {
		return fmt.Errorf("block [%#x, +%d) cannot be read", b.ptr, b.size)
	}
	for i := from; i < b.size; {
		src := pattern[b.off+i%patternPeriod : b.off+patternPeriod]
		i += uint32(copy(buf[i:], src))
	}
	return nil
}

// verify checks the first n bytes of the block in slot still hold its fill.
func (c *Checker) verify(op int, slot, n uint32) error {
	if !c.fill || n == 0 {
		return nil
	}
	b := c.blocks[slot]
	buf, ok := c.mem.Read(b.ptr, n)
	if !ok {
		return fmt.Errorf("block [%#x, +%d) from op %d is no longer inside memory", b.ptr, n, b.op)
	}
	for i := uint32(0); i < n; {
		src := pattern[b.off+i%patternPeriod : b.off+patternPeriod]
		k := min(uint32(len(src)), n-i)
		if !bytes.Equal(buf[i:i+k], src[:k]) {
			j := i
			for buf[j] == src[j-i] {
				j++
			}
			return fmt.Errorf("block [%#x, %#x) from op %d was corrupted at byte %d (%#x): its contents changed while it was live",
				b.ptr, uint64(b.ptr)+uint64(b.size), b.op, j, b.ptr+j)
		}
		i += k
	}
	return nil
}

// owner finds a live block overlapping [ptr, ptr+size), for the error message.
func (c *Checker) owner(ptr, size uint32) block {
	end := uint64(ptr) + uint64(size)
	for _, b := range c.blocks {
		if b.size != 0 && uint64(b.ptr) < end && uint64(ptr) < uint64(b.ptr)+uint64(b.size) {
			return b
		}
	}
	return block{}
}

// OSPageSize is the page DiscardableBytes counts in: the host's, not wasm's.
const OSPageSize = 4096

// DiscardableBytes returns the bytes of the 4 KiB pages of memory that hold no
// live byte: what memory.discard, or the host's madvise, could return now if the
// allocator said which pages it does not need. It is an upper bound: the guest's
// static data and stack, and the allocator's own metadata (often kept inside free
// blocks), also lie in pages the map calls empty.
func (c *Checker) DiscardableBytes() uint64 {
	return c.used.EmptySpans(uint64(c.mem.Size()), OSPageSize)
}

// CellLive returns the live bytes in each cell of cellBytes bytes covering
// [0, memBytes): the data of a heap map.
func (c *Checker) CellLive(memBytes uint64, cellBytes uint32) []uint32 {
	cells := make([]uint32, (memBytes+uint64(cellBytes)-1)/uint64(cellBytes))
	for w, word := range c.used {
		if word == 0 {
			continue
		}
		addr := uint64(w) * 64
		if addr >= memBytes {
			break
		}
		// cellBytes is a multiple of 64, so a word lies in one cell.
		cells[addr/uint64(cellBytes)] += uint32(bits.OnesCount64(word))
	}
	return cells
}
