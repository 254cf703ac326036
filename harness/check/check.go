// Package check runs a module through the lab's checker, as alloclab check and
// package alloclabtest do: each trace in each mode on a fresh instance, every
// block checked against a shadow map of the live blocks (see package harness),
// then the probes. The first fault ends it as a *harness.Fault, whose message is
// one line naming the guest, the scenario, the op and the fault.
//
//	lab := harness.NewLab()
//	g, err := harness.NewGuest("mine", wasm)
//	...
//	warnings, err := check.Run(ctx, lab, g, check.Options{Traces: check.Quick()}, log)
package check

import (
	"context"
	"fmt"
	"strings"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/probe"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

// Trace is one trace to check, named as faults name it.
type Trace struct {
	Scenario string
	Trace    *trace.Trace
}

// AlignmentsScenario names trace.Alignments in faults.
const AlignmentsScenario = "alignments"

// Quick returns the traces alloclab check runs: churn's short trace, which mixes
// sizes and lifetimes, and trace.Alignments, every alignment the ABI allows.
func Quick() []Trace {
	churn, err := scenarios.Lookup("churn")
	if err != nil {
		panic(err) // the registry always has churn
	}
	return []Trace{{churn.Name, churn.Trace(true)}, {AlignmentsScenario, trace.Alignments()}}
}

// Scenarios returns the traces of scs, short or full, then trace.Alignments.
func Scenarios(scs []*scenarios.Scenario, short bool) []Trace {
	var out []Trace
	for _, sc := range scs {
		out = append(out, Trace{sc.Name, sc.Trace(short)})
	}
	return append(out, Trace{AlignmentsScenario, trace.Alignments()})
}

// Modes are the modes a check runs each trace in by default: both call paths.
var Modes = []harness.Mode{harness.Replay, harness.Host}

// Options says what Run checks and how.
type Options struct {
	Traces []Trace
	Modes  []harness.Mode // nil means Modes
	// Config is the engine, memory limit and timeout of every pass (its Mode and
	// Check are set per pass); a zero Timeout means harness.DefaultTimeout.
	Config harness.Config
}

// Run checks g: every trace in every mode, then the probes. log, if not nil,
// gets one line per pass and probe that passed. Warnings are findings that are
// not faults. err is the first fault (a *harness.Fault) or a failure of the lab.
func Run(ctx context.Context, lab *harness.Lab, g *harness.Guest, o Options, log func(string)) (warnings []string, err error) {
	if log == nil {
		log = func(string) {}
	}
	if _, err := g.Metered(); err != nil {
		log(fmt.Sprintf("counts: none, it runs without instruction counts: %v", err))
	}
	modes := o.Modes
	if modes == nil {
		modes = Modes
	}
	for _, tr := range o.Traces {
		for _, mode := range modes {
			cfg := o.Config
			cfg.Mode = mode
			e, err := lab.MeasureExact(ctx, g, tr.Scenario, tr.Trace, cfg, 0)
			if err != nil {
				return nil, err
			}
			log(fmt.Sprintf("checker: %s, %s mode: %d ops, every block sound; %d pages, heap/live %.3g; %v",
				tr.Scenario, mode, e.Ops, e.PeakPages, e.Fragmentation(), e.Counts))
		}
	}
	return probes(ctx, lab, g, o.Config, log)
}

// probes runs the probes of package probe: out of memory (a fault there ends
// the check) and reuse (sizes whose freed blocks are never used again are a
// warning).
func probes(ctx context.Context, lab *harness.Lab, g *harness.Guest, cfg harness.Config, log func(string)) ([]string, error) {
	cfg.Mode = harness.Replay
	if cfg.Timeout == 0 {
		cfg.Timeout = harness.DefaultTimeout
	}
	oom, err := probe.OOM(ctx, lab, g, cfg)
	if err != nil {
		return nil, err
	}
	log("oom probe: " + oom.String())
	reuse, err := probe.Reuse(ctx, lab, g, cfg)
	if err != nil {
		return nil, err
	}
	var warnings []string
	if never := reuse.NeverReused(); len(never) > 0 {
		warnings = append(warnings, "it never reuses freed blocks of "+probe.Sizes(never))
		log("reuse probe: warning: never reuses freed blocks of " + probe.Sizes(never) +
			": memory grew by half of what passed through, one block live at a time")
	} else {
		log("reuse probe: reuses freed blocks of " + probe.Sizes(probe.ReuseSizes))
	}
	log("reuse probe: pages grown at each size: " + reuse.Grown())
	return warnings, nil
}

// Convention describes the allocator convention g uses and which of its
// functions g exports, as alloclab check prints it: the lab's ABI, C's
// malloc/free (through the C adapter) or wasm-bindgen's (through its adapter).
func Convention(g *harness.Guest) string {
	has := func(names ...string) string {
		var out []string
		for _, n := range names {
			if g.Exports(n) {
				out = append(out, n)
			} else {
				out = append(out, "no "+n)
			}
		}
		return strings.Join(out, ", ")
	}
	switch g.Convention {
	case harness.ConventionC:
		note := ""
		if !g.Exports("aligned_alloc") {
			note = "; without aligned_alloc, alignments above 16 fail"
		}
		return "C (" + has("malloc", "free", "aligned_alloc", "realloc") + "), through the lab's C adapter" + note
	case harness.ConventionBindgen:
		return "wasm-bindgen (" + has("__wbindgen_malloc", "__wbindgen_free", "__wbindgen_realloc") + "), through the lab's wasm-bindgen adapter"
	}
	return "the lab's ABI (" + has("alloc", "free", "realloc", "reset", "_initialize") + ")"
}
