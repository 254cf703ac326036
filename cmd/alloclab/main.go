// Command alloclab runs WebAssembly allocator guests under wazero against the lab's
// scenarios and prints the measurements in the Go benchmark format, which benchstat
// reads directly.
//
// Usage:
//
//	alloclab run [flags]
//	alloclab boundary [-guest list] [-scenario regexp] [-count n] [-short] [-timeout d] [-baselines dir] [-o file]
//	alloclab check [-timeout d] module.wasm
//	alloclab report -o dir [-base run|none] [-rank run] [-title t] results/runs/RUN.txt...
//	alloclab compare [-count n] [-o dir] OLD [NEW] [-- run flags]
//	alloclab noise RUN.txt...
//	alloclab trace record -o out.trace [-process main|largest|NAME] [-max-ops n] [-free-live] -- command [args...]
//	alloclab trace import -o out.trace [-source s] [-command c] [-max-ops n] [-free-live] file.mtrace
//	alloclab trace record-wasm -o out.trace [-invoke export] [-max-ops n] [-free-live] [-timeout d] module.wasm [-- args...]
//	alloclab trace info file.trace...
//
// Run replays every selected scenario against every selected guest and writes one
// benchmark line per guest, scenario, mode and count to standard output; progress,
// warnings and failures go to standard error as lines starting with "#". Flags that
// share a name with go test's behave as they do there:
//
//	-guest list        comma-separated: regexps of the lab's guests' names, and paths
//	                   of .wasm modules, each named by its file (default "." for all)
//	-scenario regexp   scenarios to run, by name (default ".")
//	-count n           timed runs of each benchmark (default 1)
//	-short             use the short version of each scenario
//	-engine name       wazero engine: compiler (default) or interpreter
//	-mode list         comma-separated: replay (default; the ops run inside wazero in
//	                   batches) and host (one wazero call per op)
//	-limit pages       memory limit of every run, in 64 KiB pages (default 65535: one
//	                   page short of 4 GiB, where wazero misreports memory.size)
//	-oom-limit pages   memory limit of the out-of-memory pass (default 256: 16 MiB)
//	-trace file        replay this trace file (see trace below) instead of -scenario's
//	-timeout d         time limit of each checked pass (default 2m)
//	-shard i/n         run only every n-th benchmark of the matrix, starting with the
//	                   i-th (all counts of each): merged shards make the whole run
//	-resume            with -o: keep the results the file already holds and skip
//	                   the runs they cover, to finish an interrupted run
//	-o file            append the results to file as each benchmark finishes, one
//	                   write per line, and the heap data to the .heap.json beside it
//	-benchtime d       least time each count replays the trace for (default 50ms)
//	-latency           run latency passes (default true); -latency-counts n runs
//	                   them in n of the counts, spread over them (default 6)
//	-cache dir         cached exact passes ("default": the user's cache folder,
//	                   "off": none)
//	-seed n            seed of each count's shuffled order (default: the time;
//	                   recorded as shuffle-seed)
//	-progress          one updating line instead of a line per benchmark (default
//	                   on a terminal)
//
// The suite itself is package suite. Each benchmark first replays its trace under
// the shadow checker, which checks every block the guest hands out and measures
// the exact metrics, then once more under the -oom-limit to find the
// out-of-memory point; these passes run in parallel and are cached. Then -count
// counts, each over every benchmark (the first in the grid's order, the others
// shuffled), replaying on fresh
// instances with the checker off for -benchtime. A guest that faults is reported
// with the scenario and op at fault, its remaining runs are skipped, the other
// guests' results are still written, and alloclab exits with status 1.
//
// The benchmark names carry /key=value parts, so benchstat can put guests side by side:
//
//	alloclab run -count 10 > new.txt
//	benchstat -col /guest new.txt
//
// Metrics: the time units (ns/op, latency percentiles, time spent growing) vary
// from run to run; the rest (pages grown, peak live and heap bytes, heap/live, the
// out-of-memory point, lost-bytes, wasm-bytes, and the metering and host-memory
// units) are exact and declared so in the file (Unit ... assume=exact), so
// benchstat compares them without a significance test. README.md's table under
// "Reading the output" describes every unit; it is the one list.
//
// Boundary measures the host/guest boundary of a wazero embedder over every
// selected guest (package harness/boundary). boundary-copy passes payloads of
// 64 B to 1 MiB to the guest and reads them back three ways: way=copy (alloc,
// Memory.Write, copy back, free), way=view (alloc, write and read in place
// through the slice Memory.Read returns, free) and way=pooled (Memory.Write into
// one long-lived block); units ns/op, copied-bytes and guest-calls per op. Its
// way=view-across-grow lines show that a slice taken before memory.grow is stale
// afterwards under the default memory policy and not under capacity-from-max or
// mmap (stale-views, lost-write-bytes, refused-views). host-handles gives Go
// objects guest blocks released by Close, by a runtime.AddCleanup whose frees
// the owning goroutine delivers at safe points, or never; it calls runtime.GC
// every 64 objects and reports leaked-bytes, live-bytes-max, live bytes and
// pages over the run (at=25%..100%), and the forced collections and objects
// between an object becoming unreachable and its block being freed
// (free-delay-gc-mean/-max, free-delay-obj-mean/-max). leak-check runs each
// workload until it has freed everything, then allocates back its peak live set
// and reports the bytes the guest could not hand back without growing
// (lost-bytes) and the pages it holds (held-pages). density keeps up to 200
// instances of the guest alive (fewer if 1 GiB or 30 s runs out; -short: 16),
// each after a short trace, under each memory policy (policy=default,
// capacity-from-max, mmap), and reports the process's resident memory per
// instance (host-bytes/instance) and instances/GiB; Linux only. The flags are
// run's; -scenario matches boundary-copy, host-handles, leak-check and density.
// The floor runs boundary-copy's timed lines and density only. README.md's table
// under "The host boundary" describes every boundary unit.
//
//	alloclab boundary -count 10 > boundary.txt
//	benchstat -col /guest boundary.txt
//
// Report writes the results pages: a static site in -o's folder, made from results
// files and the heap sidecars beside them (results/README.md). Its index ranks the
// guests of one run (-rank; by default the latest with at least half the scenarios of
// the widest) across its scenarios, relative to dlmalloc, and answers "which allocator
// for this need?" from the same numbers; it lists the runs (date, machine, Go, wazero
// and toolchain versions, the guests' hashes). There is a page per run, and a page per
// scenario with the latest run that has it: benchstat's statistics (golang.org/x/perf's
// benchproc and benchmath), SVG charts (time and instructions per op, pages grown,
// utilisation at the out-of-memory point, fragmentation, host memory, TinyGo twins,
// binary size against speed, utilisation over the trace; log axes where one guest is
// ten times another) and heap maps at peak and at the out-of-memory point. With two or
// more runs it compares the latest with the earlier run sharing the most scenarios
// with it (-base picks another, -base none none), as benchstat OLD NEW does. The pages use relative links only and fetch
// nothing: open index.html from disk or publish the folder.
//
//	alloclab report -o site results/runs/*.txt
//
// Compare runs the suite on two versions and prints benchstat's comparison (package
// internal/compare). OLD and NEW are results files, used as they are, or git refs,
// each checked out in a temporary git worktree where alloclab is built; NEW defaults
// to the working tree ("."). The sides that run take turns, -count rounds (default 5)
// of alloclab run -count 1 with the flags after --, alternating which goes first, so
// a machine that drifts drifts on both; then it prints go tool benchstat -table ""
// OLD NEW. -o keeps both sides' results (old.txt, new.txt) and the table
// (benchstat.txt).
//
//	alloclab compare -count 5 main -- -short
//
// Noise prints, for each results file, the median and the 90th percentile of
// benchstat's ± over its sec/op cells (the 95% confidence interval of each
// benchmark's median, as a percentage of it), and the noisiest benchmark.
//
// Check says which allocator convention a module uses (the lab's ABI, the C
// library's malloc/free/aligned_alloc/realloc, or wasm-bindgen's
// __wbindgen_malloc/__wbindgen_free/__wbindgen_realloc; the last two run through
// adapters to the ABI), what it imports, and whether the harness can run it, then
// runs the checker over the short churn trace and a trace of every alignment in
// both modes, then the probes of package harness/probe: out of memory under a
// 16 MiB limit (alloc must return 0, or the guest trap right after a refused
// memory.grow; a bad block there fails, naming the op) and reuse (one block at a
// time at sizes from 16 B to 1 MiB: sizes at which memory grows by half of what
// passed through are named in a warning). It ends with a one-line verdict, which
// carries any warning; exit status 1 if it fails, 0 with a warning. Run -guest
// accepts any module check accepts.
//
// Trace records a real program's allocations into a trace file that every guest can
// replay (package scenarios/tracefile/record; format and policies:
// scenarios/traces/README.md). Record runs a dynamically linked native command under
// glibc's mtrace (glibc 2.34 or later: it preloads libc_malloc_debug.so.0 and a shim
// it builds with $CC, cc, gcc or clang) and keeps one process's calls: -process main
// (the command's own, the default), largest, or an executable's base name such as
// cc1. Import converts a log that mtrace(3) already wrote; a malformed line is an
// error naming the file and line. Record-wasm runs a WebAssembly module under wazero
// with WASI (no files, environment or network), calls -invoke (default _start), and
// records its calls to malloc, calloc, realloc, free, aligned_alloc, memalign,
// posix_memalign and Rust's __rust_alloc family, found by name in the name section
// or exports. -max-ops n keeps the first n ops and frees what is live at the cut;
// -free-live frees what is still live at the end. Info prints a trace file's header
// and totals. The traces shipped with the lab are the scenarios named trace-*; run
// -trace FILE replays your own:
//
//	alloclab trace record -o mine.trace -- ./myprogram input
//	alloclab run -trace mine.trace -count 10 > mine.txt
//
// Exit status: 0 on success, 1 if any guest failed, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(alloclab(ctx, os.Stdout, os.Stderr, os.Args[1:]), os.Stderr))
}

