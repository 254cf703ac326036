package harness

import (
	"context"

	"github.com/alloclab/alloclab/trace"
)

// Block is a block's size and alignment, as a leak probe asks for it again.
type Block struct{ Size, Align uint32 }

// LeakProbe is what ProbeLeak found.
type LeakProbe struct {
	// ProbeBytes and ProbeBlocks are what the probe asked for.
	ProbeBytes  uint64
	ProbeBlocks int
	// LostBytes and LostBlocks are the part the guest could not place inside the
	// memory it held when the probe started: refused, or placed beyond it.
	LostBytes  uint64
	LostBlocks int
}

// ProbeLeak is the leak check the harness and package boundary share: after a
// workload freed everything, it allocates blocks (the workload's peak live set)
// again with alloc, in order, and counts those the guest could not place below
// held, the memory's size in bytes when the probe started. An allocator that
// reuses what was freed needs no new memory for them; one that loses blocks, or
// never reuses (bump, arena), does. Free space at the top of memory can hide a
// loss of up to its size. It returns the pointers alloc gave, 0 for a refused
// block, so the caller can free them; on an error, those allocated so far.
func ProbeLeak(blocks []Block, held uint64, alloc func(size, align uint32) (uint32, error)) (LeakProbe, []uint32, error) {
	var l LeakProbe
	ptrs := make([]uint32, 0, len(blocks))
	for _, b := range blocks {
		p, err := alloc(b.Size, b.Align)
		if err != nil {
			return l, ptrs, err
		}
		ptrs = append(ptrs, p)
		l.ProbeBytes += uint64(b.Size)
		l.ProbeBlocks++
		if p == 0 || uint64(p)+uint64(b.Size) > held {
			l.LostBytes += uint64(b.Size)
			l.LostBlocks++
		}
	}
	return l, ptrs, nil
}

// leakCheck runs ProbeLeak after a checked pass whose trace freed everything, on
// the blocks live when the trace's live bytes first peak, and returns the bytes
// lost. The probe's blocks are not checked, nor freed: the pass ends here.
func (p *pass) leakCheck(ctx context.Context) (uint64, error) {
	stack := make([]uint64, 2)
	l, _, err := ProbeLeak(peakSet(p.trace), uint64(p.inst.mem.Size()), func(size, align uint32) (uint32, error) {
		stack[0], stack[1] = uint64(size), uint64(align)
		err := p.inst.alloc.CallWithStack(ctx, stack)
		return uint32(stack[0]), err
	})
	return l.LostBytes, err
}

// peakSet returns the blocks live when t's live bytes first peak, in slot order.
func peakSet(t *trace.Trace) []Block {
	at := peakOp(t)
	live := make([]Block, t.Slots)
	for _, op := range t.Ops[:at+1] {
		switch op.Kind {
		case trace.Alloc, trace.Realloc:
			live[op.Slot] = Block{op.Size, op.Align}
		case trace.Free:
			live[op.Slot] = Block{}
		case trace.Reset:
			clear(live)
		}
	}
	var out []Block
	for _, b := range live {
		if b.Size != 0 {
			out = append(out, b)
		}
	}
	return out
}
