package tracefile

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/alloclab/alloclab/trace"
)

// DefaultAlign is the alignment recorded for a block whose allocator call names
// none (malloc, calloc, realloc): 16 for sizes of 16 bytes or more and 8 below,
// what glibc's malloc guarantees on 64-bit systems and what the C standard asks of
// a block that size (wasi-libc's malloc gives 16 to every block).
func DefaultAlign(size uint64) uint32 {
	if size >= 16 {
		return 16
	}
	return 8
}

// Events converts a sequence of pointer-based allocator events into a slot-based
// trace. Each live pointer gets a slot from a trace.Builder, which reuses
// freed slots, so the trace's slot table stays as small as the most blocks live
// at once.
//
// What a recorder sees is not always a trace every guest can replay; Events
// applies these policies and counts each case in Skipped:
//
//   - a free of a pointer never seen (allocated before recording began, or by an
//     allocator the recorder does not see) is left out;
//   - a realloc of such a pointer is recorded as an alloc of the new block, with
//     DefaultAlign;
//   - a block larger than MaxSize (2 GiB - 1, wasm32's PTRDIFF_MAX) is left out,
//     with its later frees and reallocs; a realloc that grows a block beyond it
//     is recorded as the block's free;
//   - an alloc that returns a pointer still live (events logged out of order by a
//     multithreaded program) frees the old block first;
//   - a failed alloc or realloc (null result) records nothing;
//   - an alignment above 4096 (the ABI's limit) is recorded as 4096, one that is
//     not a power of two is rounded up to one, and 0 is taken as 1;
//   - a size of 0 is recorded as 1, as the ABI asks;
//   - once MaxOps ops are recorded, later events are ignored and Trace frees every
//     block live at the cut.
//
// A realloc keeps the block's first alignment, as the ABI's realloc does.
type Events struct {
	// MaxOps, if positive, stops recording after that many ops.
	MaxOps int

	b       trace.Builder
	slots   map[uint64]uint32   // live pointer -> slot
	dropped map[uint64]struct{} // live pointers of blocks left out as too large
	cut     bool

	Skipped Skipped
}

// Skipped counts the events Events left out or changed.
type Skipped struct {
	UnknownFrees    int // frees of pointers never seen: left out
	UnknownReallocs int // reallocs of pointers never seen: recorded as allocs
	TooLarge        int // allocs or reallocs above MaxSize: the block is left out
	TooLargeOps     int // later frees and reallocs of those blocks: left out
	LiveReused      int // allocs returning a live pointer: the old block freed first
	Failed          int // allocs and reallocs that returned null: nothing recorded
	AlignAdjusted   int // alignments clamped to 4096 or rounded up to a power of two
	AfterCut        int // events after MaxOps: ignored
	FreedAtCut      int // blocks live at the cut, freed at the end of the trace
}

func (e *Events) init() bool {
	if e.slots == nil {
		e.slots = make(map[uint64]uint32)
		e.dropped = make(map[uint64]struct{})
	}
	if e.MaxOps > 0 && e.b.Len() >= e.MaxOps {
		e.cut = true
		e.Skipped.AfterCut++
		return false
	}
	return true
}

// Len returns the number of ops recorded so far.
func (e *Events) Len() int { return e.b.Len() }

// Live returns the number of blocks live now.
func (e *Events) Live() int { return e.b.Live() }

func (e *Events) align(a uint64) uint32 {
	switch {
	case a == 0:
		return 1
	case a > 4096:
		e.Skipped.AlignAdjusted++
		return 4096
	case a&(a-1) != 0:
		e.Skipped.AlignAdjusted++
		return 1 << bits.Len64(a)
	}
	return uint32(a)
}

// Alloc records that an allocator returned block ptr of size bytes aligned to
// align. A ptr of 0 is a failed alloc.
func (e *Events) Alloc(ptr, size, align uint64) {
	if !e.init() {
		return
	}
	if ptr == 0 {
		e.Skipped.Failed++
		return
	}
	e.forget(ptr)
	if size > MaxSize {
		e.Skipped.TooLarge++
		e.dropped[ptr] = struct{}{}
		return
	}
	e.slots[ptr] = e.b.Alloc(uint32(size), e.align(align))
}

