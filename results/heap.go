package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// HeapRecord is a benchmark's entry in the heap sidecar RUN.heap.json: what the
// results pages draw from its checked passes (results/README.md documents it).
type HeapRecord struct {
	Samples  []Sample  `json:"samples"`             // utilisation over the trace
	Peak     *HeapMap  `json:"peak,omitempty"`      // the heap when live bytes first peak
	OOM      *HeapMap  `json:"oom,omitempty"`       // the heap at the first failed alloc under the OOM limit
	OOMPoint *OOMPoint `json:"oom_point,omitempty"` // that alloc
	// Counts is what the checked pass's ops cost the guest, over all and per op
	// kind; absent when the guest could not be metered.
	Counts *Counts `json:"counts,omitempty"`
}

// Sample is a utilisation sample of a checked pass: after op, live_bytes were live,
// the heap had reached heap_bytes and memory was pages long.
type Sample struct {
	Op        int    `json:"op"`
	LiveBytes uint64 `json:"live_bytes"`
	HeapBytes uint64 `json:"heap_bytes"` // the heap's high-water mark so far
	Pages     uint32 `json:"pages"`
}

// HeapMap is a picture of linear memory at one op of a checked pass: memory cut
// into cells, with the live bytes of each. A cell below HeapBytes that is not full
// holds free space inside the heap (fragmentation and allocator overhead); cells at
// or above HeapBytes were never handed out.
type HeapMap struct {
	Op          int      `json:"op"`
	MemoryBytes uint64   `json:"memory_bytes"`
	HeapBytes   uint64   `json:"heap_bytes"`
	LiveBytes   uint64   `json:"live_bytes"`
	CellBytes   uint32   `json:"cell_bytes"`
	Live        []uint32 `json:"live"` // live bytes per cell
}

// OOMPoint is where a guest first failed to allocate under the OOM limit.
type OOMPoint struct {
	Op        int    `json:"op"`         // index of the failing op
	LiveBytes uint64 `json:"live_bytes"` // bytes live just before it
	// Trap, if set, says the guest trapped instead of returning 0, right after the
	// host refused to grow its memory (AssemblyScript and Go do): the reason.
	Trap string `json:"trap,omitempty"`
}

// heapLine is one line of the sidecar: a record with its benchmark's name.
type heapLine struct {
	Name string `json:"name"`
	*HeapRecord
}

// HeapPath returns the sidecar's path for a results file: RUN.heap.json beside RUN.txt.
func HeapPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".heap.json"
}

// ReadHeap reads a heap sidecar into a map from benchmark names (without
// "Benchmark") to records; a name written twice keeps its last record. It reads
// JSON lines, cutting a torn last line, and the older form, one JSON object
// mapping names to records. A sidecar that does not exist gives nil and no error.
func ReadHeap(path string) (map[string]*HeapRecord, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	out := map[string]*HeapRecord{}
	if json.Unmarshal(b, &out) == nil {
		return out, nil
	}
	clear(out)
	lines := bytes.Split(b, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		l := heapLine{HeapRecord: &HeapRecord{}}
		if err := json.Unmarshal(line, &l); err != nil {
			if i == len(lines)-1 {
				break // torn by an interrupted run
			}
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		if l.Name == "" {
			return nil, fmt.Errorf("%s:%d: a record without a name", path, i+1)
		}
		out[l.Name] = l.HeapRecord
	}
	return out, nil
}

// Counts is what the ops of a checked pass cost the guest, counted exactly by its
// metered module (see README, "Counting instructions", and package harness): over every op of the
// pass, and per op kind. Driver, adapters and shims are not counted.
type Counts struct {
	All   OpCounts            `json:"all"`
	Kinds map[string]OpCounts `json:"kinds"` // alloc, free, realloc, reset: the kinds the trace has
}

// OpCounts sums the counts of a set of ops.
type OpCounts struct {
	Ops       int    `json:"ops"`
	Instrs    uint64 `json:"instrs"`     // wasm instructions the guest executed
	MemOps    uint64 `json:"mem_ops"`    // its loads and stores to linear memory
	BulkBytes uint64 `json:"bulk_bytes"` // bytes its memory.copy, memory.fill and memory.init moved
	P99Instrs uint64 `json:"p99_instrs"` // nearest rank over the ops
	MaxInstrs uint64 `json:"max_instrs"`
}

// PerOp returns the means per op of instructions, memory ops and bulk bytes.
func (c OpCounts) PerOp() (instrs, memOps, bulkBytes float64) {
	if c.Ops == 0 {
		return 0, 0, 0
	}
	n := float64(c.Ops)
	return float64(c.Instrs) / n, float64(c.MemOps) / n, float64(c.BulkBytes) / n
}

// String sums the counts up in one line, for people.
func (c *Counts) String() string {
	if c == nil {
		return "no instruction counts"
	}
	instrs, memOps, bulk := c.All.PerOp()
	return fmt.Sprintf("%.4g instrs/op (p99 %d, max %d), %.4g mem-ops/op, %.4g bulk-bytes/op",
		instrs, c.All.P99Instrs, c.All.MaxInstrs, memOps, bulk)
}
