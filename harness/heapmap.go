package harness

import (
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/trace"
)

// HeapMapCells is the most cells a heap map has.
const HeapMapCells = 1024

// HeapMap is a picture of linear memory at one op of a checked pass (the heap
// sidecar's schema, defined in package results).
type HeapMap = results.HeapMap

func (p *pass) heapMap(op int) *HeapMap {
	mem := uint64(p.inst.mem.Size())
	cell := uint32(64)
	for uint64(cell)*HeapMapCells < mem {
		cell *= 2
	}
	return &HeapMap{
		Op: op, MemoryBytes: mem, HeapBytes: p.checker.HeapEnd, LiveBytes: p.checker.LiveBytes,
		CellBytes: cell, Live: p.checker.CellLive(mem, cell),
	}
}

// peakOp returns the op after which t's live bytes first reach their peak.
func peakOp(t *trace.Trace) int {
	var live, peak uint64
	at := -1
	for i, op := range t.Ops {
		live = trace.LiveAfter(live, op)
		if live > peak {
			peak, at = live, i
		}
	}
	return at
}
