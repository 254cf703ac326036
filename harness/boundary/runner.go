package boundary

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/results"
)

// pageSize is the size of a wasm page.
const pageSize = harness.PageSize

// StaleViewLimitPages is the memory limit of view-across-grow's instances: under
// capacity-from-max the host reserves all of it up front.
const StaleViewLimitPages = 4096

// StaleViewPolicies are the host memory policies view-across-grow runs under.
var StaleViewPolicies = []harness.MemoryPolicy{harness.PolicyDefault, harness.PolicyCapacityFromMax, harness.PolicyMmap}

// Runner runs the boundary scenarios against guests on a Lab, as alloclab
// boundary does, and turns what they measure into benchmark lines.
//
// Each guest first runs a scenario's workload under the Checker on a fresh
// instance, bounded by Timeout, whose memory grows on demand under the mmap
// policy (cheap to grow; the policy does not change what a guest does): this
// vets the guest and gives the exact metrics. Then each count times the workload
// on a fresh instance under wazero's default memory policy, without the checker:
// boundary-copy's memory starts at the pages the checked pass reached, so no
// memory.grow lands in the timing; host-handles' grows on demand, so what a leak
// costs in growth shows in its ns/op. Lines made only of exact metrics
// (view-across-grow, leak-check) are measured once per guest and repeated in
// every count.
//
// With CacheDir set, each Run runs on a lab of its own, closed when Run
// returns, that compiles through a disk cache in CacheDir (harness.NewLabCache),
// so a guest is compiled once and later Runs load its code. A lab keeps the
// modules it compiled, decoded, in the Go heap until it closes (the three
// go-runtime guests' come to about 20 MB in 110000 objects), and each of
// host-handles' forced collections marks them all: on one lab, a collection
// took 2.3 ms instead of 0.2, and host-handles over every guest twice as long.
// The compiled code is the same either way.
type Runner struct {
	Lab      *harness.Lab
	CacheDir string // if set, each Run gets a lab of its own (see above) and Lab is not used
	Engine   harness.Engine
	Short    bool
	Timeout  time.Duration // of each checked pass; 0 means harness.DefaultTimeout

	lab *harness.Lab // the current Run's

	copyPages  map[copyKey]uint32
	copyInstrs map[copyKey]float64 // instructions per op of the checked pass; absent when not counted
	handles    map[handlesKey]*HandlesRun
	exact      map[exactKey][]*Result
}

type copyKey struct {
	guest string
	way   Way
	size  uint32
}

type handlesKey struct {
	guest string
	way   Way
}

type exactKey struct{ guest, what string }

// NewRunner returns a runner on lab.
func NewRunner(lab *harness.Lab, engine harness.Engine, short bool, timeout time.Duration) *Runner {
	return &Runner{Lab: lab, Engine: engine, Short: short, Timeout: timeout,
		copyPages: map[copyKey]uint32{}, copyInstrs: map[copyKey]float64{}, handles: map[handlesKey]*HandlesRun{}, exact: map[exactKey][]*Result{}}
}

// Run runs one count of scenario against g, calling emit with each line as it is
// measured. unchecked marks a guest that is not an allocator (the lab's floor,
// whose blocks overlap): it runs boundary-copy's timed lines and density, without
// the checker, and nothing else. An error from the guest is a *harness.Fault naming
// the guest and the line.
func (r *Runner) Run(ctx context.Context, scenario string, g *harness.Guest, unchecked bool, emit func(*Result) error) error {
	r.lab = r.Lab
	if r.CacheDir != "" {
		lab, err := harness.NewLabCache(r.CacheDir)
		if err != nil {
			return fmt.Errorf("boundary: %w", err)
		}
		r.lab = lab
		defer lab.Close(context.WithoutCancel(ctx))
	}
	defer func() { r.lab = nil }()
	switch scenario {
	case ScenarioCopy:
		return r.runCopy(ctx, g, unchecked, emit)
	case ScenarioHandles:
		if unchecked {
			return nil
		}
		return r.runHandles(ctx, g, emit)
	case ScenarioLeak:
		if unchecked {
			return nil
		}
		return r.runLeak(ctx, g, emit)
	case ScenarioDensity:
		return r.runDensity(ctx, g, unchecked, emit)
	}
	return fmt.Errorf("unknown boundary scenario %q", scenario)
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return harness.DefaultTimeout
}

// checked runs fn on a fresh checked instance of g under the mmap policy (or
// policy, if set) within the time limit.
func (r *Runner) checked(ctx context.Context, g *harness.Guest, label string, policy harness.MemoryPolicy, limit uint32, fn func(ctx context.Context, c *Checker, inst *harness.Instance) error) error {
	if policy == "" {
		policy = harness.PolicyMmap
	}
	cfg := harness.Config{Engine: r.Engine, Policy: policy, MemoryLimitPages: limit, Timeout: r.timeout(), Check: true}
	tctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	inst, err := r.lab.Instantiate(tctx, g, cfg)
	if err != nil {
		return fault(g, label, err)
	}
	defer inst.Close(context.WithoutCancel(ctx))
	if err := fn(tctx, NewChecker(inst), inst); err != nil {
		// The guest's calls say so themselves; the checker's own loops do not.
		if errors.Is(tctx.Err(), context.DeadlineExceeded) && !errors.As(err, new(*harness.TimeLimitError)) {
			err = fmt.Errorf("%w: %w", &harness.TimeLimitError{Limit: cfg.Timeout}, err)
		}
		return fault(g, label, err)
	}
	return nil
}

