package boundary

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Way is how a scenario moves data or releases blocks.
type Way string

// The ways of boundary-copy and host-handles.
const (
	WayCopy           Way = "copy"             // alloc, Memory.Write, read back by copy, free
	WayView           Way = "view"             // alloc, write and read in place through Memory.Read's slice, free
	WayPooled         Way = "pooled"           // Memory.Write into one long-lived block, read back by copy
	WayViewAcrossGrow Way = "view-across-grow" // a slice and a View of a block, across a memory.grow
	WayClose          Way = "close"            // handles closed explicitly
	WayCleanup        Way = "cleanup"          // handles freed by runtime.AddCleanup after collection
	WayNever          Way = "never"            // handles dropped: their blocks leak
)

// CopyWays and HandleWays list the ways of the two scenarios, in table order.
var (
	CopyWays   = []Way{WayCopy, WayView, WayPooled}
	HandleWays = []Way{WayClose, WayCleanup, WayNever}
)

// Sizes are boundary-copy's payload sizes.
var Sizes = []uint32{64, 4 << 10, 64 << 10, 1 << 20}

// CopyAlign is the alignment of boundary-copy's blocks.
const CopyAlign = 16

// CopyOps returns the ops boundary-copy times at one payload size: 32 MiB of
// payload (1 MiB with short), at least 32 ops (4) and at most 50000 (1000).
func CopyOps(size uint32, short bool) int {
	budget, lo, hi := 32<<20, 32, 50000
	if short {
		budget, lo, hi = 1<<20, 4, 1000
	}
	return min(max(budget/int(size), lo), hi)
}

// CopyWarmup is the number of untimed ops before the timed ones.
func CopyWarmup(ops int) int { return min(ops, 16) }

// CopyRun is what one boundary-copy pass measured over its timed ops.
type CopyRun struct {
	Ops     int
	Elapsed time.Duration
	Copied  uint64 // bytes copied between Go memory and guest memory
	Calls   int    // wazero calls into the guest
	Sink    uint64 // a checksum of what the host read back, so no work is elided
}

