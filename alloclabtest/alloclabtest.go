// Package alloclabtest runs alloclab from go test: it checks a WebAssembly
// allocator module in a test and measures it in a benchmark, with the lab's
// checker and metrics and nothing to install.
//
// A module keeps the lab's ABI (alloc, free and a memory export; see
// guests/README.md), the C convention (malloc, free) or wasm-bindgen's.
//
//	func TestAllocator(t *testing.T) {
//		alloclabtest.Check(t, wasm, alloclabtest.Name("mine"))
//	}
//
//	func BenchmarkAlloc(b *testing.B) {
//		b.Run("scenario=churn/guest=mine", func(b *testing.B) {
//			alloclabtest.Benchmark(b, wasm, "churn", alloclabtest.Name("mine"))
//		})
//	}
//
// Check replays the short version of every registered scenario but oom-sweep,
// and trace.Alignments, in replay and host mode under the checker, then runs the
// probes, as alloclab check does (package harness/check). The first fault fails
// the test with the line alloclab check prints:
//
//	guest mine, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live
//
// Benchmark checks the scenario once, then replays it on fresh instances, b.N
// ops in all (the last replay cut short), and reports the lab's metrics beside
// ns/op with b.ReportMetric. The exact ones are the same on every run: the
// instructions the module executed per op (instrs/op, p99-instrs, max-instrs,
// mem-ops/op and bulk-bytes/op, counted by a metered copy of it in the checked
// pass), its memory (pages-grown, peak-pages, grow-calls), fragmentation
// (heap/live, peak-live-bytes, peak-heap-bytes), the out-of-memory point under
// 16 MiB (oom-op, oom-live-bytes, oom-live/limit: absent when the trace fits),
// lost-bytes and wasm-bytes, and what it costs its host (touched-bytes,
// touched/live, discardable-bytes, peak-discardable-bytes; Linux). ns/op is the replays' own time over the ops they
// ran, instantiation excluded. Name benchmarks with /key=value parts, as the lab
// does, so benchstat -col /guest compares guests.
//
// Options choose the scenarios (Scenarios, Full), a user's trace file
// (TraceFile, from alloclab trace record), the memory limits (MemoryLimit,
// OOMLimit), the engine (Engine) and the modes (Modes). Bad options fail the
// test with the option's name.
//
// go test does not say which units are exact; WriteUnits, called from TestMain,
// writes the lines that tell benchstat, so that it compares them without a
// significance test, as it does for alloclab run's results.
//
// Calls share one wazero lab, so a module compiles once per test binary; they
// run one at a time.
package alloclabtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/check"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

// Option configures Check and Benchmark.
type Option struct{ apply func(*options) error }

type options struct {
	name        string
	scenarios   []*scenarios.Scenario
	traceFiles  []*scenarios.Scenario
	tracePaths  []string // the files of traceFiles
	full        bool
	engine      harness.Engine
	modes       []harness.Mode
	limit       uint32
	oomLimit    uint32
	timeout     time.Duration
	scenariosOK bool // Scenarios was given
}

// Name names the module in faults and logs; the default is "module".
func Name(name string) Option {
	return Option{func(o *options) error {
		if name == "" {
			return fmt.Errorf("Name: empty name")
		}
		o.name = name
		return nil
	}}
}

// Scenarios limits Check to the registered scenarios named (see alloclab list,
// or scenarios/README.md); none means only the trace files and alignments.
func Scenarios(names ...string) Option {
	return Option{func(o *options) error {
		o.scenarios, o.scenariosOK = nil, true
		for _, n := range names {
			sc, err := scenarios.Lookup(n)
			if err != nil {
				return fmt.Errorf("Scenarios: %v", err)
			}
			o.scenarios = append(o.scenarios, sc)
		}
		return nil
	}}
}

// TraceFile adds a trace file written by alloclab trace as the scenario
// trace-NAME, NAME the file's base name without its extension: Check replays it
// beside the scenarios, and Benchmark replays it when asked for that name.
func TraceFile(path string) Option {
	return Option{func(o *options) error {
		sc, err := scenarios.FromFile(path)
		if err != nil {
			return fmt.Errorf("TraceFile: %v", err)
		}
		o.traceFiles = append(o.traceFiles, sc)
		o.tracePaths = append(o.tracePaths, path)
		return nil
	}}
}

// Full replays the full version of each scenario instead of the short one.
func Full() Option {
	return Option{func(o *options) error { o.full = true; return nil }}
}

// Engine chooses wazero's engine: "compiler" (the default) or "interpreter".
func Engine(name string) Option {
	return Option{func(o *options) error {
		e, err := harness.ParseEngine(name)
		if err != nil {
			return fmt.Errorf("Engine: %v", err)
		}
		o.engine = e
		return nil
	}}
}

