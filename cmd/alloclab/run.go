package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/suite"
)

func runCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var (
		guest, scenario, modes, engine, output, traceFile, baselines, shard, cache string
		limit, oomLimit                                                            uint
		resume, progress                                                           bool
		seed                                                                       uint64
	)
	o := suite.Options{Log: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }}
	fs := newFlagSet("alloclab run", stderr)
	fs.StringVar(&guest, "guest", ".", "guests to run: a regexp of names, or a path to a .wasm module")
	fs.StringVar(&scenario, "scenario", ".", "scenarios to run: a regexp of names")
	fs.IntVar(&o.Count, "count", 1, "timed runs of each benchmark")
	fs.DurationVar(&o.BenchTime, "benchtime", defaultBenchTime, "least time each count replays the trace for, on fresh instances (0: once)")
	fs.BoolVar(&o.Short, "short", false, "use the short version of each scenario")
	fs.StringVar(&engine, "engine", "compiler", "wazero engine: compiler or interpreter")
	fs.StringVar(&modes, "mode", "replay", "comma-separated modes: replay, host")
	fs.UintVar(&limit, "limit", harness.MaxPages, "memory limit of every run, in 64 KiB pages")
	fs.UintVar(&oomLimit, "oom-limit", harness.DefaultOOMLimitPages, "memory limit of the out-of-memory pass, in 64 KiB pages")
	fs.DurationVar(&o.Timeout, "timeout", harness.DefaultTimeout, "time limit of each checked pass")
	fs.BoolVar(&o.Latency, "latency", true, "run latency passes for tail latencies and time spent growing")
	fs.IntVar(&o.LatencyCounts, "latency-counts", suite.DefaultLatencyCounts, "run the latency pass in this many of the counts, spread over them (0: every count)")
	fs.StringVar(&baselines, "baselines", "guests/baselines/out", "folder of built baselines (guests/baselines/build.sh) that -guest patterns also match")
	fs.StringVar(&shard, "shard", "", "run only slice i of n of the benchmarks (i/n, 1 <= i <= n); merged slices give the whole run")
	fs.BoolVar(&resume, "resume", false, "with -o: keep the results the file holds and skip the runs they cover")
	fs.StringVar(&traceFile, "trace", "", "replay this trace file (from alloclab trace) as scenario trace-NAME, instead of -scenario's")
	fs.StringVar(&output, "o", "", "append the results to this file as each benchmark finishes, instead of writing them to standard output")
	fs.StringVar(&cache, "cache", defaultCache, `folder of cached exact passes ("default": the user's cache folder; "off": none)`)
	fs.Uint64Var(&seed, "seed", uint64(time.Now().UnixNano()), "seed of each count's shuffled order (recorded in the results as shuffle-seed)")
	fs.BoolVar(&progress, "progress", isTerminal(stderr), "one updating progress line instead of a line per benchmark (default: on a terminal)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("run: unexpected argument %q", fs.Arg(0))
	case o.Count < 1:
		return usagef("-count %d: want 1 or more", o.Count)
	case limit < 1 || limit > harness.MaxPages:
		return usagef("-limit %d: want 1 to %d pages", limit, harness.MaxPages)
	case oomLimit > harness.MaxPages:
		return usagef("-oom-limit %d: want 0 (off) to %d pages", oomLimit, harness.MaxPages)
	case o.BenchTime < 0:
		return usagef("-benchtime %v: want 0 or more", o.BenchTime)
	case o.LatencyCounts < 0:
		return usagef("-latency-counts %d: want 0 (every count) or more", o.LatencyCounts)
	case resume && output == "":
		return usagef("-resume needs -o")
	}
	o.LimitPages, o.OOMLimitPages, o.Seed = uint32(limit), uint32(oomLimit), seed
	var err error
	if o.Engine, err = harness.ParseEngine(engine); err != nil {
		return usagef("-engine: %v", err)
	}
	for _, m := range strings.Split(modes, ",") {
		switch mode := harness.Mode(strings.TrimSpace(m)); mode {
		case harness.Replay, harness.Host:
			o.Modes = append(o.Modes, mode)
		default:
			return usagef("-mode: unknown mode %q (want replay or host)", m)
		}
	}
	if o.Guests, err = suite.SelectGuests(guest, baselines, stderr); err != nil {
		return flagError(err)
	}
	for _, g := range o.Guests {
		if _, err := g.Metered(); err != nil && g.Name != guests.Floor.Name {
			fmt.Fprintf(stderr, "# guest %s runs without instruction counts: %v\n", g.Name, err)
		}
	}
	if traceFile != "" {
		sc, err := scenarios.FromFile(traceFile)
		if err != nil {
			return fmt.Errorf("-trace: %w", err)
		}
		o.Scenarios = append(o.Scenarios, sc)
	} else if o.Scenarios, err = scenarios.Match(scenario); err != nil {
		return usageError{err}
	} else if len(o.Scenarios) == 0 {
		return usagef("-scenario %q matches no scenario", scenario)
	}
	if o.Shard, o.Shards, err = suite.ParseShard(shard); err != nil {
		return flagError(err)
	}
	if o.Cache, err = openCache(cache); err != nil {
		return err
	}

	out := results.NewWriter(stdout)
	switch {
	case resume:
		out, o.Done, err = results.Resume(output)
	case output != "":
		out, err = results.Create(output)
	}
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	defer out.Close()
	o.Config = append(append(suite.FileConfig(o.Engine), suite.GuestConfig(o.Guests)...), suite.ScenarioConfig(o.Scenarios)...)
	o.Config = append(o.Config, benchfmt.Config{Key: "shuffle-seed", Value: fmt.Appendf(nil, "%d", seed), File: true})
	if progress {
		o.Progress = progressLine(stderr)
	} else {
		o.Progress = progressLog(stderr)
	}
	r, err := suite.New(o)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stderr, "# %d benchmarks, %d counts, -benchtime %v: expect about %v\n", len(r.Benches()), o.Count, o.BenchTime, r.Estimate().Round(time.Second))
	if err := r.Run(ctx, out); err != nil {
		return err
	}
	if fails := r.Failures(); len(fails) > 0 {
		fmt.Fprintf(stderr, "# %d failed:\n", len(fails))
		for _, err := range fails {
			fmt.Fprintf(stderr, "#   %v\n", err)
		}
		return errFailed
	}
	return nil
}