// errUsage marks an error in the command line; alloclab exits with status 2.
// newFlagSet returns the flag set of the command name, printing to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args into fs; see parseError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	return nil
}

// parseError passes -h's flag.ErrHelp on and makes any other error a usage error.
func parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errFailed says some guests failed; their errors were already printed.
var errFailed = errors.New("some runs failed")

func exitCode(err error, stderr io.Writer) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.As(err, &u):
		fmt.Fprintln(stderr, "alloclab:", err)
		return 2
	case errors.Is(err, errFailed):
		return 1
	default:
		fmt.Fprintln(stderr, "alloclab:", err)
		return 1
	}
}

// alloclab runs the command line args.
func alloclab(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		return usagef("no command: want run, boundary, check, trace, report, compare or noise (see go doc ./cmd/alloclab)")
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, stdout, stderr, args[1:])
	case "trace":
		return traceCmd(ctx, stdout, stderr, args[1:])
	case "check":
		return checkCmd(ctx, stdout, stderr, args[1:])
	case "boundary":
		return boundaryCmd(ctx, stdout, stderr, args[1:])
	case "report":
		return reportCmd(ctx, stdout, stderr, args[1:])
	case "compare":
		return compareCmd(ctx, stdout, stderr, args[1:])
	case "noise":
		return noiseCmd(stdout, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, "usage: alloclab run [flags] | alloclab boundary [flags] | alloclab check module.wasm | alloclab trace record|import|record-wasm|info ... | alloclab report -o dir RUN.txt... | alloclab compare OLD [NEW] [-- run flags]; see go doc github.com/alloclab/alloclab/cmd/alloclab")
		return nil
	}
	return usagef("unknown command %q: want run, boundary, check, trace, report, compare or noise", args[0])
}
