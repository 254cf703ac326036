// Package suite runs the lab's scenario suite: every selected scenario, variant,
// guest and mode (the grid), each as one benchmark of Count counts, written as
// benchmark lines through package results.
//
// A Runner runs in two phases. First the exact passes: each benchmark's trace is
// replayed under the shadow checker (the exact metrics and heap data) and again
// under the out-of-memory limit, in replay mode and once for both modes (they
// give the same exact metrics), in parallel on Workers labs, and remembered on
// disk (Cache) keyed by the guest's sha256, the trace's digest, the pass's
// configuration and the lab's build, so a re-run skips them. Then the timed
// phase, alone: Count counts, each over every benchmark, the first in the grid's
// order (benchstat's columns follow the order a file meets its guests) and the
// others in an order shuffled with Seed, so a drifting machine drifts on
// everyone. A count replays the trace on fresh instances until BenchTime has
// passed, instantiation excluded, with the Go collector quiet, starting from the
// memory the checked pass ended with (sec/op: the allocator's own work), then once
// in small timed pieces from the guest's own initial memory (the latency pass);
// see timedConfigs for the variants that differ.
//
// A guest that faults fails its benchmark, with one line naming the guest, the
// scenario and the op; its other benchmarks and the other guests go on.
package suite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

// Options say what a Runner runs and how.
type Options struct {
	Scenarios []*scenarios.Scenario
	Guests    []*harness.Guest
	Modes     []harness.Mode
	Engine    harness.Engine
	Short     bool // the short version of each scenario
	Count     int  // timed counts of each benchmark; 0 runs the exact passes only
	// LimitPages caps every pass's memory (0: harness.MaxPages); OOMLimitPages is
	// the out-of-memory pass's limit (0: off).
	LimitPages, OOMLimitPages uint32
	Timeout                   time.Duration // of each checked pass
	Latency                   bool          // latency passes
	// LatencyCounts is how many counts run the latency pass, spread evenly over
	// them (LatencyCount); 0 or more than Count means every count.
	LatencyCounts int
	// BenchTime is the least time each count replays the trace for; 0 replays it once.
	BenchTime time.Duration
	Seed      uint64 // the shuffle's seed
	// Shard and Shards select every Shards'th benchmark of the grid from the
	// Shard'th (1-based), all counts of each; 0/0 is all.
	Shard, Shards int
	Workers       int    // exact passes run at once; 0 means GOMAXPROCS
	Cache         *Cache // exact passes remembered on disk; nil for none
	// Done counts results an earlier run already wrote, per benchmark name
	// (results.Resume): those counts are skipped.
	Done map[string]int
	// Config is written as file configuration on every result.
	Config []benchfmt.Config
	// Log receives progress and warnings, one line each; may be nil.
	Log func(format string, args ...any)
	// Progress, if set, is called before each timed benchmark and at the end.
	Progress func(Progress)
}

// Progress says where a run is.
type Progress struct {
	Count, Counts int    // the count under way, from 1
	Done, Total   int    // timed benchmarks finished and in the run
	Current       string // the benchmark about to run; "" at the end
	Left          time.Duration
}

// Bench is one benchmark of the grid.
type Bench struct {
	Scenario *scenarios.Scenario
	Variant  scenarios.Variant
	Guest    *harness.Guest
	Mode     harness.Mode
}

// Name is the benchmark's name.
func (b *Bench) Name() results.Name {
	return results.Name{Scenario: b.Scenario.Name, Variant: b.Variant.Name, Guest: b.Guest.Name, Mode: string(b.Mode)}
}

// Grid returns the benchmarks of scenarios × variants × guests × modes, in that
// nesting, leaving out modes a scenario does not run in.
func Grid(scs []*scenarios.Scenario, gs []*harness.Guest, modes []harness.Mode) []*Bench {
	var out []*Bench
	for _, sc := range scs {
		variants := sc.Variants
		if len(variants) == 0 {
			variants = []scenarios.Variant{{}}
		}
		for _, v := range variants {
			for _, g := range gs {
				for _, m := range modes {
					if len(sc.Modes) == 0 || slices.Contains(sc.Modes, m) {
						out = append(out, &Bench{sc, v, g, m})
					}
				}
			}
		}
	}
	return out
}