// RunCopy runs warmup and then ops boundary-copy ops of way with payloads of
// size bytes against g, timing the ops. With check, every payload read back is
// compared with what was written.
func RunCopy(ctx context.Context, g Guest, way Way, size uint32, warmup, ops int, check bool) (*CopyRun, error) {
	c, err := newCopier(ctx, g, way, size, check)
	if err != nil {
		return nil, err
	}
	for i := 0; i < warmup; i++ {
		if err := c.op(ctx); err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
	}
	if !check {
		runtime.GC() // so that no collection left over from set-up runs inside the timing
	}
	c.copied, c.calls = 0, 0
	start := time.Now()
	for i := 0; i < ops; i++ {
		if err := c.op(ctx); err != nil {
			return nil, fmt.Errorf("op %d: %w", warmup+i, err)
		}
	}
	r := &CopyRun{Ops: ops, Elapsed: time.Since(start), Copied: c.copied, Calls: c.calls, Sink: c.sink}
	if err := c.close(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// copier is one way of passing payloads of one size.
type copier struct {
	g        Guest
	way      Way
	size     uint32
	check    bool
	src, out []byte // Go-owned: the payload as the host encodes it, and as it reads it back
	pool     uint32 // the pooled way's long-lived block
	seq      uint64
	copied   uint64
	calls    int
	sink     uint64
}

func newCopier(ctx context.Context, g Guest, way Way, size uint32, check bool) (*copier, error) {
	if size == 0 || size%8 != 0 {
		return nil, fmt.Errorf("payload size %d: want a positive multiple of 8", size)
	}
	c := &copier{g: g, way: way, size: size, check: check, src: make([]byte, size), out: make([]byte, size)}
	switch way {
	case WayCopy, WayView:
	case WayPooled:
		p, err := g.Alloc(ctx, size, CopyAlign)
		if err != nil {
			return nil, err
		}
		if p == 0 {
			return nil, fmt.Errorf("pooled block: alloc(%d, %d): %w", size, CopyAlign, ErrOutOfMemory)
		}
		c.pool = p
	default:
		return nil, fmt.Errorf("unknown boundary-copy way %q", way)
	}
	return c, nil
}

func (c *copier) close(ctx context.Context) error {
	if c.pool != 0 {
		p := c.pool
		c.pool = 0
		return c.g.Free(ctx, p, c.size, CopyAlign)
	}
	return nil
}

// encode writes payload seq into dst, 8 bytes at a time: the host producing its
// data, the same work in every way.
func encode(dst []byte, seq uint64) {
	x := seq*0x9E3779B97F4A7C15 + 1
	for i := 0; i+8 <= len(dst); i += 8 {
		x = x*6364136223846793005 + 1442695040888963407
		binary.LittleEndian.PutUint64(dst[i:], x)
	}
}

// consume reads src back: the host using the result, the same work in every way.
func consume(src []byte) uint64 {
	var s uint64
	for i := 0; i+8 <= len(src); i += 8 {
		s = (s<<7 | s>>57) ^ binary.LittleEndian.Uint64(src[i:])
	}
	return s
}

var errMismatch = errors.New("payload read back differs from the one written")

func (c *copier) op(ctx context.Context) error {
	c.seq++
	mem := c.g.Memory()
	p := c.pool
	if c.way != WayPooled {
		var err error
		if p, err = c.g.Alloc(ctx, c.size, CopyAlign); err != nil {
			return err
		}
		c.calls++
		if p == 0 {
			return fmt.Errorf("alloc(%d, %d): %w", c.size, CopyAlign, ErrOutOfMemory)
		}
	}
	switch c.way {
	case WayCopy, WayPooled:
		encode(c.src, c.seq)
		if !mem.Write(p, c.src) {
			return fmt.Errorf("Memory.Write of [%#x, +%d) is out of range", p, c.size)
		}
		c.copied += uint64(c.size)
		r, ok := mem.Read(p, c.size)
		if !ok {
			return fmt.Errorf("Memory.Read of [%#x, +%d) is out of range", p, c.size)
		}
		c.copied += uint64(copy(c.out, r))
		c.sink ^= consume(c.out)
		if c.check && !bytes.Equal(c.out, c.src) {
			return fmt.Errorf("block %#x: %w", p, errMismatch)
		}
	case WayView:
		b, ok := mem.Read(p, c.size)
		if !ok {
			return fmt.Errorf("Memory.Read of [%#x, +%d) is out of range", p, c.size)
		}
		encode(b, c.seq)
		c.sink ^= consume(b)
		if c.check {
			encode(c.src, c.seq)
			if r, _ := mem.Read(p, c.size); !bytes.Equal(r, c.src) {
				return fmt.Errorf("block %#x: %w", p, errMismatch)
			}
		}
	}
	if c.way != WayPooled {
		if err := c.g.Free(ctx, p, c.size, CopyAlign); err != nil {
			return err
		}
		c.calls++
	}
	return nil
}

// StaleRun is what RunViewAcrossGrow found.
type StaleRun struct {
	Trials         int    // blocks viewed across a grow
	Stale          int    // slices that no longer aliased guest memory after it
	LostWriteBytes uint64 // bytes written through them that the guest never saw
	Refused        int    // Views whose Bytes refused them as stale
	Grows          int    // trials in which the memory grew (all, or it is an error)
}

// staleMark is what the host writes through the old slice, freshMark through
// the refreshed View.
const (
	staleMark = 0xA5
	freshMark = 0x5A
)

// RunViewAcrossGrow takes, for each size, a slice (Memory.Read) and a View of a
// freshly allocated block, makes the guest grow its memory by allocating a block
// as large as the whole memory, then writes through the slice and counts the
// bytes the guest does not see; then it checks the View refuses exactly the
// stale slices and works once refreshed.
func RunViewAcrossGrow(ctx context.Context, g Guest, sizes []uint32) (*StaleRun, error) {
	mem := g.Memory()
	r := &StaleRun{}
	for _, size := range sizes {
		p, err := g.Alloc(ctx, size, CopyAlign)
		if err != nil {
			return nil, err
		}
		if p == 0 {
			return nil, fmt.Errorf("alloc(%d, %d): %w", size, CopyAlign, ErrOutOfMemory)
		}
		raw, ok := mem.Read(p, size)
		if !ok {
			return nil, fmt.Errorf("Memory.Read of [%#x, +%d) is out of range", p, size)
		}
		clear(raw)
		v, err := NewView(mem, p, size)
		if err != nil {
			return nil, err
		}

		// A block as large as the memory cannot fit in it: the guest must grow.
		before := mem.Size()
		big, err := g.Alloc(ctx, before, CopyAlign)
		if err != nil {
			return nil, err
		}
		if big == 0 {
			return nil, fmt.Errorf("alloc(%d, %d) to make the guest grow: %w", before, CopyAlign, ErrOutOfMemory)
		}
		if mem.Size() <= before {
			return nil, fmt.Errorf("alloc(%d) returned a block but the %d-byte memory did not grow", before, before)
		}
		r.Trials++
		r.Grows++

		now, _ := mem.Read(p, size)
		stale := !SameBuffer(now, raw)
		for i := range raw {
			raw[i] = staleMark
		}
		now, _ = mem.Read(p, size)
		lost := uint64(0)
		for _, b := range now {
			if b != staleMark {
				lost++
			}
		}
		if stale {
			r.Stale++
		} else if lost != 0 {
			return nil, fmt.Errorf("block %#x: %d bytes written through a slice that still aliases memory were lost", p, lost)
		}
		r.LostWriteBytes += lost

		// The guard refuses the stale slice, and works once refreshed.
		_, err = v.Bytes()
		refused := errors.Is(err, ErrStale)
		switch {
		case err != nil && !refused:
			return nil, err
		case refused != stale:
			return nil, fmt.Errorf("block %#x: the View guard refused it: %v; the slice was stale: %v", p, refused, stale)
		case refused:
			r.Refused++
			if err := v.Refresh(); err != nil {
				return nil, err
			}
		}
		b, err := v.Bytes()
		if err != nil {
			return nil, fmt.Errorf("after Refresh: %w", err)
		}
		for i := range b {
			b[i] = freshMark
		}
		if now, _ := mem.Read(p, size); !bytes.Equal(now, b) || now[0] != freshMark {
			return nil, fmt.Errorf("block %#x: a write through a refreshed View was lost", p)
		}
		if err := g.Free(ctx, big, before, CopyAlign); err != nil {
			return nil, err
		}
		if err := g.Free(ctx, p, size, CopyAlign); err != nil {
			return nil, err
		}
	}
	return r, nil
}