// The defaults of -benchtime and -cache; the tests replay once and cache nothing.
var (
	defaultBenchTime = suite.DefaultBenchTime
	defaultCache     = "default"
)

// flagError makes a suite.FlagError a usage error.
func flagError(err error) error {
	if errors.As(err, new(suite.FlagError)) {
		return usageError{err}
	}
	return err
}

func openCache(dir string) (*suite.Cache, error) {
	switch dir {
	case "off":
		return nil, nil
	case "default":
		d, err := suite.DefaultCacheDir()
		if err != nil {
			return nil, nil // no cache folder: measure every time
		}
		dir = d
	}
	c, err := suite.OpenCache(dir)
	if err != nil {
		return nil, fmt.Errorf("-cache: %w", err)
	}
	return c, nil
}

// isTerminal says whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine redraws one line: count k of n, benchmarks done, the current one
// and the time left.
func progressLine(w io.Writer) func(suite.Progress) {
	return func(p suite.Progress) {
		if p.Current == "" {
			fmt.Fprintf(w, "\r\033[K# done: %d benchmarks\n", p.Done)
			return
		}
		fmt.Fprintf(w, "\r\033[Kcount %d/%d  %d/%d done  %s  left %s", p.Count, p.Counts, p.Done, p.Total, p.Current, left(p))
	}
}

// progressLog writes a line per benchmark, for logs.
func progressLog(w io.Writer) func(suite.Progress) {
	return func(p suite.Progress) {
		if p.Current != "" {
			fmt.Fprintf(w, "# count %d/%d: %s (%d/%d done, left %s)\n", p.Count, p.Counts, p.Current, p.Done, p.Total, left(p))
		}
	}
}

func left(p suite.Progress) string {
	if p.Done == 0 {
		return "?"
	}
	return p.Left.Round(time.Second).String()
}
