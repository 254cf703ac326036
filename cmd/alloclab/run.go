package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

type runOptions struct {
	guest, scenario, modes, engine string
	count                          int
	short                          bool
	limit, oomLimit                uint
	timeout                        time.Duration
	output                         string
	latency                        bool
	trace                          string
	baselines                      string
	resume                         bool
	shard                          string
}

func runCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var o runOptions
	fs := newFlagSet("alloclab run", stderr)
	fs.StringVar(&o.guest, "guest", ".", "guests to run: a regexp of names, or a path to a .wasm module")
	fs.StringVar(&o.scenario, "scenario", ".", "scenarios to run: a regexp of names")
	fs.IntVar(&o.count, "count", 1, "timed runs of each benchmark")
	fs.BoolVar(&o.short, "short", false, "use the short version of each scenario")
	fs.StringVar(&o.engine, "engine", "compiler", "wazero engine: compiler or interpreter")
	fs.StringVar(&o.modes, "mode", "replay", "comma-separated modes: replay, host")
	fs.UintVar(&o.limit, "limit", harness.MaxPages, "memory limit of every run, in 64 KiB pages")
	fs.UintVar(&o.oomLimit, "oom-limit", harness.DefaultOOMLimitPages, "memory limit of the out-of-memory pass, in 64 KiB pages")
	fs.DurationVar(&o.timeout, "timeout", harness.DefaultTimeout, "time limit of each checked pass")
	fs.BoolVar(&o.latency, "latency", true, "run a latency pass per count for tail latencies and time spent growing")
	fs.StringVar(&o.baselines, "baselines", "guests/baselines/out", "folder of built baselines (guests/baselines/build.sh) that -guest patterns also match")
	fs.StringVar(&o.shard, "shard", "", "run only slice i of n of the benchmarks (i/n, 1 <= i <= n); merged slices give the whole run")
	fs.BoolVar(&o.resume, "resume", false, "with -o: keep the results the file holds and skip the runs they cover")
	fs.StringVar(&o.trace, "trace", "", "replay this trace file (from alloclab trace) as scenario trace-NAME, instead of -scenario's")
	fs.StringVar(&o.output, "o", "", "write the results to this file, as each benchmark finishes, instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run: unexpected argument %q", fs.Arg(0))
	}
	if o.count < 1 {
		return usagef("-count %d: want 1 or more", o.count)
	}
	if o.limit < 1 || o.limit > harness.MaxPages {
		return usagef("-limit %d: want 1 to %d pages", o.limit, harness.MaxPages)
	}
	if o.oomLimit > harness.MaxPages {
		return usagef("-oom-limit %d: want 0 (off) to %d pages", o.oomLimit, harness.MaxPages)
	}
	engine, err := harness.ParseEngine(o.engine)
	if err != nil {
		return usagef("-engine: %v", err)
	}
	var modes []harness.Mode
	for _, m := range strings.Split(o.modes, ",") {
		switch mode := harness.Mode(strings.TrimSpace(m)); mode {
		case harness.Replay, harness.Host:
			modes = append(modes, mode)
		default:
			return usagef("-mode: unknown mode %q (want replay or host)", m)
		}
	}
	gs, err := selectGuests(o.guest, o.baselines, stderr)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if _, err := g.Metered(); err != nil && g.Name != guests.Floor.Name {
			fmt.Fprintf(stderr, "# guest %s runs without instruction counts: %v\n", g.Name, err)
		}
	}
	var scs []*scenarios.Scenario
	if o.trace != "" {
		sc, err := scenarios.FromFile(o.trace)
		if err != nil {
			return fmt.Errorf("-trace: %w", err)
		}
		scs = append(scs, sc)
	} else {
		if scs, err = scenarios.Match(o.scenario); err != nil {
			return usageError{err}
		}
		if len(scs) == 0 {
			return usagef("-scenario %q matches no scenario", o.scenario)
		}
	}

	shard, shards, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	if o.resume && o.output == "" {
		return usagef("-resume needs -o")
	}
	out, err := newResults(stdout, o.output)
	if err != nil {
		return err
	}
	done := map[string]int{}
	if o.resume {
		if done, err = out.resume(); err != nil {
			return err
		}
	}
	for _, u := range harness.ExactUnits {
		out.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u, Key: "assume"}, OrigUnit: u, Value: "exact"})
	}
	s := &suite{
		opts:   o,
		engine: engine,
		lab:    harness.NewLab(),
		out:    out,
		config: append(append(fileConfig(engine), guestConfig(gs)...), scenarioConfig(scs)...),
		stderr: stderr,
		exact:  map[exactKey]*harness.Exact{},
		failed: map[benchKey]bool{},
		done:   done,
	}
	defer s.lab.Close(context.WithoutCancel(ctx))
	// The count loop is outermost, so the runs of one benchmark are spread over the
	// whole run, as benchstat advises. A shard takes every n'th benchmark of the
	// matrix, all counts of each, so merged shards hold the same benchmarks.
	for c := 0; c < o.count; c++ {
		index := 0
		for _, sc := range scs {
			variants := sc.Variants
			if len(variants) == 0 {
				variants = []scenarios.Variant{{}}
			}
			for _, v := range variants {
				for _, g := range gs {
					for _, mode := range modes {
						if len(sc.Modes) > 0 && !slices.Contains(sc.Modes, mode) {
							continue
						}
						index++
						if (index-1)%shards != shard-1 {
							continue
						}
						if ctx.Err() != nil {
							return fmt.Errorf("interrupted: %w", ctx.Err())
						}
						if err := s.bench(ctx, sc, v, g, mode); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(stderr, "# %d failed:\n", len(s.failures))
		for _, err := range s.failures {
			fmt.Fprintf(stderr, "#   %v\n", err)
		}
		return errFailed
	}
	return nil
}

type benchKey struct {
	guest, scenario, variant string
	mode                     harness.Mode
}

// exactKey names the checked passes of a benchmark. The host memory policy does not
// change what a guest does, so variants that differ only in policy share them.
type exactKey struct {
	guest, scenario string
	mode            harness.Mode
	v               scenarios.Variant // without Name and Policy
}

// suite is the state of one alloclab run.
type suite struct {
	opts     runOptions
	engine   harness.Engine
	lab      *harness.Lab
	out      *results
	config   []benchfmt.Config
	stderr   io.Writer
	exact    map[exactKey]*harness.Exact // measured once per benchmark
	failed   map[benchKey]bool
	failures []error
	done     map[string]int // with -resume: results already in the file, per name
	// untouched says why touched-bytes could not be measured, once.
	untouched bool
}

// bench runs one count of one benchmark and writes its line. A guest's fault is
// reported and remembered, and its later counts skipped; only a failure to write
// the results is returned.
func (s *suite) bench(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, g *harness.Guest, mode harness.Mode) error {
	k := benchKey{g.Name, sc.Name, v.Name, mode}
	if s.failed[k] {
		return nil
	}
	if name := benchName(sc.Name, v.Name, g.Name, mode); s.done[name] > 0 {
		s.done[name]-- // this count finished in an earlier run
		return nil
	}
	label := sc.Name // names the scenario and variant in errors
	if v.Name != "" {
		label += "/" + v.Name
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err()) // not the guest's fault
		}
		fmt.Fprintf(s.stderr, "# FAIL %v\n", err)
		s.failures = append(s.failures, err)
		s.failed[k] = true
		return nil
	}
	t := sc.Trace(s.opts.short)
	cfg, oomLimit := variantConfig(v, s.engine, mode, uint32(s.opts.limit), uint32(s.opts.oomLimit))
	floor := g.Name == guests.Floor.Name
	ek := exactKey{g.Name, sc.Name, mode, v}
	ek.v.Name, ek.v.Policy = "", ""
	e := s.exact[ek]
	if e == nil && !floor {
		start := time.Now()
		var err error
		if e, err = measureExact(ctx, s.lab, g, label, t, cfg, v, s.opts.timeout, oomLimit); err != nil {
			return fail(err)
		}
		s.exact[ek] = e
		if e.TouchedErr != nil && !s.untouched {
			s.untouched = true
			fmt.Fprintf(s.stderr, "# touched-bytes is not measured: %v\n", e.TouchedErr)
		}
		s.out.Heap(benchName(sc.Name, v.Name, g.Name, mode), e)
		if e.OOM != nil && e.OOM.Trap != "" {
			fmt.Fprintf(s.stderr, "# guest %s, scenario %s: ran out of memory by trapping at op %d: %s\n", g.Name, label, e.OOM.Op, e.OOM.Trap)
		}
		fmt.Fprintf(s.stderr, "# %s: checked %d ops in %v\n", benchName(sc.Name, v.Name, g.Name, mode), e.Ops, time.Since(start).Round(time.Millisecond))
	}

	// The throughput pass starts with the memory the checked pass ended with, so it
	// times the allocator's own work, unless the variant times growth.
	timed := cfg
	timed.MeasureCall = mode == harness.Host
	if e != nil && (v.Prealloc || !v.GrowInTimedRuns) {
		timed.InitialPages = e.PeakPages
	}
	p, err := s.lab.Run(ctx, g, label, t, timed)
	if err == nil && p.OOM != nil {
		err = &harness.Fault{Guest: g.Name, Scenario: label, Op: p.OOM.Op, Err: errors.New("out of memory in a timed run, though the checked run fit")}
	}
	if err != nil {
		return fail(err)
	}
	res := &harness.Result{Scenario: sc.Name, Variant: v.Name, Guest: g.Name, Mode: mode,
		Timed: p, Exact: e, MarkUnit: sc.MarkUnit, Host: cfg.MeasureHost}

	// The latency pass grows memory on demand (unless the variant pre-allocates), so
	// memory.grow shows in the tail and in the time spent growing.
	if s.opts.latency {
		lat := cfg
		lat.MeasureHost, lat.Latency = false, true
		if e != nil && v.Prealloc {
			lat.InitialPages = e.PeakPages
		}
		if res.Latency, err = s.lab.Run(ctx, g, label, t, lat); err != nil {
			return fail(err)
		}
	}
	rec := res.Benchfmt()
	rec.Config = s.config
	return s.out.Write(rec)
}

// parseShard parses -shard i/n; empty means 1/1.
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 1, 1, nil
	}
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != s {
		return 0, 0, usagef("-shard %q: want i/n with 1 <= i <= n", s)
	}
	return i, n, nil
}