// forget frees the block at ptr, if live, before ptr is handed out again.
func (e *Events) forget(ptr uint64) {
	if slot, ok := e.slots[ptr]; ok {
		e.Skipped.LiveReused++
		e.b.Free(slot)
		delete(e.slots, ptr)
	}
	if _, ok := e.dropped[ptr]; ok {
		e.Skipped.LiveReused++
		delete(e.dropped, ptr)
	}
}

// Free records the free of the block at ptr. A ptr of 0 is ignored.
func (e *Events) Free(ptr uint64) {
	if ptr == 0 || !e.init() {
		return
	}
	if slot, ok := e.slots[ptr]; ok {
		e.b.Free(slot)
		delete(e.slots, ptr)
		return
	}
	if _, ok := e.dropped[ptr]; ok {
		e.Skipped.TooLargeOps++
		delete(e.dropped, ptr)
		return
	}
	e.Skipped.UnknownFrees++
}

// Realloc records that the block at old was resized to size bytes and is now at
// new (which may equal old). An old of 0 is an alloc; a new of 0 a failed realloc,
// which leaves the old block live.
func (e *Events) Realloc(old, new, size uint64) {
	if old == 0 {
		e.Alloc(new, size, uint64(DefaultAlign(size)))
		return
	}
	if !e.init() {
		return
	}
	if new == 0 {
		e.Skipped.Failed++
		return
	}
	slot, ok := e.slots[old]
	if !ok {
		if _, big := e.dropped[old]; big {
			e.Skipped.TooLargeOps++
			delete(e.dropped, old)
			e.forget(new)
			e.dropped[new] = struct{}{}
			return
		}
		e.Skipped.UnknownReallocs++
		e.Alloc(new, size, uint64(DefaultAlign(size)))
		return
	}
	delete(e.slots, old)
	if new != old {
		e.forget(new)
	}
	if size > MaxSize {
		e.Skipped.TooLarge++
		e.b.Free(slot)
		e.dropped[new] = struct{}{}
		return
	}
	e.b.Realloc(slot, uint32(size))
	e.slots[new] = slot
}

// FreeLive records the free of every block live now and returns how many.
func (e *Events) FreeLive() int {
	n := e.b.Live()
	for e.b.Live() > 0 {
		e.b.Free(e.b.LiveSlot(e.b.Live() - 1))
	}
	clear(e.slots)
	clear(e.dropped)
	return n
}

// Trace returns the trace recorded. If the recording was cut at MaxOps, it first
// frees every block live at the cut. Blocks the program never freed otherwise stay
// live at the end, as they did in the program.
func (e *Events) Trace() *trace.Trace {
	if e.cut && e.b.Live() > 0 {
		e.Skipped.FreedAtCut += e.FreeLive()
	}
	return e.b.Trace()
}

// String describes what was skipped, for a trace's notes and for warnings; it is
// empty if nothing was.
func (s Skipped) String() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.UnknownFrees, "frees of pointers never allocated (left out)")
	add(s.UnknownReallocs, "reallocs of pointers never allocated (recorded as allocs)")
	add(s.TooLarge, fmt.Sprintf("blocks larger than %d bytes (left out)", MaxSize))
	add(s.TooLargeOps, "frees and reallocs of those blocks (left out)")
	add(s.LiveReused, "allocs returning a pointer still live (old block freed first)")
	add(s.Failed, "failed allocs or reallocs (nothing recorded)")
	add(s.AlignAdjusted, "alignments clamped to 4096 or rounded up to a power of two")
	add(s.AfterCut, "events after the op limit (ignored)")
	add(s.FreedAtCut, "blocks live at the cut (freed at the end)")
	return strings.Join(parts, "; ")
}
