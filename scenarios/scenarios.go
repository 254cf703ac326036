// Package scenarios holds the lab's workloads: deterministic, seeded sequences of
// allocator calls that every guest replays identically.
//
// A Scenario is a registry entry: its name, the program it models, the strategy it
// should favour, and a generator for its trace at full and -short length. The table
// in README.md lists them.
package scenarios

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"regexp"
	"sync"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/trace"
)

// Scenario is one workload in the registry.
type Scenario struct {
	Name    string
	Models  string // the program whose allocation behaviour it models
	Favours string // the strategy it should favour: no measured numbers, which go stale
	Params  string // its parameters, full and -short
	// Generate builds the trace; short gives the smaller version used by tests.
	Generate func(short bool) *trace.Trace
	// MarkUnit, if set, names the metric reported for the trace's Mark ops: the
	// pages the guest grew between the first mark and the last.
	MarkUnit string
	// Variants, if any, run the scenario several ways; each is a benchmark of its own.
	Variants []Variant
	// Modes, if set, limits the harness modes the scenario runs in.
	Modes []harness.Mode
}

// Variant is one way of running a scenario.
type Variant struct {
	Name string // extra name parts, such as "limit=16MiB"
	// OOMLimitPages replaces the out-of-memory pass's limit, if non-zero.
	OOMLimitPages uint32
	// LimitPages replaces the memory limit of every pass, if non-zero.
	LimitPages uint32
	// Prealloc starts every pass with the memory the guest needs for the trace,
	// learned from a first checked pass; otherwise checked passes grow on demand.
	Prealloc bool
	// GrowInTimedRuns starts timed passes with the guest's own initial memory, so
	// they time memory.grow; by default they start with the memory the checked
	// pass ended with and time the allocator's own work.
	GrowInTimedRuns bool
	// Policy, if set, is how the host backs linear memory; the passes then
	// measure the host process's memory too.
	Policy harness.MemoryPolicy
	// SkipOOM skips the out-of-memory pass, for variants about something else.
	SkipOOM bool
}