// Modes chooses how the lab calls the module: "replay" (a driver module calls
// it inside wazero, a batch of ops per host call) and "host" (one wazero call
// per op). Check runs both by default, Benchmark replay; Benchmark takes the
// first mode given.
func Modes(names ...string) Option {
	return Option{func(o *options) error {
		o.modes = nil
		for _, n := range names {
			m := harness.Mode(n)
			if m != harness.Replay && m != harness.Host {
				return fmt.Errorf("Modes: unknown mode %q (want replay or host)", n)
			}
			o.modes = append(o.modes, m)
		}
		if len(o.modes) == 0 {
			return fmt.Errorf("Modes: no mode")
		}
		return nil
	}}
}

// MemoryLimit caps the module's memory in every pass, in 64 KiB pages; the
// default is harness.MaxPages. A scenario that does not fit fails.
func MemoryLimit(pages uint32) Option {
	return Option{func(o *options) error {
		if pages < 1 || pages > harness.MaxPages {
			return fmt.Errorf("MemoryLimit(%d): want 1 to %d pages", pages, harness.MaxPages)
		}
		o.limit = pages
		return nil
	}}
}

// OOMLimit is the memory limit of Benchmark's out-of-memory pass, in 64 KiB
// pages (default 256, 16 MiB); 0 skips the pass.
func OOMLimit(pages uint32) Option {
	return Option{func(o *options) error {
		if pages > harness.MaxPages {
			return fmt.Errorf("OOMLimit(%d): want 0 (off) to %d pages", pages, harness.MaxPages)
		}
		o.oomLimit = pages
		return nil
	}}
}

// Timeout bounds each checked pass (default harness.DefaultTimeout): a module
// that hangs fails.
func Timeout(d time.Duration) Option {
	return Option{func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("Timeout(%v): want a positive duration", d)
		}
		o.timeout = d
		return nil
	}}
}

func parse(opts []Option) (*options, error) {
	o := &options{name: "module", engine: harness.Compiler, oomLimit: harness.DefaultOOMLimitPages, timeout: harness.DefaultTimeout}
	for _, opt := range opts {
		if err := opt.apply(o); err != nil {
			return nil, fmt.Errorf("alloclabtest: %v", err)
		}
	}
	if !o.scenariosOK {
		o.scenarios = defaultScenarios()
	}
	return o, nil
}

// WriteUnits writes the lab's units as benchfmt unit metadata ("Unit
// heap/live assume=exact better=lower", from package results' table), which
// benchstat applies to every result of its input. Call it from TestMain before
// m.Run, so that go test prints it before the benchmarks.
func WriteUnits(w io.Writer) error {
	return results.NewWriter(w).Declare(results.Fixed()...)
}

// skipped are the registered scenarios Check leaves out unless named: oom-sweep
// only runs out of memory (the probe does that) and its 171666 ops, the same in
// its short version, would take seconds.
var skipped = []string{"oom-sweep"}

func defaultScenarios() []*scenarios.Scenario {
	var out []*scenarios.Scenario
	for _, sc := range scenarios.All {
		if !slices.Contains(skipped, sc.Name) {
			out = append(out, sc)
		}
	}
	return out
}

func (o *options) config() harness.Config {
	return harness.Config{Engine: o.engine, MemoryLimitPages: o.limit, Timeout: o.timeout}
}

// lab is shared by every call in the test binary, so that each module compiles
// once; a Lab is not safe for concurrent use, so calls take turns.
var (
	mu  sync.Mutex
	lab = harness.NewLab()
)

