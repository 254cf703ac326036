package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/alloclab/alloclab/harness/internal/replay"
)

// runReplay writes the trace into the driver's memory and runs it inside wazero
// (mode replay), Config.Batch ops per host call; under the checker the driver
// calls hook around each op.
func (p *pass) runReplay(ctx context.Context) error {
	ops := p.trace.Ops
	dm := p.inst.driver.ExportedMemory("memory")
	base := uint32(p.trace.Slots) * 4
	need := uint64(base) + uint64(len(ops))*replay.OpBytes
	countsAt := uint32(need) // where the driver writes a checked batch's counts
	if p.checker != nil {
		need += uint64(p.cfg.Batch) * replay.CountBytes
	}
	if need > uint64(MaxPages)*PageSize {
		return fmt.Errorf("trace of %d ops is too large to replay", len(ops))
	}
	if have := uint64(dm.Size()); need > have {
		if _, ok := dm.Grow(uint32((need - have + PageSize - 1) / PageSize)); !ok {
			return fmt.Errorf("cannot grow the driver's memory to %d bytes", need)
		}
	}
	if !dm.Write(base, replay.Encode(nil, ops)) {
		return fmt.Errorf("cannot write the trace into the driver's memory")
	}
	checked := uint64(0)
	if p.checker != nil {
		checked = 1
		current := p.inst.driver.ExportedGlobal("current")
		p.inst.before = func(stack []uint64) { p.hook(int(uint32(stack[0])), 0) }
		p.inst.after = func(stack []uint64) { p.hook(int(uint32(stack[0])), uint32(stack[1])) }
		defer func() { p.at = max(p.at, int(uint32(current.Get()))) }()
	}
	run := p.inst.driver.ExportedFunction("run")
	stack := make([]uint64, 5)
	batch := p.cfg.Batch
	var overhead time.Duration
	if p.cfg.Latency {
		batch = LatencyBatch
		overhead = median(1001, func() time.Duration {
			stack[0], stack[1], stack[2], stack[3], stack[4] = uint64(base), 0, 0, 0, 0
			t0 := time.Now()
			_ = run.CallWithStack(ctx, stack)
			return time.Since(t0)
		})
		p.method = fmt.Sprintf("batches of %d ops, less the median cost of an empty batch (%v)", batch, overhead)
		p.latency = make(latencies, 0, len(ops)/batch+1)
	}
	start := time.Now()
	for from := 0; from < len(ops); from += batch {
		to := min(from+batch, len(ops))
		p.at = from
		stack[0], stack[1], stack[2], stack[3], stack[4] = uint64(base), uint64(from), uint64(to), checked, uint64(countsAt)
		t0 := time.Now()
		if err := run.CallWithStack(ctx, stack); err != nil {
			return err
		}
		if checked != 0 && !p.readCounts(dm, countsAt, int(uint32(stack[0]))-from) {
			return fmt.Errorf("cannot read the counts from the driver's memory")
		}
		if p.cfg.Latency {
			p.latency = append(p.latency, float64(max(time.Since(t0)-overhead, 0).Nanoseconds())/float64(to-from))
		}
		if done := int(uint32(stack[0])); done < to {
			p.res.Elapsed, p.res.Ops = time.Since(start), done
			p.res.OOM = &OOMPoint{Op: done}
			return nil
		}
	}
	p.res.Elapsed, p.res.Ops = time.Since(start), len(ops)
	return nil
}

// hook is the checker's host function: it records a fault and unwinds the guest.
func (p *pass) hook(i int, ptr uint32) {
	p.at = i
	if err := p.check(i, ptr); err != nil {
		p.fault = err
		panic(errFault)
	}
}