// All is the registry, in the order runs and tables list them.
var All = []*Scenario{
	{
		Name: "churn",
		Models: "A long-running service: random alloc and free around a steady live set, " +
			"with a small-object size mix (90% 8-256 B, 9% 256 B-4 KiB, 1% 4-64 KiB, " +
			"log-uniform within each band; alignment mostly 8 or 16). Everything is freed at the end.",
		Favours: "general-purpose allocators that reuse freed memory (freelist, pool). " +
			"bump and arena never reuse it and run out of memory; arena first, because " +
			"the tail of every chunk it leaves behind is wasted too.",
		Params:   "live set 2000 blocks, 200000 ops (short: 500 blocks, 20000 ops), seed 1",
		Generate: churn,
	},
	{
		Name: "arena-phases",
		Models: "A server handling requests, or a game drawing frames: each phase allocates " +
			"many objects of the small-object mix (a tenth of them temporaries freed within the " +
			"phase) and then drops everything at once. Every phase does the same work. Guests " +
			"with reset() get one reset per phase; the others free each live block.",
		Favours:  "arena and bump: reset is one store, and a correct arena stops growing after the first phase.",
		Params:   "200 phases of 2000 allocs (short: 20 phases of 500), seed 2",
		Generate: arenaPhases,
		MarkUnit: "pages-grown-after-phase-1",
	},
	{
		Name: "pooled-objects",
		Models: "A particle system or a graph: many fixed-size objects of three kinds (32, 64 " +
			"and 144 B) created and destroyed at a high rate. After warm-up each death is " +
			"replaced by a birth of the same kind, so the live count of each kind stays fixed.",
		Favours:  "pool: O(1) class free lists, and no growth after warm-up on uniform sizes.",
		Params:   "5000 live objects, 300000 ops (short: 1000, 30000), seed 3",
		Generate: pooledObjects,
		MarkUnit: "pages-grown-after-warm-up",
	},
	{
		Name: "random-actions",
		Models: "The workload of talc's WebAssembly benchmark (wasm-bench/src/lib.rs in " +
			"SFBdragon/talc), so figures can be set beside its published talc and dlmalloc " +
			"numbers: each action is, with equal chance, alloc of 100 to 1000 B aligned to " +
			"8 << (trailing zeros of a random u16)/2, free of a random live block, or realloc of " +
			"a random live block to 100 to 10000 B; 100000 actions, then everything is freed. " +
			"Differences: a seeded PCG source instead of fastrand, and a free or realloc drawn " +
			"while fewer than 50 blocks are live becomes an alloc, so the heap never drains. " +
			"talc reports ms per 100000 actions: multiply ns/op by the ops per action shown in " +
			"the trace header (about 1) and by 100000.",
		Favours:  "general-purpose allocators with in-place realloc.",
		Params:   "100000 actions (short: 10000), at least 50 live blocks, seed 4",
		Generate: randomActions,
	},
	{
		Name: "realloc-growth",
		Models: "Vectors and strings being built: 64 buffers grow by doubling with realloc, " +
			"from 16 B to a final length drawn log-uniform from 64 B to 256 KiB; a finished " +
			"buffer is freed and a new one starts. Guests without realloc get alloc + copy + " +
			"free from the harness's shim (guests/README.md).",
		Favours:  "allocators that grow a block in place (freelist when the neighbour is free; bump and arena for the newest block).",
		Params:   "64 buffers, 100000 ops (short: 16 buffers, 10000 ops), seed 5",
		Generate: reallocGrowth,
	},
	{
		Name: "fragmentation-swiss",
		Models: "The swiss-cheese pattern: a short-lived 100 KiB temporary, then a long-lived " +
			"1 KiB anchor, then the temporary is freed; 1000 times. Then one 1 MiB block is " +
			"asked for: pages-grown-by-big-block says whether it fit in the memory the heap " +
			"already had (0) or how many pages it needed, and peak-pages how large the heap got.",
		Favours: "allocators that reuse a freed block for the next temporary and pack the anchors " +
			"together (freelist, pool need a ninth of bump's pages); bump and arena leave a hole " +
			"per round. No guest fits the big block without growing: the holes are too small.",
		Params:   "1000 rounds (short: 100), then a 1 MiB block",
		Generate: swissCheese,
		MarkUnit: "pages-grown-by-big-block",
	},
	{
		Name: "fragmentation-alternating",
		Models: "The pattern that made wee_alloc grow without bound (rustwasm/wee_alloc " +
			"issue 106): alloc 85196 B, free it, alloc 80000 B, free it, over and over. A " +
			"correct allocator reuses the same memory every round.",
		Favours:  "any allocator that reuses and coalesces freed memory; bump and arena grow every round.",
		Params:   "1000 rounds (short: 100)",
		Generate: alternating,
		MarkUnit: "pages-grown-after-round-1",
	},
	{
		Name: "prealloc-vs-grow",
		Models: "A module whose heap grows to 128 MiB in 32 KiB blocks (about a page every " +
			"other alloc), run with its memory pre-allocated to what it needs versus grown on " +
			"demand from its initial size, under three host memory policies: wazero's default " +
			"(each grow appends to a Go slice, copying the memory), capacity-from-max " +
			"(RuntimeConfig.WithMemoryCapacityFromMax: the maximum reserved up front) and mmap " +
			"(address space reserved, pages committed on grow). Timed runs include the growth.",
		Favours:  "pre-allocation, or a host policy that never copies: growing under the default policy copies the whole memory again and again.",
		Params:   "4096 blocks of 32 KiB (short: 512), memory limit 8192 pages",
		Generate: preallocVsGrow,
		Variants: preallocVariants(),
		// What it measures is the host's growth, the same however the ops are called.
		Modes: []harness.Mode{harness.Replay},
	},
	{
		Name: "oom-sweep",
		Models: "A heap that keeps growing: the small-object mix with two allocs for every " +
			"free, until 96 MiB are live, run under fixed memory limits of 16 MiB and 64 MiB. " +
			"The out-of-memory point says how much of the limit a guest could use: " +
			"oom-live/limit is live bytes over the limit at the first failed alloc.",
		Favours:  "allocators with little overhead and fragmentation; bump and arena waste what is freed.",
		Params:   "up to 96 MiB live (short: the same), limits 16 MiB and 64 MiB",
		Generate: oomSweep,
		Variants: []Variant{{Name: "limit=16MiB", OOMLimitPages: 256}, {Name: "limit=64MiB", OOMLimitPages: 1024}},
	},
}

