package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/alloclab/alloclab/trace"
)

// runHost replays the trace with one wazero call per op (mode host), as an
// embedder calls its guest: the checker sees each op after alloc and realloc
// return and before free, reset and mark are called.
func (p *pass) runHost(ctx context.Context) error {
	inst, ops := p.inst, p.trace.Ops
	ptrs := make([]uint32, p.trace.Slots) // the pointer each slot holds
	stack := make([]uint64, 4)
	var overhead time.Duration
	var t0 time.Time
	if p.cfg.Latency {
		overhead = median(1001, func() time.Duration { t0 := time.Now(); return time.Since(t0) })
		p.method = fmt.Sprintf("each op timed alone, less the median cost of reading the clock (%v)", overhead)
		p.latency = make(latencies, 0, len(ops))
	}
	start := time.Now()
	for i := range ops {
		op := &ops[i]
		p.at = i
		if p.cfg.Latency {
			// An op's time runs from its start to the next op's start.
			if i > 0 {
				p.latency = append(p.latency, float64(max(time.Since(t0)-overhead, 0).Nanoseconds()))
			}
			t0 = time.Now()
		}
		p.countsBefore()
		switch op.Kind {
		case trace.Alloc, trace.Realloc:
			f := inst.alloc
			stack[0], stack[1] = uint64(op.Size), uint64(op.Align)
			if op.Kind == trace.Realloc {
				f = inst.realloc
				stack[0], stack[1], stack[2], stack[3] = uint64(ptrs[op.Slot]), uint64(op.OldSize), uint64(op.Align), uint64(op.Size)
			}
			if err := f.CallWithStack(ctx, stack); err != nil {
				return err
			}
			ptr := uint32(stack[0])
			if ptr == 0 {
				p.res.Elapsed, p.res.Ops = time.Since(start), i
				p.res.OOM = &OOMPoint{Op: i}
				return nil
			}
			ptrs[op.Slot] = ptr
			p.countsAfter()
			if p.checker != nil {
				if err := p.check(i, ptr); err != nil {
					p.fault = err
					return err
				}
			}
		case trace.Free, trace.Reset, trace.Mark:
			if p.checker != nil {
				if err := p.check(i, 0); err != nil {
					p.fault = err
					return err
				}
			}
			var err error
			switch op.Kind {
			case trace.Mark:
			case trace.Reset:
				err = inst.reset.CallWithStack(ctx, stack)
			default:
				stack[0], stack[1], stack[2] = uint64(ptrs[op.Slot]), uint64(op.Size), uint64(op.Align)
				err = inst.free.CallWithStack(ctx, stack)
			}
			if err != nil {
				return err
			}
			p.countsAfter()
		}
	}
	p.res.Elapsed, p.res.Ops = time.Since(start), len(ops)
	if p.cfg.Latency && len(ops) > 0 {
		p.latency = append(p.latency, float64(max(time.Since(t0)-overhead, 0).Nanoseconds()))
	}
	return nil
}