// Runner runs the suite. Make one with New.
type Runner struct {
	o        Options
	benches  []*Bench
	exact    map[exactKey]*harness.Exact
	failed   map[*Bench]bool
	failures []error
}

// New returns a Runner of o's grid (its shard).
func New(o Options) (*Runner, error) {
	if o.Shards == 0 {
		o.Shard, o.Shards = 1, 1
	}
	if o.Shards < 1 || o.Shard < 1 || o.Shard > o.Shards {
		return nil, fmt.Errorf("shard %d/%d: want 1 <= i <= n", o.Shard, o.Shards)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	r := &Runner{o: o, exact: map[exactKey]*harness.Exact{}, failed: map[*Bench]bool{}}
	for i, b := range Grid(o.Scenarios, o.Guests, o.Modes) {
		if i%o.Shards == o.Shard-1 {
			r.benches = append(r.benches, b)
		}
	}
	return r, nil
}

// Benches returns the runner's benchmarks.
func (r *Runner) Benches() []*Bench { return r.benches }

// Failures returns the faults of the guests that failed, one per benchmark.
func (r *Runner) Failures() []error { return r.failures }

// Run runs the exact phase, then the timed phase, writing to out. It returns
// only errors that stop the run (a failed write, an interruption); faults of
// guests are in Failures.
func (r *Runner) Run(ctx context.Context, out *results.Writer) error {
	done := maps(r.o.Done)
	var todo []*Bench // benchmarks with counts left
	for _, b := range r.benches {
		if done[b.Name().String()] < r.o.Count || r.o.Count == 0 {
			todo = append(todo, b)
		}
	}
	if err := r.exactPhase(ctx, todo, out); err != nil {
		return err
	}
	return r.timedPhase(ctx, todo, done, out)
}

func maps(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newLab returns a lab that keeps compiled code beside the exact-pass cache, if
// there is one.
func (r *Runner) newLab() *harness.Lab {
	if r.o.Cache != nil {
		if lab, err := harness.NewLabCache(filepath.Join(r.o.Cache.Dir, "wazero")); err == nil {
			return lab
		}
	}
	return harness.NewLab()
}

// fail records a guest's fault; an interruption is not the guest's.
func (r *Runner) fail(ctx context.Context, b *Bench, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	r.o.Log("# FAIL %v", err)
	r.failures = append(r.failures, err)
	r.failed[b] = true
	return nil
}

// exactKey names the checked passes of a benchmark. Neither the mode nor the host
// memory policy changes what a guest does, so a benchmark's two modes share them
// (exactConfig), and so do variants that differ only in policy.
type exactKey struct {
	guest, scenario string
	v               scenarios.Variant // without Name and Policy
}

func keyOf(b *Bench) exactKey {
	k := exactKey{b.Guest.Name, b.Scenario.Name, b.Variant}
	k.v.Name, k.v.Policy = "", ""
	return k
}

// exactPhase measures every benchmark's exact metrics, from the cache or on
// Workers labs at once, and writes their heap records.
func (r *Runner) exactPhase(ctx context.Context, todo []*Bench, out *results.Writer) error {
	type job struct {
		b   *Bench
		key exactKey
	}
	var jobs []job
	seen := map[exactKey]bool{}
	for _, b := range todo {
		if k := keyOf(b); b.Guest.Name != guests.Floor.Name && !seen[k] {
			seen[k] = true
			jobs = append(jobs, job{b, k})
		}
	}
	errs := make([]error, len(jobs))
	exact := make([]*harness.Exact, len(jobs))
	workers := cmp.Or(r.o.Workers, runtime.GOMAXPROCS(0))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex // orders the log lines
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lab := r.newLab()
			defer lab.Close(context.WithoutCancel(ctx))
			for i := range next {
				start := time.Now()
				b := jobs[i].b
				cached := true
				e, err := r.o.Cache.get(b, r.o)
				if e == nil && err == nil {
					cached = false
					e, err = measureExact(ctx, lab, b, r.o)
					if err == nil {
						err = r.o.Cache.put(b, r.o, e)
					}
				}
				exact[i], errs[i] = e, err
				mu.Lock()
				if err == nil && !cached {
					r.o.Log("# %s: checked %d ops in %v", b.Name(), e.Ops, time.Since(start).Round(time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	failed := map[exactKey]error{}
	for i, j := range jobs {
		if errs[i] != nil {
			failed[j.key] = errs[i]
			continue
		}
		r.exact[j.key] = exact[i]
	}
	untouched := false // said once why touched-bytes is missing
	for _, b := range todo {
		k := keyOf(b)
		if err := failed[k]; err != nil {
			if err := r.fail(ctx, b, err); err != nil {
				return err
			}
			continue
		}
		e := r.exact[k]
		if e == nil {
			continue
		}
		if e.TouchedErr != nil && !untouched {
			untouched = true
			r.o.Log("# touched-bytes is not measured: %v", e.TouchedErr)
		}
		if e.OOM != nil && e.OOM.Trap != "" {
			r.o.Log("# guest %s, scenario %s: ran out of memory by trapping at op %d: %s", b.Guest.Name, b.Name().Label(), e.OOM.Op, e.OOM.Trap)
		}
		if err := out.Heap(b.Name().String(), &results.HeapRecord{Samples: e.Samples, Peak: e.PeakMap, OOM: e.OOMMap, OOMPoint: e.OOM, Counts: e.Counts}); err != nil {
			return err
		}
	}
	return nil
}

// timedPhase runs the counts: the first in the grid's order, so that the results
// file meets the guests in that order and benchstat's first column (its base) is
// the grid's first guest; every later one in a shuffled order.
func (r *Runner) timedPhase(ctx context.Context, todo []*Bench, done map[string]int, out *results.Writer) error {
	total := 0
	for _, b := range todo {
		total += max(r.o.Count-done[b.Name().String()], 0)
	}
	lab := r.newLab()
	defer lab.Close(context.WithoutCancel(ctx))
	start, finished := time.Now(), 0
	progress := func(c int, cur string) {
		if r.o.Progress == nil {
			return
		}
		var left time.Duration
		if finished > 0 {
			left = time.Since(start) / time.Duration(finished) * time.Duration(total-finished)
		}
		r.o.Progress(Progress{Count: c, Counts: r.o.Count, Done: finished, Total: total, Current: cur, Left: left})
	}
	for c := 1; c <= r.o.Count; c++ {
		order := slices.Clone(todo)
		if c > 1 {
			rand.New(rand.NewPCG(r.o.Seed, uint64(c))).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, b := range order {
			name := b.Name().String()
			if r.failed[b] {
				continue
			}
			if done[name] > 0 {
				done[name]-- // this count finished in an earlier run
				continue
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
			progress(c, name)
			res, err := r.timed(ctx, lab, b, r.o.Latency && LatencyCount(c, r.o.Count, r.o.LatencyCounts))
			if err != nil {
				if err := r.fail(ctx, b, err); err != nil {
					return err
				}
				continue
			}
			rec := res.Benchfmt()
			rec.Config = r.o.Config
			if err := out.Write(rec); err != nil {
				return err
			}
			finished++
		}
	}
	progress(r.o.Count, "")
	return nil
}

// LatencyCount reports whether count c of n (from 1) runs the latency pass when
// k counts do: the k are spread evenly from the first, so that a drifting
// machine drifts on the tails as on sec/op. The latency pass is a replay of its
// own from the guest's initial memory, about a third of a count's time; the tails
// of six counts were as steady as ten's (README, "Latency in six counts").
func LatencyCount(c, n, k int) bool {
	if k <= 0 || k >= n {
		return true
	}
	return c == 1 || (c-1)*k/n != (c-2)*k/n
}

// timed runs one count of a benchmark: the throughput window and, if latency,
// the latency pass.
func (r *Runner) timed(ctx context.Context, lab *harness.Lab, b *Bench, latency bool) (*harness.Result, error) {
	t := b.Scenario.Trace(r.o.Short)
	cfg, _, err := config(b, r.o)
	if err != nil {
		return nil, err
	}
	label := b.Name().Label()
	e := r.exact[keyOf(b)]
	timed, lat := timedConfigs(b, cfg, e)
	p, err := window(ctx, lab, b.Guest, label, t, timed, r.o.BenchTime)
	if err != nil {
		return nil, err
	}
	res := &harness.Result{Scenario: b.Scenario.Name, Variant: b.Variant.Name, Guest: b.Guest.Name, Mode: b.Mode,
		Timed: p, Exact: e, MarkUnit: b.Scenario.MarkUnit, Host: cfg.MeasureHost}
	if latency {
		if res.Latency, err = lab.Run(ctx, b.Guest, label, t, lat); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// timedConfigs returns the configurations of a count's throughput window and
// latency pass, given the benchmark's exact passes e (nil if it has none).
//
// The window starts with the memory the checked pass ended with, so it times the
// allocator's own work, unless the variant times growth. The latency pass grows
// memory on demand, so memory.grow shows in the tail and in the time spent
// growing, on an mmap reservation unless the variant names a policy: under the
// default policy each grow past the slice's capacity copies the whole memory, and
// as-stub, growing to 2 GiB on realloc-growth, spent 9 s a pass copying.
// A pre-allocating variant starts both with the memory the checked pass
// started with: a guest that takes memory only through memory.grow (mimalloc,
// Rust's std) grows past it anyway, as it did in the checked pass, and started
// from that pass's end it would grow as much again, past the variant's limit.
func timedConfigs(b *Bench, cfg harness.Config, e *harness.Exact) (timed, lat harness.Config) {
	timed, lat = cfg, cfg
	timed.MeasureCall = b.Mode == harness.Host
	lat.MeasureHost, lat.Latency = false, true
	if b.Variant.Policy == "" {
		lat.Policy = harness.PolicyMmap
	}
	switch {
	case e == nil:
	case b.Variant.Prealloc:
		timed.InitialPages, lat.InitialPages = e.InitialPages, e.InitialPages
	case !b.Variant.GrowInTimedRuns:
		timed.InitialPages = e.PeakPages
	}
	return timed, lat
}

// window replays t on fresh instances until d of replaying has passed (at least
// once), or until maxWindow times d of wall time has, and returns the first pass
// with the ops and the time of all of them: instantiation is outside every pass's
// time. The wall-time cap matters for short traces, whose replay takes
// microseconds while a fresh instance takes milliseconds: without it a 402-op
// trace spent 52 s of instantiating per count to gather 100 ms of replays. The Go
// collector is off during the window; it runs between replays, outside their
// time, once the closed instances' memory passes quietHeap.
func window(ctx context.Context, lab *harness.Lab, g *harness.Guest, label string, t *trace.Trace, cfg harness.Config, d time.Duration) (*harness.Pass, error) {
	debug.FreeOSMemory()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	cfg.Quiet = true
	var first *harness.Pass
	var elapsed time.Duration
	ops, garbage := 0, uint64(0)
	start := time.Now()
	for first == nil || (elapsed < d && time.Since(start) < maxWindow*d) {
		if garbage > quietHeap {
			runtime.GC()
			garbage = 0
		}
		p, err := lab.Run(ctx, g, label, t, cfg)
		if err == nil && p.OOM != nil {
			err = &harness.Fault{Guest: g.Name, Scenario: label, Op: p.OOM.Op, Err: errors.New("out of memory in a timed run, though the checked run fit")}
		}
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = p
		}
		elapsed += p.Elapsed
		ops += p.Ops
		garbage += uint64(p.Pages) * harness.PageSize
		first.HostPeakBytes = max(first.HostPeakBytes, p.HostPeakBytes)
	}
	first.Elapsed, first.Ops = elapsed, ops
	return first, nil
}

// maxWindow bounds a window's wall time, in multiples of -benchtime.
const maxWindow = 3

// quietHeap is how much closed instances' memory a window lets pile up before
// it collects between replays.
const quietHeap = 256 << 20

// config returns the configuration of a benchmark's passes and its out-of-memory limit.
func config(b *Bench, o Options) (harness.Config, uint32, error) {
	v := b.Variant
	cfg := harness.Config{Engine: o.Engine, Mode: b.Mode, MemoryLimitPages: o.LimitPages}
	oomLimit := o.OOMLimitPages
	if v.LimitPages != 0 {
		cfg.MemoryLimitPages = v.LimitPages
	}
	if v.OOMLimitPages != 0 {
		oomLimit = v.OOMLimitPages
	}
	if v.SkipOOM {
		oomLimit = 0
	}
	if v.Policy != "" {
		cfg.Policy, cfg.MeasureHost = v.Policy, true
	}
	return cfg, oomLimit, nil
}

// exactConfig returns the configuration of a benchmark's exact passes: its
// config in replay mode, whatever its own. Both modes give the same exact
// metrics, heap maps and samples included (harness's TestGuestsPassScenarios), so
// a benchmark's two modes share one set of exact passes, in replay mode, where
// the driver runs the ops inside wazero.
func exactConfig(b *Bench, o Options) (harness.Config, uint32, error) {
	cfg, oomLimit, err := config(b, o)
	cfg.Mode = harness.Replay
	return cfg, oomLimit, err
}

// measureExact runs the checked passes and the touched pass. A pre-allocating
// variant first learns the pages the guest needs, then measures with its memory
// starting that large.
func measureExact(ctx context.Context, lab *harness.Lab, b *Bench, o Options) (*harness.Exact, error) {
	cfg, oomLimit, err := exactConfig(b, o)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = o.Timeout
	t, label := b.Scenario.Trace(o.Short), b.Name().Label()
	if b.Variant.Prealloc {
		need, err := lab.MeasureExact(ctx, b.Guest, label, t, cfg, 0)
		if err != nil {
			return nil, err
		}
		cfg.InitialPages = need.PeakPages
	}
	e, err := lab.MeasureExact(ctx, b.Guest, label, t, cfg, oomLimit)
	if err != nil {
		return nil, err
	}
	if err := lab.MeasureTouched(ctx, b.Guest, label, t, cfg, e); err != nil {
		return nil, err
	}
	return e, nil
}

// DefaultLatencyCounts is -latency-counts's default: the fewest counts for which
// benchstat gives a 95% interval.
const DefaultLatencyCounts = 6

// DefaultBenchTime is -benchtime's default, chosen by measurement (README).
const DefaultBenchTime = 50 * time.Millisecond

// Estimate guesses the run's wall time before it starts, from rough costs on a
// 2-core machine: each uncached exact pass exactCost over the workers, each timed
// count BenchTime plus the instances and the latency pass around it. The
// progress line refines it from the passes so far.
func (r *Runner) Estimate() time.Duration {
	var d time.Duration
	seen := map[exactKey]bool{}
	for _, b := range r.benches {
		left := max(r.o.Count-r.o.Done[b.Name().String()], 0)
		if left == 0 {
			continue
		}
		d += time.Duration(left) * (countOverhead + 2*r.o.BenchTime)
		if r.o.Latency {
			for c := r.o.Count - left + 1; c <= r.o.Count; c++ {
				if LatencyCount(c, r.o.Count, r.o.LatencyCounts) {
					d += latencyCost
				}
			}
		}
		if k := keyOf(b); b.Guest.Name != guests.Floor.Name && !seen[k] {
			seen[k] = true
			if e, _ := r.o.Cache.get(b, r.o); e == nil {
				d += exactCost / time.Duration(cmp.Or(r.o.Workers, runtime.GOMAXPROCS(0)))
			}
		}
	}
	return d
}

// Rough costs for Estimate, measured on the lab's 2-core machine: a full make
// bench of 2 December 2026 (672 benchmarks, count 10) ran its 560 exact passes in
// 11.8 minutes on 2 workers, and one count of every benchmark with each pass timed
// (alloclab run -count 1 -mode replay,host) took 194 s of throughput windows
// and 94 s of latency passes. A window takes on average about 100 ms plus twice
// -benchtime of wall time (fresh instances between replays, the last replay's
// overrun, long traces whose one replay outlasts -benchtime): 290 ms measured at
// 100ms, 195 ms at 50ms as simulated from that count's replays and instances.
const (
	countOverhead = 100 * time.Millisecond
	latencyCost   = 140 * time.Millisecond
	exactCost     = 2500 * time.Millisecond
)