// Lookup returns the scenario named name.
func Lookup(name string) (*Scenario, error) {
	for _, s := range All {
		if s.Name == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// Match returns the scenarios whose names match the regular expression pattern,
// as go test's -run does.
func Match(pattern string) ([]*Scenario, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("-scenario: %v", err)
	}
	var out []*Scenario
	for _, s := range All {
		if re.MatchString(s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// traceKey is per Scenario value, not name: a user's trace file may share a
// shipped trace's name.
type traceKey struct {
	s     *Scenario
	short bool
}

var traces sync.Map // traceKey -> *trace.Trace

// Trace returns the scenario's trace, generated once per process and shared:
// callers must not modify it.
func (s *Scenario) Trace(short bool) *trace.Trace {
	key := traceKey{s, short}
	if t, ok := traces.Load(key); ok {
		return t.(*trace.Trace)
	}
	t, _ := traces.LoadOrStore(key, s.Generate(short))
	return t.(*trace.Trace)
}

// pick returns a generator's parameter: full, or small for the -short trace.
func pick(short bool, full, small int) int {
	if short {
		return small
	}
	return full
}

// newRand returns the scenario's seeded source, so a trace is the same on every run
// and every machine.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x616c6c6f636c6162)) // "alloclab"
}

// logUniform returns an integer in [lo, hi) whose logarithm is uniform.
func logUniform(r *rand.Rand, lo, hi uint32) uint32 {
	v := math.Exp(math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo))))
	return min(max(uint32(v), lo), hi-1)
}

// smallObjectSize draws from the size mix real programs show: mostly small objects,
// a tail of buffers.
func smallObjectSize(r *rand.Rand) uint32 {
	switch p := r.Float64(); {
	case p < 0.90:
		return logUniform(r, 8, 256)
	case p < 0.99:
		return logUniform(r, 256, 4096)
	default:
		return logUniform(r, 4096, 65536)
	}
}

// mallocAlign draws the alignments C, Rust and Go objects ask for.
func mallocAlign(r *rand.Rand) uint32 {
	switch p := r.Float64(); {
	case p < 0.80:
		return 8
	case p < 0.95:
		return 16
	case p < 0.99:
		return 4
	default:
		return 64
	}
}

func churn(short bool) *trace.Trace {
	r := newRand(1)
	target, steps := pick(short, 2000, 500), pick(short, 200000, 20000)
	var b trace.Builder
	for b.Live() < target {
		b.Alloc(smallObjectSize(r), mallocAlign(r))
	}
	lo, hi := target*9/10, target*11/10
	for b.Len() < steps {
		// A bounded random walk around the target keeps the live set steady.
		if n := b.Live(); n > lo && (n >= hi || r.IntN(2) == 0) {
			b.Free(b.LiveSlot(r.IntN(n)))
		} else {
			b.Alloc(smallObjectSize(r), mallocAlign(r))
		}
	}
	b.FreeAll()
	return b.Trace()
}

func arenaPhases(short bool) *trace.Trace {
	phases, perPhase := pick(short, 200, 20), pick(short, 2000, 500)
	// One phase's work, drawn once: each phase repeats it.
	r := newRand(2)
	type obj struct {
		size, align uint32
		temp        bool
	}
	work := make([]obj, perPhase)
	for i := range work {
		work[i] = obj{smallObjectSize(r), mallocAlign(r), r.IntN(10) == 0}
	}
	var b trace.Builder
	for p := 0; p < phases; p++ {
		var temps []uint32
		for _, o := range work {
			s := b.Alloc(o.size, o.align)
			if o.temp {
				temps = append(temps, s)
			}
			if len(temps) == 8 {
				for _, t := range temps {
					b.Free(t)
				}
				temps = temps[:0]
			}
		}
		b.Reset()
		if p == 0 || p == phases-1 {
			b.Mark()
		}
	}
	return b.Trace()
}

func pooledObjects(short bool) *trace.Trace {
	live, steps := pick(short, 5000, 1000), pick(short, 300000, 30000)
	kinds := []uint32{32, 64, 144}
	r := newRand(3)
	var b trace.Builder
	for b.Live() < live {
		b.Alloc(kinds[r.IntN(len(kinds))], 8)
	}
	b.Mark()
	for b.Len() < steps {
		// A death and a birth of the same kind.
		slot := b.LiveSlot(r.IntN(b.Live()))
		size := b.Size(slot)
		b.Free(slot)
		b.Alloc(size, 8)
	}
	b.Mark()
	b.FreeAll()
	return b.Trace()
}