// variantConfig returns the configuration of a scenario variant's passes and its
// out-of-memory limit.
func variantConfig(v scenarios.Variant, engine harness.Engine, mode harness.Mode, limit, oomLimit uint32) (harness.Config, uint32) {
	cfg := harness.Config{Engine: engine, Mode: mode, MemoryLimitPages: limit}
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
	return cfg, oomLimit
}

// measureExact runs the checked passes and the touched pass. A pre-allocating
// variant first learns the pages the guest needs, then measures with its memory
// starting that large.
func measureExact(ctx context.Context, lab *harness.Lab, g *harness.Guest, scenario string, t *trace.Trace, cfg harness.Config, v scenarios.Variant, timeout time.Duration, oomLimit uint32) (*harness.Exact, error) {
	cfg.Timeout = timeout
	if v.Prealloc {
		need, err := lab.MeasureExact(ctx, g, scenario, t, cfg, 0)
		if err != nil {
			return nil, err
		}
		cfg.InitialPages = need.PeakPages
	}
	e, err := lab.MeasureExact(ctx, g, scenario, t, cfg, oomLimit)
	if err != nil {
		return nil, err
	}
	if err := lab.MeasureTouched(ctx, g, scenario, t, cfg, e); err != nil {
		return nil, err
	}
	return e, nil
}

