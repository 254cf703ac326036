package boundary

import (
	"context"
	"fmt"

	"github.com/alloclab/alloclab/harness"
)

// Leak is what LeakCheck found.
type Leak struct {
	// ProbeBytes and ProbeBlocks are the peak live set allocated back.
	ProbeBytes  uint64
	ProbeBlocks int
	// LostBytes and LostBlocks are the part of it the guest could not hand back
	// inside the memory it already held: blocks it placed in memory it had to
	// grow, or refused. A correct allocator that held the whole set once, in that
	// memory, and got every block back, loses nothing.
	LostBytes  uint64
	LostBlocks int
	// HeldPages is the memory the guest held after its workload freed everything:
	// wasm memory never shrinks, so these pages stay the instance's until it ends.
	HeldPages uint32
	// ProbeGrownPages is what the probe grew: the pages the loss costs now.
	ProbeGrownPages uint32
}

// LeakCheck measures what an allocator lost over a workload that freed every
// block it allocated: it allocates back peak, the blocks live at the workload's
// peak (their sizes and alignments, in order), and counts the bytes the guest
// could not hand back without growing its memory. A block counts as lost if
// alloc returns 0 or places it past the memory's size when the probe started;
// the probe lets the guest grow, so a guest that grows a page for its own use
// but still places the block in the old memory loses nothing. The probe frees
// its blocks again before it returns.
//
// This is cheaper and more telling than allocating until failure: it asks for
// exactly what the workload once had live, in the same sizes, so a lost byte is
// one the program would need again, and the pages held say what the loss costs.
// Slack hides a loss: bytes lost below the end of the memory are found only as
// far as the probe needs them.
func LeakCheck(ctx context.Context, g Guest, peak []Block) (*Leak, error) {
	mem := g.Memory()
	size0 := uint64(mem.Size())
	probe, ptrs, err := harness.ProbeLeak(peak, size0, func(size, align uint32) (uint32, error) {
		return g.Alloc(ctx, size, align)
	})
	// Free what the probe got, newest first, and report the first error.
	free := func() error {
		var first error
		for i := len(ptrs) - 1; i >= 0; i-- {
			if ptrs[i] != 0 {
				if err := g.Free(ctx, ptrs[i], peak[i].Size, peak[i].Align); err != nil && first == nil {
					first = err
				}
			}
		}
		return first
	}
	if err != nil {
		_ = free()
		return nil, fmt.Errorf("leak check: %w", err)
	}
	l := &Leak{ProbeBytes: probe.ProbeBytes, ProbeBlocks: probe.ProbeBlocks, LostBytes: probe.LostBytes,
		LostBlocks: probe.LostBlocks, HeldPages: uint32(size0 / harness.PageSize)}
	l.ProbeGrownPages = mem.Size()/harness.PageSize - l.HeldPages
	if err := free(); err != nil {
		return nil, fmt.Errorf("leak check: %w", err)
	}
	return l, nil
}

// LeakCheck runs LeakCheck on the checked guest with the peak live set it saw.
// Every block must have been freed.
func (c *Checker) LeakCheck(ctx context.Context) (*Leak, error) {
	if c.LiveBlocks != 0 {
		return nil, fmt.Errorf("leak check: %d blocks (%d bytes) are still live; the workload must free everything first", c.LiveBlocks, c.LiveBytes)
	}
	return LeakCheck(ctx, c, c.PeakSet())
}