func randomActions(short bool) *trace.Trace {
	actions := pick(short, 100000, 10000)
	r := newRand(4)
	var b trace.Builder
	for done := 0; done < actions; done++ {
		action := r.IntN(3)
		if b.Live() < 50 {
			action = 0
		}
		switch action {
		case 0:
			size := uint32(100 + r.IntN(901))
			align := uint32(8) << (bits.TrailingZeros16(uint16(r.Uint32())) / 2)
			b.Alloc(size, align)
		case 1:
			b.Free(b.LiveSlot(r.IntN(b.Live())))
		case 2:
			b.Realloc(b.LiveSlot(r.IntN(b.Live())), uint32(100+r.IntN(9901)))
		}
	}
	b.FreeAll()
	return b.Trace()
}

func reallocGrowth(short bool) *trace.Trace {
	buffers, steps := pick(short, 64, 16), pick(short, 100000, 10000)
	r := newRand(5)
	var b trace.Builder
	type buffer struct{ slot, size, final uint32 }
	start := func() buffer {
		return buffer{b.Alloc(16, 8), 16, logUniform(r, 64, 256<<10)}
	}
	bufs := make([]buffer, buffers)
	for i := range bufs {
		bufs[i] = start()
	}
	for b.Len() < steps {
		buf := &bufs[r.IntN(len(bufs))]
		if buf.size >= buf.final {
			b.Free(buf.slot)
			*buf = start()
			continue
		}
		buf.size *= 2
		b.Realloc(buf.slot, buf.size)
	}
	for _, buf := range bufs {
		b.Free(buf.slot)
	}
	return b.Trace()
}

func swissCheese(short bool) *trace.Trace {
	rounds := pick(short, 1000, 100)
	var b trace.Builder
	anchors := make([]uint32, 0, rounds)
	for i := 0; i < rounds; i++ {
		temp := b.Alloc(100<<10, 8)
		anchors = append(anchors, b.Alloc(1<<10, 8))
		b.Free(temp)
	}
	b.Mark()
	big := b.Alloc(1<<20, 8)
	b.Mark()
	b.Free(big)
	for _, a := range anchors {
		b.Free(a)
	}
	return b.Trace()
}

func alternating(short bool) *trace.Trace {
	rounds := pick(short, 1000, 100)
	var b trace.Builder
	for i := 0; i < rounds; i++ {
		b.Free(b.Alloc(85196, 8))
		b.Free(b.Alloc(80000, 8))
		if i == 0 || i == rounds-1 {
			b.Mark()
		}
	}
	return b.Trace()
}

func preallocVsGrow(short bool) *trace.Trace {
	blocks := pick(short, 4096, 512)
	var b trace.Builder
	for i := 0; i < blocks; i++ {
		b.Alloc(32<<10, 8)
	}
	b.FreeAll()
	return b.Trace()
}

func preallocVariants() []Variant {
	var vs []Variant
	for _, memory := range []string{"prealloc", "grow"} {
		for _, policy := range []harness.MemoryPolicy{harness.PolicyDefault, harness.PolicyCapacityFromMax, harness.PolicyMmap} {
			vs = append(vs, Variant{
				Name:            "memory=" + memory + "/policy=" + string(policy),
				LimitPages:      8192, // twice what the blocks need: room for allocator overhead
				Prealloc:        memory == "prealloc",
				GrowInTimedRuns: memory == "grow",
				Policy:          policy,
				SkipOOM:         true,
			})
		}
	}
	return vs
}

func oomSweep(bool) *trace.Trace {
	r := newRand(9)
	var b trace.Builder
	var live uint64
	for live < 96<<20 {
		if b.Live() > 0 && r.IntN(3) == 0 {
			slot := b.LiveSlot(r.IntN(b.Live()))
			live -= uint64(b.Size(slot))
			b.Free(slot)
			continue
		}
		size := logUniform(r, 16, 16<<10)
		live += uint64(size)
		b.Alloc(size, mallocAlign(r))
	}
	b.FreeAll()
	return b.Trace()
}
