package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/boundary"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/suite"
)

type boundaryOptions struct {
	guest, scenario string
	baselines       string
	count           int
	short           bool
	timeout         time.Duration
	output          string
}

// boundaryCmd runs the host-boundary scenarios (package harness/boundary) against
// the selected guests: alloclab boundary [-guest list] [-scenario regexp]
// [-count n] [-short] [-timeout d] [-baselines dir] [-o file].
func boundaryCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var o boundaryOptions
	fs := newFlagSet("alloclab boundary", stderr)
	fs.StringVar(&o.guest, "guest", ".", "guests to run: a comma-separated list of regexps of names and paths of .wasm modules")
	fs.StringVar(&o.baselines, "baselines", "guests/baselines/out", "folder of built baselines (guests/baselines/build.sh) that -guest patterns also match")
	fs.StringVar(&o.scenario, "scenario", ".", "boundary scenarios to run: a regexp of boundary-copy, host-handles, leak-check, density")
	fs.IntVar(&o.count, "count", 1, "timed runs of each benchmark")
	fs.BoolVar(&o.short, "short", false, "use the short version of each scenario")
	fs.DurationVar(&o.timeout, "timeout", harness.DefaultTimeout, "time limit of each checked pass")
	fs.StringVar(&o.output, "o", "", "write the results to this file, as each benchmark finishes, instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("boundary: unexpected argument %q", fs.Arg(0))
	}
	if o.count < 1 {
		return usagef("-count %d: want 1 or more", o.count)
	}
	if o.timeout <= 0 {
		return usagef("-timeout %v: want a positive duration", o.timeout)
	}
	re, err := regexp.Compile(o.scenario)
	if err != nil {
		return usagef("-scenario: %v", err)
	}
	var scs []string
	for _, sc := range boundary.Scenarios {
		if re.MatchString(sc) {
			scs = append(scs, sc)
		}
	}
	if len(scs) == 0 {
		return usagef("-scenario %q matches no boundary scenario (boundary-copy, host-handles, leak-check, density)", o.scenario)
	}
	gs, err := suite.SelectGuests(o.guest, o.baselines, stderr)
	if err != nil {
		return flagError(err)
	}

	out := results.NewWriter(stdout)
	if o.output != "" {
		if out, err = results.Create(o.output); err != nil {
			return fmt.Errorf("-o: %w", err)
		}
	}
	defer out.Close() // out.Write declares each unit from results.BoundaryUnits
	engine := harness.Compiler
	config := suite.FileConfig(engine)
	// Each guest runs on a lab of its own, compiling through a cache of this run's
	// (boundary.Runner.CacheDir), so no guest's compiled modules stay in the heap
	// that host-handles' forced collections mark.
	cache, err := os.MkdirTemp("", "alloclab-boundary-")
	if err != nil {
		return fmt.Errorf("compilation cache: %w", err)
	}
	defer os.RemoveAll(cache)
	runner := boundary.NewRunner(nil, engine, o.short, o.timeout)
	runner.CacheDir = cache

	type key struct{ guest, scenario string }
	failed := map[key]bool{}
	var failures []error
	var writeErr error
	emit := func(r *boundary.Result) error {
		if r.Note != "" {
			fmt.Fprintf(stderr, "# %s: %d instances: %s\n", r.Name(), r.Iters, r.Note)
		}
		rec := r.Benchfmt()
		rec.Config = config
		if err := out.Write(rec); err != nil {
			writeErr = err
			return err
		}
		return nil
	}
	// The count loop is outermost, so the runs of one benchmark are spread over the
	// whole run, as benchstat advises.
	for c := 0; c < o.count; c++ {
		for _, sc := range scs {
			for _, g := range gs {
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted: %w", ctx.Err())
				}
				k := key{g.Name, sc}
				if failed[k] {
					continue
				}
				// The floor's blocks overlap: it is no allocator, only the cost of
				// the calls, so it runs boundary-copy's timed lines and density (the
				// cost of an instance) and nothing else.
				floor := g.Name == guests.Floor.Name
				start := time.Now()
				err := runner.Run(ctx, sc, g, floor, emit)
				switch {
				case writeErr != nil:
					return writeErr
				case ctx.Err() != nil:
					return fmt.Errorf("interrupted: %w", ctx.Err())
				case errors.Is(err, boundary.ErrDensityUnsupported):
					fmt.Fprintf(stderr, "# %v\n", err)
					failed[k] = true // says so once per guest, and is no failure
				case err != nil:
					fmt.Fprintf(stderr, "# FAIL %v\n", err)
					failures = append(failures, err)
					failed[k] = true
				case !floor || sc == boundary.ScenarioCopy || sc == boundary.ScenarioDensity:
					fmt.Fprintf(stderr, "# Boundary/scenario=%s/guest=%s: count %d in %v\n", sc, g.Name, c+1, time.Since(start).Round(time.Millisecond))
				}
			}
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(stderr, "# %d failed:\n", len(failures))
		for _, err := range failures {
			fmt.Fprintf(stderr, "#   %v\n", err)
		}
		return errFailed
	}
	return nil
}
