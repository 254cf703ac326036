package harness

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/tetratelabs/wazero/api"

	"github.com/alloclab/alloclab/harness/internal/meter"
	"github.com/alloclab/alloclab/harness/internal/replay"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/trace"
)

// Counts is what the ops of a checked pass cost the guest, counted exactly by its
// metered module (see README, "Counting instructions"); the heap sidecar's
// schema, defined in package results.
type Counts = results.Counts

// OpCounts sums the counts of a set of ops.
type OpCounts = results.OpCounts

// opCount is one op's counts.
type opCount struct{ instrs, memOps, bulkBytes uint64 }

// summarizeCounts sums the counts of ops, one each.
func summarizeCounts(ops []trace.Op, counts []opCount) *Counts {
	instrs := make([]uint64, 0, len(counts)) // one buffer for the percentiles
	sum := func(keep func(trace.Op) bool) (OpCounts, bool) {
		var c OpCounts
		instrs = instrs[:0]
		for i, n := range counts {
			if !keep(ops[i]) {
				continue
			}
			c.Ops++
			c.Instrs += n.instrs
			c.MemOps += n.memOps
			c.BulkBytes += n.bulkBytes
			instrs = append(instrs, n.instrs)
		}
		if c.Ops == 0 {
			return c, false
		}
		slices.Sort(instrs)
		c.P99Instrs = instrs[(99*len(instrs)+99)/100-1] // nearest rank: ceil(0.99 n)
		c.MaxInstrs = instrs[len(instrs)-1]
		return c, true
	}
	out := &Counts{Kinds: map[string]OpCounts{}}
	out.All, _ = sum(func(trace.Op) bool { return true })
	for _, k := range []trace.Kind{trace.Alloc, trace.Free, trace.Realloc, trace.Reset} {
		if c, ok := sum(func(op trace.Op) bool { return op.Kind == k }); ok {
			out.Kinds[k.String()] = c
		}
	}
	return out
}

// meterCache holds a guest's metered module, made once.
type meterCache struct {
	once sync.Once
	wasm []byte
	err  error
}

// Metered returns the guest's module rewritten to count its instructions (package
// meter), which its checked passes run, or the error that keeps it from being
// metered: the guest then runs without counts.
func (g *Guest) Metered() ([]byte, error) {
	if g.meter == nil {
		return meter.Rewrite(g.Name, g.Wasm)
	}
	g.meter.once.Do(func() { g.meter.wasm, g.meter.err = meter.Rewrite(g.Name, g.Wasm) })
	return g.meter.wasm, g.meter.err
}

// meterModule returns the "meter" module the driver imports its counters from:
// the metered guest's, re-exported, or counters that stay 0.
func meterModule(metered bool, raw bool) []byte {
	switch {
	case !metered:
		return replay.MeterAbsent
	case raw:
		return replay.MeterReexportRaw
	}
	return replay.MeterReexport
}

// counterGlobals returns a metered guest's counters.
func counterGlobals(m api.Module) *[3]api.Global {
	var c [3]api.Global
	for i, name := range meter.Exports {
		if c[i] = m.ExportedGlobal(name); c[i] == nil {
			return nil
		}
	}
	return &c
}

// countsBefore reads the counters before an op of a host-mode checked pass.
func (p *pass) countsBefore() {
	if c := p.inst.counters; c != nil {
		p.before = opCount{c[0].Get(), c[1].Get(), c[2].Get()}
	}
}

// countsAfter records the op's counts, after it completed.
func (p *pass) countsAfter() {
	if c := p.inst.counters; c != nil {
		p.counts = append(p.counts, opCount{c[0].Get() - p.before.instrs, c[1].Get() - p.before.memOps, c[2].Get() - p.before.bulkBytes})
	}
}

// readCounts records the counts the driver wrote at addr for n ops of a batch.
func (p *pass) readCounts(mem api.Memory, addr uint32, n int) bool {
	if p.inst.counters == nil {
		return true
	}
	b, ok := mem.Read(addr, uint32(n*replay.CountBytes))
	if !ok {
		return false
	}
	for ; len(b) >= replay.CountBytes; b = b[replay.CountBytes:] {
		le := binary.LittleEndian
		p.counts = append(p.counts, opCount{le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:])})
	}
	return true
}