// Check runs wasm through the lab's checker (see the package doc) and fails t
// with the first fault, in one line. With go test -v it logs each pass.
func Check(t testing.TB, wasm []byte, opts ...Option) {
	t.Helper()
	// Logged here, not as each pass ends, so that the lines name the caller.
	var lines []string
	err := verify(wasm, opts, func(line string) { lines = append(lines, line) })
	for _, line := range lines {
		t.Logf("%s", line)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
}

// Verify is Check outside a test: it returns the first fault, or an error
// naming a bad option or a module the harness cannot run, and nil when wasm
// passed.
func Verify(wasm []byte, opts ...Option) error {
	return verify(wasm, opts, nil)
}

func verify(wasm []byte, opts []Option, log func(string)) error {
	o, err := parse(opts)
	if err != nil {
		return err
	}
	g, err := harness.NewGuest(o.name, wasm)
	if err != nil {
		return fmt.Errorf("the harness cannot run it: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	traces := check.Scenarios(append(slices.Clip(o.scenarios), o.traceFiles...), !o.full)
	// Warnings (a guest that never reuses freed blocks) are in the probes' log lines.
	_, err = check.Run(context.Background(), lab, g, check.Options{Traces: traces, Modes: o.modes, Config: o.config()}, log)
	return err
}

// benchKey names what Benchmark measures once per test binary: Benchmark runs
// again for each b.N.
type benchKey struct {
	wasm     [32]byte
	scenario string // its name, or the trace file's path
	o        string // the options that change the exact metrics
}

type benchState struct {
	g        *harness.Guest
	trace    *trace.Trace
	exact    *harness.Exact
	prefixes map[int]*trace.Trace // the cut last replays, by length
}

var benchStates = map[benchKey]*benchState{}

// Benchmark measures wasm on the named scenario (a registered one, or trace-NAME
// of a TraceFile option) and reports the lab's metrics (see the package doc).
// A fault fails b with the one line Check would print.
func Benchmark(b *testing.B, wasm []byte, scenario string, opts ...Option) {
	b.Helper()
	if err := bench1(b, wasm, scenario, opts); err != nil {
		b.Fatalf("%v", err)
	}
}

func bench1(b *testing.B, wasm []byte, scenario string, opts []Option) error {
	o, err := parse(opts)
	if err != nil {
		return err
	}
	sc, source, err := o.lookup(scenario)
	if err != nil {
		return err
	}
	mode := harness.Replay
	if len(o.modes) > 0 {
		mode = o.modes[0]
	}
	cfg := o.config()
	cfg.Mode = mode
	ctx := context.Background()
	mu.Lock()
	defer mu.Unlock()
	key := benchKey{sha256.Sum256(wasm), source, fmt.Sprintf("%s %v %+v %d", o.name, o.full, cfg, o.oomLimit)}
	st := benchStates[key]
	if st == nil {
		g, err := harness.NewGuest(o.name, wasm)
		if err != nil {
			return fmt.Errorf("the harness cannot run it: %v", err)
		}
		t := sc.Trace(!o.full)
		e, err := lab.MeasureExact(ctx, g, sc.Name, t, cfg, o.oomLimit)
		if err != nil {
			return err
		}
		// What the guest costs its host, as alloclab run measures it beside.
		if err := lab.MeasureTouched(ctx, g, sc.Name, t, cfg, e); err != nil {
			return err
		}
		st = &benchState{g: g, trace: t, exact: e, prefixes: map[int]*trace.Trace{}}
		benchStates[key] = st
	}

	// Timed replays run without the checker or a timeout, after the checked pass
	// vetted the trace, on memory already as large as the checked pass left it,
	// as alloclab run's throughput pass does.
	timed := cfg
	timed.Timeout, timed.InitialPages = 0, st.exact.PeakPages
	total := &harness.Pass{}
	b.ResetTimer()
	for done := 0; done < b.N; {
		t := st.trace
		if n := b.N - done; n < len(t.Ops) {
			t = st.prefix(n)
		}
		p, err := lab.Run(ctx, st.g, sc.Name, t, timed)
		if err == nil && p.OOM != nil {
			err = &harness.Fault{Guest: st.g.Name, Scenario: sc.Name, Op: p.OOM.Op, Err: fmt.Errorf("out of memory in a timed run, though the checked run fit")}
		}
		if err != nil {
			return err
		}
		done += len(t.Ops)
		total.Ops += p.Ops
		total.Elapsed += p.Elapsed
	}
	b.StopTimer()
	res := &harness.Result{Scenario: sc.Name, Guest: st.g.Name, Mode: mode, Timed: total, Exact: st.exact, MarkUnit: sc.MarkUnit}
	for _, v := range res.Benchfmt().Values {
		b.ReportMetric(v.Value, v.Unit)
	}
	return nil
}

// prefix returns the trace's first n ops, made once per length.
func (st *benchState) prefix(n int) *trace.Trace {
	if p := st.prefixes[n]; p != nil {
		return p
	}
	p := &trace.Trace{Ops: st.trace.Ops[:n], Slots: st.trace.Slots}
	st.prefixes[n] = p
	return p
}

// lookup returns the scenario named name and where it comes from: the
// registry, or a trace file.
func (o *options) lookup(name string) (*scenarios.Scenario, string, error) {
	for i, sc := range o.traceFiles {
		if sc.Name == name {
			return sc, "file " + o.tracePaths[i], nil
		}
	}
	sc, err := scenarios.Lookup(name)
	if err != nil {
		return nil, "", fmt.Errorf("alloclabtest: Benchmark: %v", err)
	}
	return sc, name, nil
}