func benchName(scenario, variant, guest string, mode harness.Mode) string {
	return (&harness.Result{Scenario: scenario, Variant: variant, Guest: guest, Mode: mode}).Name()
}

// selectGuests returns the guests -guest names: a comma-separated list whose
// elements are paths of .wasm modules or regular expressions matched against the
// names of the lab's guests, the built baselines in the folder baselines, and the
// floor, in that order.
func selectGuests(list, baselines string, stderr io.Writer) ([]*harness.Guest, error) {
	known, err := knownGuests(baselines, list == ".", stderr)
	if err != nil {
		return nil, err
	}
	var out []*harness.Guest
	seen := map[string]bool{}
	add := func(g *harness.Guest) {
		if !seen[g.Name] {
			seen[g.Name] = true
			out = append(out, g)
		}
	}
	for _, pattern := range strings.Split(list, ",") {
		if strings.HasSuffix(pattern, ".wasm") {
			g, err := loadGuest(pattern, "")
			if err != nil {
				return nil, err
			}
			add(g)
			continue
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, usagef("-guest: %v", err)
		}
		n := len(out)
		for _, g := range known {
			if re.MatchString(g.Name) {
				add(g)
			}
		}
		if len(out) == n {
			return nil, usagef("-guest %q matches no guest", pattern)
		}
	}
	return out, nil
}

