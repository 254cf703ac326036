// Package trace is alloclab's model of a workload: a Trace is a deterministic
// sequence of allocator calls (Op, of a Kind), naming blocks by slot rather than by
// pointer so one trace replays against any guest.
//
// A Builder records a trace as a program would make it; Stats, LiveAfter and
// LowerResets are the facts and rewrites every user of a trace shares;
// Alignments is the standard trace that asks for every alignment the ABI allows.
// The package imports nothing of the lab: scenarios generates traces with it, the
// trace file codec reads and writes them, and the harness replays them.
package trace

import (
	"fmt"
	"math/rand/v2"
)

// Kind says which allocator call an Op makes.
type Kind uint8

// The kinds of Op, one per ABI call.
const (
	Alloc   Kind = iota + 1 // alloc(Size, Align) into an empty slot
	Free                    // free(slot's block, Size, Align), emptying the slot
	Realloc                 // realloc(slot's block, OldSize, Align, Size)
	Reset                   // reset(): every live block dies at once
	Mark                    // no call: the harness notes the memory size here
)

// String returns the call's name: alloc, free, realloc, reset or mark.
func (k Kind) String() string {
	switch k {
	case Alloc:
		return "alloc"
	case Free:
		return "free"
	case Realloc:
		return "realloc"
	case Reset:
		return "reset"
	case Mark:
		return "mark"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Op is one allocator call. Blocks are named by slot, not by pointer, so one trace
// replays against any guest: alloc fills a slot with whatever pointer the guest
// returns, and free and realloc use the pointer the slot holds.
type Op struct {
	Kind    Kind
	Slot    uint32
	Size    uint32 // alloc and free: the block's size; realloc: the new size
	Align   uint32 // a power of two from 1 to 4096
	OldSize uint32 // realloc only: the size before
}

// Trace is a deterministic sequence of allocator calls.
type Trace struct {
	Ops   []Op
	Slots int // slots used: one more than the largest Slot
}

// Stats are facts of a trace that hold for every correct guest.
type Stats struct {
	Allocs, Frees, Reallocs, Resets int
	PeakLiveBytes                   uint64
	AllocatedBytes                  uint64 // sum of alloc sizes and realloc growth
	LiveBlocks                      int    // blocks live at the end
}

// LiveAfter returns the bytes live after op, given live before it.
func LiveAfter(live uint64, op Op) uint64 {
	switch op.Kind {
	case Alloc:
		return live + uint64(op.Size)
	case Free:
		return live - uint64(op.Size)
	case Realloc:
		return live + uint64(op.Size) - uint64(op.OldSize)
	case Reset:
		return 0
	}
	return live
}

// Stats walks the trace once.
func (t *Trace) Stats() Stats {
	var s Stats
	var live uint64
	for _, op := range t.Ops {
		switch op.Kind {
		case Alloc:
			s.Allocs++
			live += uint64(op.Size)
			s.AllocatedBytes += uint64(op.Size)
			s.LiveBlocks++
		case Free:
			s.Frees++
			s.LiveBlocks--
			live -= uint64(op.Size)
		case Realloc:
			s.Reallocs++
			live += uint64(op.Size) - uint64(op.OldSize)
			if op.Size > op.OldSize {
				s.AllocatedBytes += uint64(op.Size - op.OldSize)
			}
		case Reset:
			s.Resets++
			live = 0
			s.LiveBlocks = 0
		}
		s.PeakLiveBytes = max(s.PeakLiveBytes, live)
	}
	return s
}

// LowerResets returns the trace with every Reset replaced by a Free of each block
// live at that point, newest first, for guests that export no reset.
func (t *Trace) LowerResets() *Trace {
	out := &Trace{Slots: t.Slots, Ops: make([]Op, 0, len(t.Ops))}
	var live []Op // the Alloc op (with current size) of each live slot, in order
	index := make([]int, t.Slots)
	for _, op := range t.Ops {
		switch op.Kind {
		case Alloc:
			index[op.Slot] = len(live)
			live = append(live, op)
		case Realloc:
			live[index[op.Slot]].Size = op.Size
		case Free:
			i := index[op.Slot]
			last := len(live) - 1
			live[i] = live[last]
			index[live[i].Slot] = i
			live = live[:last]
		case Reset:
			for i := len(live) - 1; i >= 0; i-- {
				out.Ops = append(out.Ops, Op{Kind: Free, Slot: live[i].Slot, Size: live[i].Size, Align: live[i].Align})
			}
			live = live[:0]
			continue
		}
		out.Ops = append(out.Ops, op)
	}
	return out
}

// Builder records a trace, naming each new block by a free slot and remembering
// each live block's size and alignment so frees and reallocs carry them.
type Builder struct {
	t      Trace
	blocks []Op     // per slot: the live block's size and align (Size 0: empty)
	empty  []uint32 // slots free for reuse, so the slot table stays as small as the live set
	live   []uint32 // live slots, in no order, for picking one at random
	at     []int    // position of each slot in live
}

// Alloc records alloc(size, align) and returns the new block's slot.
func (b *Builder) Alloc(size, align uint32) uint32 {
	if size == 0 {
		size = 1
	}
	var slot uint32
	if n := len(b.empty); n > 0 {
		slot = b.empty[n-1]
		b.empty = b.empty[:n-1]
	} else {
		slot = uint32(len(b.blocks))
		b.blocks = append(b.blocks, Op{})
		b.at = append(b.at, 0)
		b.t.Slots = len(b.blocks)
	}
	b.blocks[slot] = Op{Kind: Alloc, Slot: slot, Size: size, Align: align}
	b.at[slot] = len(b.live)
	b.live = append(b.live, slot)
	b.t.Ops = append(b.t.Ops, b.blocks[slot])
	return slot
}

// Free records the free of the block in slot.
func (b *Builder) Free(slot uint32) {
	blk := b.blocks[slot]
	if blk.Size == 0 {
		panic(fmt.Sprintf("trace: free of empty slot %d", slot))
	}
	b.t.Ops = append(b.t.Ops, Op{Kind: Free, Slot: slot, Size: blk.Size, Align: blk.Align})
	b.drop(slot)
}

// Realloc records the resize of the block in slot to size.
func (b *Builder) Realloc(slot, size uint32) {
	blk := &b.blocks[slot]
	if blk.Size == 0 {
		panic(fmt.Sprintf("trace: realloc of empty slot %d", slot))
	}
	if size == 0 {
		size = 1
	}
	b.t.Ops = append(b.t.Ops, Op{Kind: Realloc, Slot: slot, Size: size, Align: blk.Align, OldSize: blk.Size})
	blk.Size = size
}

// Mark records a point at which the harness notes the guest's memory size, so a
// scenario can report the pages one stretch of ops needed.
func (b *Builder) Mark() {
	b.t.Ops = append(b.t.Ops, Op{Kind: Mark})
}

// Reset records reset(): every live block dies.
func (b *Builder) Reset() {
	b.t.Ops = append(b.t.Ops, Op{Kind: Reset})
	for len(b.live) > 0 {
		b.drop(b.live[len(b.live)-1])
	}
}

// FreeAll records the free of every live block, the most recently listed first.
func (b *Builder) FreeAll() {
	for b.Live() > 0 {
		b.Free(b.LiveSlot(b.Live() - 1))
	}
}

// Live returns the number of live blocks.
func (b *Builder) Live() int { return len(b.live) }

// LiveSlot returns the i'th live slot (0 <= i < Live()), in an order that changes
// as blocks are freed.
func (b *Builder) LiveSlot(i int) uint32 { return b.live[i] }

// Size returns the size of the live block in slot.
func (b *Builder) Size(slot uint32) uint32 { return b.blocks[slot].Size }

// Len returns the number of ops recorded so far.
func (b *Builder) Len() int { return len(b.t.Ops) }

// Trace returns the recorded trace.
func (b *Builder) Trace() *Trace {
	t := b.t
	return &t
}

func (b *Builder) drop(slot uint32) {
	i := b.at[slot]
	last := b.live[len(b.live)-1]
	b.live[i] = last
	b.at[last] = i
	b.live = b.live[:len(b.live)-1]
	b.blocks[slot] = Op{}
	b.empty = append(b.empty, slot)
}

// Alignments returns a trace that asks for every alignment from 1 to 4096 at
// awkward sizes, with reallocs and frees between, and frees everything at the end.
func Alignments() *Trace {
	r := rand.New(rand.NewPCG(7, 7))
	var b Builder
	for i := 0; i < 2000; i++ {
		s := b.Alloc(1+uint32(r.IntN(3000)), 1<<r.IntN(13))
		switch r.IntN(4) {
		case 0:
			b.Free(s)
		case 1:
			b.Realloc(s, 1+uint32(r.IntN(6000)))
		}
	}
	b.FreeAll()
	return b.Trace()
}
