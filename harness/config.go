package harness

import (
	"fmt"
	"time"

	"github.com/alloclab/alloclab/harness/internal/hostmem"
)

// Engine is wazero's execution engine.
type Engine string

// The engines.
const (
	Compiler    Engine = "compiler"
	Interpreter Engine = "interpreter"
)

// ParseEngine returns the engine named s.
func ParseEngine(s string) (Engine, error) {
	switch e := Engine(s); e {
	case Compiler, Interpreter:
		return e, nil
	}
	return "", fmt.Errorf("unknown engine %q (want compiler or interpreter)", s)
}

// Mode is how the harness calls the guest.
type Mode string

// The modes.
const (
	// Replay runs the ops inside wazero: a driver module calls the guest's exports
	// directly, a batch of ops per host call. It measures the allocator.
	Replay Mode = "replay"
	// Host makes one wazero call per op, as an embedder calling its guest does.
	Host Mode = "host"
)

// MemoryPolicy is how the host backs the guest's linear memory.
type MemoryPolicy = hostmem.Policy

// The memory policies; see package hostmem.
const (
	PolicyDefault         = hostmem.Default
	PolicyCapacityFromMax = hostmem.CapacityFromMax
	PolicyMmap            = hostmem.Mmap
)

// MaxPages is the largest memory limit the lab allows: one page short of wasm32's
// 4 GiB, because wazero v1.12.0 misreports memory.size at exactly 65536 pages
// (found by the lab's guest tests; wazero issues 1852 and 2505).
const MaxPages = 1<<16 - 1

// Config says how one pass runs.
type Config struct {
	Engine Engine
	Mode   Mode
	Policy MemoryPolicy
	// MemoryLimitPages caps the guest's memory; 0 means MaxPages. memory.grow past
	// it fails, and the first alloc that then returns 0 is the OOM point.
	MemoryLimitPages uint32
	// InitialPages, if non-zero, starts the guest's memory this large: it is grown
	// before the guest runs any code, so the module is not rewritten or recompiled.
	InitialPages uint32
	// Check runs every op past the shadow checker (see package shadow), on the
	// guest's metered module (Guest.Metered) so the pass has Counts, unless
	// NoCounts is set or the guest cannot be metered.
	Check, NoCounts bool
	// Timeout bounds the pass; 0 means none. A pass with a timeout runs on a runtime
	// that can interrupt guests, which costs time on every call, so timed passes
	// should run without one after a checked pass has vetted the same trace.
	Timeout time.Duration
	// Batch is the number of ops per host call in replay mode; 0 means 4096.
	Batch int
	// MeasureHost records the host process's peak resident memory over the pass,
	// instantiation included.
	MeasureHost bool
	// Touched backs the guest's memory by mmap in 4 KiB pages, none touched at the
	// start, and records Pass.TouchedBytes at the end. It is meant for unchecked
	// passes: the checker's fill patterns write every block.
	Touched bool
	// Quiet says the caller keeps the Go collector quiet around the pass (as
	// suite's timed windows do), so an unchecked pass skips its own
	// debug.FreeOSMemory, which costs a full collection per pass.
	Quiet bool
	// Latency times the pass in small pieces for tail latencies (see Latency);
	// MeasureCall times empty calls after it (Pass.CallNs).
	Latency, MeasureCall bool
}

func (c Config) withDefaults() Config {
	if c.Engine == "" {
		c.Engine = Compiler
	}
	if c.Mode == "" {
		c.Mode = Replay
	}
	if c.Policy == "" {
		c.Policy = PolicyDefault
	}
	if c.Touched {
		c.Policy = PolicyMmap
	}
	if c.MemoryLimitPages == 0 || c.MemoryLimitPages > MaxPages {
		c.MemoryLimitPages = MaxPages
	}
	if c.Batch <= 0 {
		c.Batch = 4096
	}
	return c
}

// GrowStats counts a guest's memory.grow calls and the time the host spent on them.
type GrowStats = hostmem.Stats