// timed runs fn on a fresh unchecked instance of g under wazero's default
// memory policy, its memory starting at initialPages if that is not 0.
func (r *Runner) timed(ctx context.Context, g *harness.Guest, label string, initialPages uint32, fn func(inst *harness.Instance) error) error {
	inst, err := r.lab.Instantiate(ctx, g, harness.Config{Engine: r.Engine, Policy: harness.PolicyDefault, InitialPages: initialPages})
	if err != nil {
		return fault(g, label, err)
	}
	defer inst.Close(context.WithoutCancel(ctx))
	if err := fn(inst); err != nil {
		return fault(g, label, err)
	}
	return nil
}

func fault(g *harness.Guest, label string, err error) error {
	var f *harness.Fault
	if errors.As(err, &f) || errors.Is(err, harness.ErrInstanceLive) {
		return err
	}
	return &harness.Fault{Guest: g.Name, Scenario: label, Op: -1, Err: err}
}

func label(scenario string, parts []Part) string {
	s := scenario
	for _, p := range parts {
		s += "/" + p.Key + "=" + p.Value
	}
	return s
}

func (r *Runner) runCopy(ctx context.Context, g *harness.Guest, unchecked bool, emit func(*Result) error) error {
	for _, way := range CopyWays {
		for _, size := range Sizes {
			if err := ctx.Err(); err != nil {
				return err
			}
			parts := []Part{{"way", string(way)}, {"size", SizeName(size)}}
			lbl := label(ScenarioCopy, parts)
			ops := CopyOps(size, r.Short)
			warm := CopyWarmup(ops)
			k := copyKey{g.Name, way, size}
			pages, ok := r.copyPages[k]
			if !ok && !unchecked {
				err := r.checked(ctx, g, lbl, "", 0, func(ctx context.Context, c *Checker, inst *harness.Instance) error {
					before, counted := inst.Instrs()
					if _, err := RunCopy(ctx, c, way, size, warm, ops, true); err != nil {
						return err
					}
					if after, _ := inst.Instrs(); counted {
						r.copyInstrs[k] = float64(after-before) / float64(warm+ops)
					}
					if c.LiveBlocks != 0 {
						return fmt.Errorf("%d blocks still live after the workload", c.LiveBlocks)
					}
					pages = inst.Memory().Size() / pageSize
					return nil
				})
				if err != nil {
					return err
				}
				r.copyPages[k] = pages
			}
			var run *CopyRun
			err := r.timed(ctx, g, lbl, pages, func(inst *harness.Instance) error {
				var err error
				run, err = RunCopy(ctx, inst, way, size, warm, ops, false)
				return err
			})
			if err != nil {
				return err
			}
			res := &Result{Scenario: ScenarioCopy, Parts: parts, Guest: g.Name, Iters: run.Ops}
			res.add(harness.Round(float64(run.Elapsed.Nanoseconds())/float64(run.Ops), 5), results.UnitNsOp)
			res.add(float64(run.Copied/uint64(run.Ops)), results.UnitCopiedBytes)
			res.add(float64(run.Calls/run.Ops), results.UnitGuestCalls)
			if n, ok := r.copyInstrs[k]; ok {
				res.add(harness.Round(n, 7), results.UnitInstrsOp)
			}
			if err := emit(res); err != nil {
				return err
			}
		}
	}
	if unchecked {
		return nil
	}
	return r.runStaleViews(ctx, g, emit)
}

