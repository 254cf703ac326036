// Package scenarios holds the lab's workloads: deterministic, seeded sequences of
// allocator calls that every guest replays identically.
//
// A Scenario is a registry entry: its name, the program it models, the strategy it
// should favour, and a generator for its Trace at full and -short length. The table
// in README.md lists them.
package scenarios

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sync"
)

// Scenario is one workload in the registry.
type Scenario struct {
	Name    string
	Models  string // the program whose allocation behaviour it models
	Favours string // the strategy it should favour, and why
	Params  string // its parameters, full and -short
	// Generate builds the trace; short gives the smaller version used by tests.
	Generate func(short bool) *Trace
}

// All is the registry, in the order runs and tables list them.
var All = []*Scenario{
	{
		Name: "churn",
		Models: "A long-running service: random alloc and free around a steady live set, " +
			"with a small-object size mix (90% 8-256 B, 9% 256 B-4 KiB, 1% 4-64 KiB, " +
			"log-uniform within each band; alignment mostly 8 or 16). Everything is freed at the end.",
		Favours: "general-purpose allocators that reuse freed memory (freelist, pool); " +
			"bump and arena never reuse it and run out of memory first.",
		Params:   "live set 2000 blocks, 200000 ops (short: 500 blocks, 20000 ops), seed 1",
		Generate: func(short bool) *Trace { return churn(short) },
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

type traceKey struct {
	name  string
	short bool
}

var traces sync.Map // traceKey -> *Trace

// Trace returns the scenario's trace, generated once per process and shared:
// callers must not modify it.
func (s *Scenario) Trace(short bool) *Trace {
	key := traceKey{s.Name, short}
	if t, ok := traces.Load(key); ok {
		return t.(*Trace)
	}
	t, _ := traces.LoadOrStore(key, s.Generate(short))
	return t.(*Trace)
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

func churn(short bool) *Trace {
	r := newRand(1)
	target, steps := 2000, 200000
	if short {
		target, steps = 500, 20000
	}
	var b Builder
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
	for b.Live() > 0 {
		b.Free(b.LiveSlot(b.Live() - 1))
	}
	return b.Trace()
}
