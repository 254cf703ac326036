package boundary

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/tetratelabs/wazero/api"

	"github.com/alloclab/alloclab/harness/internal/bitmap"

	"github.com/alloclab/alloclab/harness"
)

// Checker is a Guest that checks every call it passes on against a shadow set of
// the live blocks: a block handed out must be non-zero, aligned, inside memory
// and disjoint from every live block; a block freed must be live, with the size
// and alignment it was allocated with. Freeing a block twice, or a pointer the
// guest never handed out, is an error and never reaches the guest. It also
// keeps the counts LeakCheck needs: the live bytes, their peak, and the set of
// blocks live at the peak.
//
// The checker does not look inside blocks: their owners fill and verify them
// (Owner.BeforeFree).
type Checker struct {
	g    Guest
	live map[uint32]checked // by pointer
	ever map[uint32]bool    // every pointer handed out, to name double frees
	used bitmap.Bits        // bit per byte of memory: inside a live block
	seq  uint64

	LiveBytes, PeakLiveBytes uint64
	LiveBlocks               int
	Allocs, Frees            int
	HeapEnd                  uint64 // highest end address of any block handed out

	peak      []Block // blocks live at the peak, in allocation order
	peakDirty bool    // a new peak was reached and peak is not yet its snapshot
}

type checked struct {
	size, align uint32
	seq         uint64
}

// Block is a block's size and alignment.
type Block = harness.Block

// NewChecker returns a checker passing calls on to g.
func NewChecker(g Guest) *Checker {
	return &Checker{g: g, live: map[uint32]checked{}, ever: map[uint32]bool{}}
}

// Memory returns the guest's memory.
func (c *Checker) Memory() api.Memory { return c.g.Memory() }

// Alloc calls the guest's alloc and checks the block it returns. 0, the guest
// being out of memory, is passed back without error.
func (c *Checker) Alloc(ctx context.Context, size, align uint32) (uint32, error) {
	p, err := c.g.Alloc(ctx, size, align)
	if err != nil || p == 0 {
		return p, err
	}
	end := uint64(p) + uint64(size)
	switch {
	case align != 0 && p%align != 0:
		return 0, fmt.Errorf("alloc(%d, %d) returned %#x, which is not aligned to %d", size, align, p, align)
	case end > uint64(c.g.Memory().Size()):
		return 0, fmt.Errorf("alloc(%d, %d) returned [%#x, %#x), out of bounds of the %d-byte memory", size, align, p, end, c.g.Memory().Size())
	}
	c.used.Cover(end)
	if c.used.Any(p, size) {
		q, b := c.owner(p, size)
		return 0, fmt.Errorf("alloc(%d, %d) returned [%#x, %#x), which overlaps the live block [%#x, %#x)", size, align, p, end, q, uint64(q)+uint64(b.size))
	}
	c.used.Set(p, size, true)
	c.seq++
	c.live[p] = checked{size, align, c.seq}
	c.ever[p] = true
	c.Allocs++
	c.LiveBlocks++
	c.LiveBytes += uint64(size)
	c.HeapEnd = max(c.HeapEnd, end)
	if c.LiveBytes > c.PeakLiveBytes {
		c.PeakLiveBytes = c.LiveBytes
		c.peakDirty = true
	}
	return p, nil
}

// Free checks that [ptr, ptr+size) is a live block allocated with align and
// frees it. A double or invalid free is an error and is not passed on.
func (c *Checker) Free(ctx context.Context, ptr, size, align uint32) error {
	b, ok := c.live[ptr]
	switch {
	case !ok && c.ever[ptr]:
		return fmt.Errorf("double free of %#x (size %d): the block was already freed", ptr, size)
	case !ok:
		return fmt.Errorf("invalid free of %#x (size %d): the guest never handed out that pointer", ptr, size)
	case b.size != size || b.align != align:
		return fmt.Errorf("free(%#x, %d, %d) of a block allocated as alloc(%d, %d)", ptr, size, align, b.size, b.align)
	}
	if c.peakDirty {
		c.peak = c.liveSet()
		c.peakDirty = false
	}
	delete(c.live, ptr)
	c.used.Set(ptr, size, false)
	c.Frees++
	c.LiveBlocks--
	c.LiveBytes -= uint64(size)
	return c.g.Free(ctx, ptr, size, align)
}

// IsLive reports whether [ptr, ptr+size) is a live block.
func (c *Checker) IsLive(ptr, size uint32) bool {
	b, ok := c.live[ptr]
	return ok && b.size == size
}

// PeakSet returns the blocks that were live when the live bytes peaked, in the
// order they were allocated.
func (c *Checker) PeakSet() []Block {
	if c.peakDirty {
		return c.liveSet()
	}
	return slices.Clone(c.peak)
}

func (c *Checker) liveSet() []Block {
	type entry struct {
		seq uint64
		b   Block
	}
	es := make([]entry, 0, len(c.live))
	for _, b := range c.live {
		es = append(es, entry{b.seq, Block{Size: b.size, Align: b.align}})
	}
	slices.SortFunc(es, func(x, y entry) int { return cmp.Compare(x.seq, y.seq) })
	out := make([]Block, len(es))
	for i, e := range es {
		out[i] = e.b
	}
	return out
}

// owner finds the live block overlapping [ptr, ptr+size), for the error message.
func (c *Checker) owner(ptr, size uint32) (uint32, checked) {
	end := uint64(ptr) + uint64(size)
	for q, b := range c.live {
		if uint64(q) < end && uint64(ptr) < uint64(q)+uint64(b.size) {
			return q, b
		}
	}
	return 0, checked{}
}