func (r *Runner) runStaleViews(ctx context.Context, g *harness.Guest, emit func(*Result) error) error {
	k := exactKey{g.Name, string(WayViewAcrossGrow)}
	if _, ok := r.exact[k]; !ok {
		var out []*Result
		for _, policy := range StaleViewPolicies {
			parts := []Part{{"way", string(WayViewAcrossGrow)}, {"policy", string(policy)}}
			var run *StaleRun
			err := r.checked(ctx, g, label(ScenarioCopy, parts), policy, StaleViewLimitPages, func(ctx context.Context, c *Checker, _ *harness.Instance) error {
				var err error
				run, err = RunViewAcrossGrow(ctx, c, Sizes)
				return err
			})
			if err != nil {
				return err
			}
			res := &Result{Scenario: ScenarioCopy, Parts: parts, Guest: g.Name, Iters: run.Trials}
			res.add(float64(run.Stale), results.UnitStaleViews)
			res.add(float64(run.LostWriteBytes), results.UnitLostWriteBytes)
			res.add(float64(run.Refused), results.UnitRefusedViews)
			out = append(out, res)
		}
		r.exact[k] = out
	}
	for _, res := range r.exact[k] {
		if err := emit(res); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) runHandles(ctx context.Context, g *harness.Guest, emit func(*Result) error) error {
	objects := HandleObjects(r.Short)
	for _, way := range HandleWays {
		if err := ctx.Err(); err != nil {
			return err
		}
		parts := []Part{{"way", string(way)}}
		lbl := label(ScenarioHandles, parts)
		k := handlesKey{g.Name, way}
		exact, ok := r.handles[k]
		if !ok {
			err := r.checked(ctx, g, lbl, "", 0, func(ctx context.Context, c *Checker, _ *harness.Instance) error {
				var err error
				exact, err = RunHandles(ctx, c, way, objects)
				return err
			})
			if err != nil {
				return err
			}
			r.handles[k] = exact
		}
		var run *HandlesRun
		err := r.timed(ctx, g, lbl, 0, func(inst *harness.Instance) error {
			var err error
			run, err = RunHandles(ctx, inst, way, objects)
			return err
		})
		if err != nil {
			return err
		}
		if run.LeakedBytes != exact.LeakedBytes {
			return fault(g, lbl, fmt.Errorf("leaked %d bytes in a timed run but %d in the checked run", run.LeakedBytes, exact.LeakedBytes))
		}
		res := &Result{Scenario: ScenarioHandles, Parts: parts, Guest: g.Name, Iters: run.Objects}
		res.add(harness.Round(float64(run.Elapsed.Nanoseconds())/float64(run.Objects), 5), results.UnitNsOp)
		res.add(float64(run.LeakedBytes), results.UnitLeakedBytes)
		res.add(float64(run.LiveBytesMax), results.UnitLiveBytesMax)
		if run.FreeDelayGC.N > 0 {
			res.add(harness.Round(run.FreeDelayGC.Mean(), 4), results.UnitFreeDelayGCMean)
			res.add(float64(run.FreeDelayGC.Max), results.UnitFreeDelayGCMax)
			res.add(harness.Round(run.FreeDelayObj.Mean(), 4), results.UnitFreeDelayObjMean)
			res.add(float64(run.FreeDelayObj.Max), results.UnitFreeDelayObjMax)
		}
		res.add(float64(run.EndGCs), results.UnitEndGCs)
		if err := emit(res); err != nil {
			return err
		}
		for _, s := range run.Samples {
			res := &Result{Scenario: ScenarioHandles, Guest: g.Name, Iters: s.Objects,
				Parts: []Part{{"way", string(way)}, {"at", strconv.Itoa(s.Percent) + "%"}}}
			res.add(float64(s.LiveBytes), results.UnitLiveBytes)
			res.add(float64(s.Pages), results.UnitPages)
			if err := emit(res); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Runner) runLeak(ctx context.Context, g *harness.Guest, emit func(*Result) error) error {
	k := exactKey{g.Name, ScenarioLeak}
	if _, ok := r.exact[k]; !ok {
		var out []*Result
		for _, after := range []string{ScenarioCopy, ScenarioHandles} {
			parts := []Part{{"after", after}}
			var leak *Leak
			err := r.checked(ctx, g, label(ScenarioLeak, parts), "", 0, func(ctx context.Context, c *Checker, _ *harness.Instance) error {
				if err := LeakWorkload(ctx, c, after, r.Short); err != nil {
					return err
				}
				var err error
				leak, err = c.LeakCheck(ctx)
				return err
			})
			if err != nil {
				return err
			}
			out = append(out, leakResult(g.Name, parts, leak))
		}
		r.exact[k] = out
	}
	for _, res := range r.exact[k] {
		if err := emit(res); err != nil {
			return err
		}
	}
	return nil
}

func leakResult(guest string, parts []Part, l *Leak) *Result {
	res := &Result{Scenario: ScenarioLeak, Parts: parts, Guest: guest, Iters: l.ProbeBlocks}
	res.add(float64(l.ProbeBytes), results.UnitProbeBytes)
	res.add(float64(l.LostBytes), results.UnitLostBytes)
	res.add(float64(l.HeldPages), results.UnitHeldPages)
	res.add(float64(l.ProbeGrownPages), results.UnitProbeGrownPages)
	return res
}

// LeakWorkload runs the workload leak-check follows: after boundary-copy, the
// copy way's calls at every payload size in turn; after host-handles, its close
// way. Both free every block they allocate.
func LeakWorkload(ctx context.Context, g Guest, after string, short bool) error {
	switch after {
	case ScenarioCopy:
		for _, size := range Sizes {
			if _, err := RunCopy(ctx, g, WayCopy, size, 0, CopyOps(size, short), true); err != nil {
				return fmt.Errorf("size %s: %w", SizeName(size), err)
			}
		}
		return nil
	case ScenarioHandles:
		_, err := RunHandles(ctx, g, WayClose, HandleObjects(short))
		return err
	}
	return fmt.Errorf("leak check: unknown workload %q", after)
}
