// Package probe holds the probes that alloclab check runs beside its checked
// traces, so that check catches what alloclab run would catch:
//
//   - OOM runs a guest out of memory under a small memory limit, through the
//     checker. Running out is a pass when the guest's alloc returns 0, or when the
//     guest traps right after the host refused its memory.grow; a block outside
//     memory (or any other fault) there is a *harness.Fault naming the op.
//   - Reuse allocates and frees one block at a time, at several sizes, on a fresh
//     instance through the checker, and names the sizes at which the guest's
//     memory grew by at least half of what passed through: it never hands freed
//     blocks out again. That is a warning, not a fault.
//
// Both take the guest as harness.NewGuest made it and run on a harness.Lab.
package probe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/internal/wasmbin"
	"github.com/alloclab/alloclab/trace"
)

// OOMScenario names the out-of-memory probe in faults.
const OOMScenario = "oom-probe"

// OOMLimitPages is the memory limit of the out-of-memory probe (16 MiB), raised
// above a guest whose memory starts larger.
const OOMLimitPages = harness.DefaultOOMLimitPages

// OOMResult is how a guest ran out of memory.
type OOMResult struct {
	LimitPages uint32
	// At is where it ran out: the op, the live bytes before it, and the trap
	// (empty when alloc returned 0).
	At *harness.OOMPoint
	Op trace.Op // the op that failed
}

func (r *OOMResult) String() string {
	how := "returned 0"
	if r.At.Trap != "" {
		how = "trapped after a refused memory.grow (" + r.At.Trap + ")"
	}
	return fmt.Sprintf("under a %d-page limit, %v of %d bytes (op %d) %s with %d bytes live",
		r.LimitPages, r.Op.Kind, r.Op.Size, r.At.Op, how, r.At.LiveBytes)
}

// oomSizes are the sizes and alignments the out-of-memory trace cycles through:
// small, medium, above a page, and large.
var oomSizes = []struct{ size, align uint32 }{{24, 8}, {1000, 16}, {40_000, 8}, {300_000, 64}}

// OOMTrace allocates, without freeing, four times limitPages of memory.
func OOMTrace(limitPages uint32) *trace.Trace {
	var b trace.Builder
	for want, sum := 4*uint64(limitPages)*harness.PageSize, uint64(0); sum < want; {
		s := oomSizes[b.Len()%len(oomSizes)]
		b.Alloc(s.size, s.align)
		sum += uint64(s.size)
	}
	return b.Trace()
}

// OOM runs OOMTrace through the checker on a fresh instance of g under cfg (its
// engine, mode and timeout; the memory limit is OOMLimitPages or, for a guest
// that starts larger, its initial memory and 64 pages more). A fault, including
// a block outside memory at the limit, is a *harness.Fault; a trace that fits is
// an error too, since the guest then handed out more than its memory holds.
func OOM(ctx context.Context, lab *harness.Lab, g *harness.Guest, cfg harness.Config) (*OOMResult, error) {
	limit := uint32(OOMLimitPages)
	if lim, err := wasmbin.MemoryLimits(g.Wasm); err == nil && lim.Min+64 > limit {
		limit = lim.Min + 64
	}
	t := OOMTrace(limit)
	cfg.Check, cfg.MemoryLimitPages = true, limit
	p, err := lab.Run(ctx, g, OOMScenario, t, cfg)
	if f := (*harness.Fault)(nil); errors.As(err, &f) && f.Op >= 0 && f.Op < len(t.Ops) {
		op := t.Ops[f.Op]
		f.Err = fmt.Errorf("%v of %d bytes aligned to %d under a %d-page limit: %w", op.Kind, op.Size, op.Align, limit, f.Err)
	}
	if err != nil {
		return nil, err
	}
	if p.OOM == nil {
		return nil, &harness.Fault{Guest: g.Name, Scenario: OOMScenario, Op: len(t.Ops) - 1,
			Err: fmt.Errorf("never ran out of memory: %d ops fit in a %d-page limit", len(t.Ops), limit)}
	}
	return &OOMResult{LimitPages: limit, At: p.OOM, Op: t.Ops[p.OOM.Op]}, nil
}

