package harness

import (
	"context"

	"github.com/alloclab/alloclab/trace"
)

// leakCheck runs after a checked pass whose trace freed everything: it allocates
// the trace's peak live set again, block for block, and returns the bytes placed
// beyond the memory the guest already held, or not placed at all. An allocator
// that reuses what was freed needs no new memory for them; one that loses blocks,
// or never reuses (bump, arena), does. Free space left at the top of memory can
// hide a loss of up to its size. The probe's blocks are not checked.
func (p *pass) leakCheck(ctx context.Context) (uint64, error) {
	held := uint64(p.inst.mem.Size())
	var lost uint64
	stack := make([]uint64, 2)
	for _, b := range peakSet(p.trace) {
		stack[0], stack[1] = uint64(b.Size), uint64(b.Align)
		if err := p.inst.alloc.CallWithStack(ctx, stack); err != nil {
			return 0, err
		}
		if ptr := uint32(stack[0]); ptr == 0 || uint64(ptr)+uint64(b.Size) > held {
			lost += uint64(b.Size)
		}
	}
	return lost, nil
}

// peakSet returns the blocks live when t's live bytes first peak, in slot order.
func peakSet(t *trace.Trace) []trace.Op {
	at := peakOp(t)
	live := make([]trace.Op, t.Slots)
	for _, op := range t.Ops[:at+1] {
		switch op.Kind {
		case trace.Alloc, trace.Realloc:
			live[op.Slot] = op
		case trace.Free:
			live[op.Slot] = trace.Op{}
		case trace.Reset:
			clear(live)
		}
	}
	var out []trace.Op
	for _, op := range live {
		if op.Size != 0 {
			out = append(out, op)
		}
	}
	return out
}