// knownGuests returns the lab's guests, the baselines built into the folder
// baselines (none there is a warning when warn is set: make guests builds them),
// and the floor.
func knownGuests(baselines string, warn bool, stderr io.Writer) ([]*harness.Guest, error) {
	var out []*harness.Guest
	for _, b := range guests.All {
		g, err := harness.NewGuest(b.Name, b.Wasm)
		if err != nil {
			return nil, err
		}
		g.Toolchain = b.Toolchain
		out = append(out, g)
	}
	paths, _ := filepath.Glob(filepath.Join(baselines, "*.wasm"))
	if len(paths) == 0 && warn {
		fmt.Fprintf(stderr, "# warning: no baselines in %s: make guests builds them\n", baselines)
	}
	for _, path := range paths {
		toolchain, _ := os.ReadFile(strings.TrimSuffix(path, ".wasm") + ".toolchain")
		g, err := loadGuest(path, strings.TrimSpace(string(toolchain)))
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	floor, err := harness.NewGuest(guests.Floor.Name, guests.Floor.Wasm)
	if err != nil {
		return nil, err
	}
	floor.Toolchain = guests.Floor.Toolchain
	return append(out, floor), nil
}

// loadGuest reads a guest from a .wasm file, named by the file.
func loadGuest(path, toolchain string) (*harness.Guest, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("-guest: %v", err)
	}
	g, err := harness.NewGuest(strings.TrimSuffix(filepath.Base(path), ".wasm"), wasm)
	if err != nil {
		return nil, fmt.Errorf("-guest %s: %w", path, err)
	}
	g.Toolchain = toolchain
	return g, nil
}

// guestConfig describes every guest of the run as file configuration: its size,
// its sha256 and what built it. The keys are set once, before the first result,
// so they do not split benchstat's tables.
func guestConfig(gs []*harness.Guest) []benchfmt.Config {
	var cfg []benchfmt.Config
	for _, g := range gs {
		toolchain := g.Toolchain
		if toolchain == "" {
			toolchain = "unknown toolchain"
		}
		cfg = append(cfg, benchfmt.Config{Key: "guest-" + g.Name, File: true,
			Value: []byte(fmt.Sprintf("%d bytes, sha256 %s, %s", g.Size(), g.SHA256(), toolchain))})
	}
	return cfg
}

// scenarioConfig describes every scenario of the run as file configuration,
// "scenario-NAME: what it models. Parameters: ...", so the results pages describe
// a run with its own texts, not with a later registry's.
func scenarioConfig(scs []*scenarios.Scenario) []benchfmt.Config {
	var cfg []benchfmt.Config
	for _, sc := range scs {
		desc := strings.TrimSpace(sc.Models)
		if sc.Params != "" {
			desc += " Parameters: " + sc.Params + "."
		}
		desc = strings.Join(strings.Fields(desc), " ") // one line
		if desc == "" || strings.ContainsAny(sc.Name, " \t") {
			continue
		}
		cfg = append(cfg, benchfmt.Config{Key: "scenario-" + sc.Name, File: true, Value: []byte(desc)})
	}
	return cfg
}

// fileConfig describes the machine and the toolchain, as go test -bench does.
func fileConfig(engine harness.Engine) []benchfmt.Config {
	cfg := []benchfmt.Config{
		{Key: "goos", Value: []byte(runtime.GOOS), File: true},
		{Key: "goarch", Value: []byte(runtime.GOARCH), File: true},
	}
	if cpu := cpuName(); cpu != "" {
		cfg = append(cfg, benchfmt.Config{Key: "cpu", Value: []byte(cpu), File: true})
	}
	cfg = append(cfg,
		benchfmt.Config{Key: "go", Value: []byte(runtime.Version()), File: true},
		benchfmt.Config{Key: "wazero", Value: []byte(moduleVersion("github.com/tetratelabs/wazero")), File: true},
		benchfmt.Config{Key: "engine", Value: []byte(engine), File: true},
	)
	return cfg
}

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return ""
}