// ReuseSizes are the block sizes of the reuse probe.
var ReuseSizes = []uint32{16, 256, 4096, 65536, 1 << 20}

// ReuseBytes is how much the reuse probe allocates and frees at each size, one
// block at a time: enough that a garbage-collected guest collects (Go's smallest
// heap goal is 4 MiB) and grows by far less than what passed through.
const ReuseBytes = 16 << 20

// ReuseMinCycles is the fewest alloc-free cycles at any size.
const ReuseMinCycles = 64

// ReuseScenario names the reuse probe in faults.
const ReuseScenario = "reuse-probe"

// ReuseSize is what the reuse probe saw at one size.
type ReuseSize struct {
	Size       uint32
	Cycles     int    // alloc-free cycles, one block live at a time
	PagesGrown uint32 // memory grown over them
}

// NeverReused reports whether the guest's memory grew by at least half the
// bytes that passed through: one block was live at a time, so a guest that
// hands freed memory out again grows by its headroom at most.
func (s ReuseSize) NeverReused() bool {
	return uint64(s.PagesGrown)*harness.PageSize*2 >= uint64(s.Cycles)*uint64(s.Size)
}

// ReuseResult is what the reuse probe saw at each size.
type ReuseResult struct {
	Sizes []ReuseSize
}

// NeverReused returns the sizes whose freed memory the guest never handed out
// again while its memory grew.
func (r *ReuseResult) NeverReused() []uint32 {
	var out []uint32
	for _, s := range r.Sizes {
		if s.NeverReused() {
			out = append(out, s.Size)
		}
	}
	return out
}

// Grown formats the pages grown at each size as "16 B: 0, 256 B: 3".
func (r *ReuseResult) Grown() string {
	s := make([]string, len(r.Sizes))
	for i, z := range r.Sizes {
		s[i] = fmt.Sprintf("%d B: %d", z.Size, z.PagesGrown)
	}
	return strings.Join(s, ", ")
}

// ReuseTrace allocates and frees one block at a time, ReuseBytes (and at least
// ReuseMinCycles blocks) at each of ReuseSizes in turn, with a Mark op before
// and after each size.
func ReuseTrace() *trace.Trace {
	var b trace.Builder
	for _, size := range ReuseSizes {
		b.Mark()
		for range reuseCycles(size) {
			b.Free(b.Alloc(size, 8))
		}
	}
	b.Mark()
	return b.Trace()
}

func reuseCycles(size uint32) int { return max(ReuseMinCycles, ReuseBytes/int(size)) }

// Reuse runs ReuseTrace through the checker on a fresh instance of g under cfg
// (its engine, mode and timeout) and returns the memory grown at each size. A
// fault is a *harness.Fault naming the op; running out of memory is an error.
func Reuse(ctx context.Context, lab *harness.Lab, g *harness.Guest, cfg harness.Config) (*ReuseResult, error) {
	t := ReuseTrace()
	cfg.Check = true
	p, err := lab.Run(ctx, g, ReuseScenario, t, cfg)
	if err != nil {
		return nil, err
	}
	if p.OOM != nil {
		op := t.Ops[p.OOM.Op]
		return nil, &harness.Fault{Guest: g.Name, Scenario: ReuseScenario, Op: p.OOM.Op,
			Err: fmt.Errorf("%v of %d bytes failed with one block live and memory at %d pages", op.Kind, op.Size, p.Pages)}
	}
	if len(p.MarkPages) != len(ReuseSizes)+1 {
		return nil, fmt.Errorf("reuse probe of guest %s: %d marks, want %d", g.Name, len(p.MarkPages), len(ReuseSizes)+1)
	}
	res := &ReuseResult{}
	for i, size := range ReuseSizes {
		res.Sizes = append(res.Sizes, ReuseSize{Size: size, Cycles: reuseCycles(size), PagesGrown: p.MarkPages[i+1] - p.MarkPages[i]})
	}
	return res, nil
}

// Sizes formats sizes as "16, 256 bytes".
func Sizes(sizes []uint32) string {
	s := make([]string, len(sizes))
	for i, n := range sizes {
		s[i] = strconv.FormatUint(uint64(n), 10)
	}
	return strings.Join(s, ", ") + " bytes"
}
