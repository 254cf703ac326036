package main

// alloclab trace: record, import and inspect allocation traces of real programs
// (package scenarios/tracefile; the format is in scenarios/traces/README.md).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

const traceUsage = `usage:
  alloclab trace record -o out.trace [-process main|largest|NAME] [-max-ops n] [-free-live] -- command [args...]
  alloclab trace import -o out.trace [-source s] [-command c] [-max-ops n] [-free-live] file.mtrace
  alloclab trace record-wasm -o out.trace [-invoke export] [-max-ops n] [-free-live] [-timeout d] module.wasm [-- args...]
  alloclab trace info file.trace...`

// traceCmd runs 'alloclab trace SUBCOMMAND ...'.
func traceCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		return usagef("trace: no subcommand\n%s", traceUsage)
	}
	switch args[0] {
	case "record":
		return traceRecord(ctx, stdout, stderr, args[1:])
	case "import":
		return traceImport(stderr, args[1:])
	case "record-wasm":
		return traceRecordWasm(ctx, stdout, stderr, args[1:])
	case "info":
		return traceInfo(stdout, stderr, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, traceUsage)
		return nil
	}
	return usagef("trace: unknown subcommand %q\n%s", args[0], traceUsage)
}

// traceOutput holds the flags every recording subcommand shares.
type traceOutput struct {
	output   string
	maxOps   int
	freeLive bool
}

func (o *traceOutput) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.output, "o", "", "write the trace to this file (required)")
	fs.IntVar(&o.maxOps, "max-ops", 0, "keep the first n ops and free the blocks live at the cut (0: all)")
	fs.BoolVar(&o.freeLive, "free-live", false, "free the blocks still live at the end (by default they stay live, as the program left them)")
}

func (o *traceOutput) check(cmd string) error {
	if o.output == "" {
		return usagef("trace %s: -o file is required", cmd)
	}
	if o.maxOps < 0 {
		return usagef("trace %s: -max-ops %d: want 0 (all) or more", cmd, o.maxOps)
	}
	return nil
}

func (o *traceOutput) events() *tracefile.Events { return &tracefile.Events{MaxOps: o.maxOps} }

// finish ends the recording in ev, writes the trace with header h to the -o file
// and prints a summary and the warnings.
func (o *traceOutput) finish(stderr io.Writer, h tracefile.Header, ev *tracefile.Events, warnings []string) error {
	if o.freeLive {
		if n := ev.FreeLive(); n > 0 {
			fmt.Fprintf(stderr, "# freed the %d blocks live at the end (-free-live)\n", n)
		}
	}
	t := ev.Trace()
	h.Notes = traceNotes(h.Notes, ev.Skipped.String())
	if len(t.Ops) == 0 {
		return fmt.Errorf("no allocator calls were recorded: nothing to write to %s", o.output)
	}
	var buf bytes.Buffer
	if err := tracefile.Write(&buf, h, t); err != nil {
		return err
	}
	if err := results.WriteAtomic(o.output, buf.Bytes()); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "# warning: %s\n", w)
	}
	if s := ev.Skipped.String(); s != "" {
		for _, part := range strings.Split(s, "; ") {
			fmt.Fprintf(stderr, "# warning: %s\n", part)
		}
	}
	st := t.Stats()
	fmt.Fprintf(stderr, "# wrote %s: %d ops (%d allocs, %d frees, %d reallocs), %d slots, peak live %d bytes, %d bytes allocated, %d blocks live at the end; %d bytes\n",
		o.output, len(t.Ops), st.Allocs, st.Frees, st.Reallocs, t.Slots, st.PeakLiveBytes, st.AllocatedBytes, ev.Live(), buf.Len())
	return nil
}

func traceNotes(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// traceParse parses args allowing flags before and after the positional
// arguments; what follows "--" is returned as rest.
func traceParse(fs *flag.FlagSet, args []string) (pos, rest []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, parseError(err)
		}
		left := fs.Args()
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return pos, left, nil
		}
		if len(left) == 0 {
			return pos, nil, nil
		}
		pos = append(pos, left[0])
		args = left[1:]
	}
}

// shellQuote quotes args for a POSIX shell, leaving plain words as they are.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// --- import ---

func traceImport(stderr io.Writer, args []string) error {
	var o traceOutput
	var source, command string
	fs := newFlagSet("alloclab trace import", stderr)
	o.flags(fs)
	fs.StringVar(&source, "source", "", "the program the log came from, for the header (default: the log's file name)")
	fs.StringVar(&command, "command", "", "the command that recorded the log, for the header")
	pos, rest, err := traceParse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(rest) != 0 {
		return usagef("trace import: want one mtrace log, got %d arguments", len(pos)+len(rest))
	}
	if err := o.check("import"); err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	ev := o.events()
	m, err := tracefile.ImportMtrace(f, pos[0], ev)
	if err != nil {
		return err
	}
	if source == "" {
		source = "glibc mtrace log " + filepath.Base(pos[0])
	}
	if command == "" {
		command = "alloclab trace import " + shellQuote(args)
	}
	h := tracefile.Header{Source: source, Command: command, Notes: mtraceNotes(m)}
	return o.finish(stderr, h, ev, mtraceWarnings(m))
}

func mtraceNotes(m *tracefile.Mtrace) string {
	var n []string
	if !m.Ended {
		n = append(n, "the log has no end marker (the program did not call muntrace): blocks live at exit stay live")
	}
	if m.Truncated {
		n = append(n, "the log's last line was cut short and left out")
	}
	return strings.Join(n, "; ")
}

func mtraceWarnings(m *tracefile.Mtrace) []string {
	if m.Truncated {
		return []string{"the log's last line was cut short and was left out"}
	}
	return nil
}

// --- record ---

// mtraceShim is the preloaded object: its constructor points MALLOC_TRACE at a
// log of its own process (so children do not overwrite their parent's log), notes
// the process's executable beside it, and calls mtrace(), which glibc 2.34 and
// later implement in libc_malloc_debug.so, preloaded before it.
const mtraceShim = `#define _GNU_SOURCE
#include <fcntl.h>
#include <mcheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void alloclab_mtrace(void) {
	const char *base = getenv("ALLOCLAB_MTRACE");
	char path[4096], exe[4096], note[4200];
	if (base == NULL || strlen(base) > 3000)
		return;
	snprintf(path, sizeof path, "%s.%ld", base, (long)getpid());
	snprintf(note, sizeof note, "%s.exe", path);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
	int fd = open(note, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (n > 0 && write(fd, exe, (size_t)n) != n) {
			/* the note is only informative */
		}
		close(fd);
	}
	setenv("MALLOC_TRACE", path, 1);
	mtrace();
	unsetenv("MALLOC_TRACE");
}
`

// traceCC returns the C compiler to build the shim with: $CC, cc, gcc or clang.
func traceCC() (string, error) {
	if cc := os.Getenv("CC"); cc != "" {
		return exec.LookPath(cc)
	}
	for _, cc := range []string{"cc", "gcc", "clang"} {
		if p, err := exec.LookPath(cc); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no C compiler to build the mtrace shim: install gcc (apt-get install gcc) or set CC")
}

// buildMtraceShim builds the shim into dir and finds libc_malloc_debug.so.0;
// it returns the LD_PRELOAD list.
func buildMtraceShim(ctx context.Context, dir string) (string, error) {
	cc, err := traceCC()
	if err != nil {
		return "", err
	}
	src, so := filepath.Join(dir, "alloclab_mtrace.c"), filepath.Join(dir, "alloclab_mtrace.so")
	if err := os.WriteFile(src, []byte(mtraceShim), 0o600); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, cc, "-shared", "-fPIC", "-O2", "-o", so, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the mtrace shim with %s: %v\n%s", cc, err, out)
	}
	out, err := exec.CommandContext(ctx, cc, "-print-file-name=libc_malloc_debug.so.0").Output()
	debug := strings.TrimSpace(string(out))
	if err != nil || !filepath.IsAbs(debug) {
		return "", errors.New("glibc's libc_malloc_debug.so.0 was not found: recording needs glibc 2.34 or later")
	}
	return debug + " " + so, nil
}

// mtraceProcess is one process's log from a recording.
type mtraceProcess struct {
	pid   int
	exe   string // its executable, if the shim could note it
	log   string
	lines int
}

func traceRecord(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var o traceOutput
	var process string
	fs := newFlagSet("alloclab trace record", stderr)
	o.flags(fs)
	fs.StringVar(&process, "process", "main", "which process's allocations to keep: main (the command's own), largest (the one with the most calls), or an executable's base name (its largest process)")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	command := fs.Args()
	if len(command) == 0 {
		return usagef("trace record: no command: want 'alloclab trace record -o out.trace -- command [args...]'")
	}
	if err := o.check("record"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "alloclab-mtrace-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if strings.ContainsAny(dir, " :") || len(dir) > 2000 {
		// LD_PRELOAD splits on spaces and colons; the shim's paths must be short.
		return fmt.Errorf("temporary directory %q cannot go in LD_PRELOAD: set TMPDIR to a path without spaces or colons", dir)
	}
	preload, err := buildMtraceShim(ctx, dir)
	if err != nil {
		return err
	}
	if old := os.Getenv("LD_PRELOAD"); old != "" {
		preload += " " + old
	}
	base := filepath.Join(dir, "mtrace")
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+preload, "ALLOCLAB_MTRACE="+base, "MALLOC_TRACE=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	fmt.Fprintf(stderr, "# recording %s\n", shellQuote(command))
	start := time.Now()
	runErr := cmd.Run()
	var warnings []string
	if runErr != nil {
		var exit *exec.ExitError
		if !errors.As(runErr, &exit) || cmd.ProcessState == nil {
			return fmt.Errorf("running %s: %w", command[0], runErr)
		}
		warnings = append(warnings, fmt.Sprintf("the command %s; the trace covers the run as far as it went", exit.ProcessState))
	}
	procs, err := mtraceProcesses(base)
	if err != nil {
		return err
	}
	for _, p := range procs {
		fmt.Fprintf(stderr, "# process %d %s: %d mtrace lines\n", p.pid, p.exe, p.lines)
	}
	chosen, err := chooseProcess(procs, process, cmd.ProcessState.Pid())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "# ran in %v; keeping process %d (%s)\n", time.Since(start).Round(time.Millisecond), chosen.pid, chosen.exe)
	f, err := os.Open(chosen.log)
	if err != nil {
		return err
	}
	defer f.Close()
	ev := o.events()
	m, err := tracefile.ImportMtrace(f, "mtrace log of process "+strconv.Itoa(chosen.pid), ev)
	if err != nil {
		return err
	}
	exe := chosen.exe
	if exe == "" {
		exe = command[0]
	}
	h := tracefile.Header{
		Source:  fmt.Sprintf("%s, recorded with glibc mtrace (%s)", exe, glibcVersion(ctx)),
		Command: "alloclab trace record " + shellQuote(args),
		Notes:   mtraceNotes(m),
	}
	return o.finish(stderr, h, ev, append(warnings, mtraceWarnings(m)...))
}

// mtraceProcesses lists the logs the shim wrote, one per process, by pid.
func mtraceProcesses(base string) ([]mtraceProcess, error) {
	matches, err := filepath.Glob(base + ".*")
	if err != nil {
		return nil, err
	}
	var procs []mtraceProcess
	for _, path := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(path, base+"."))
		if err != nil {
			continue // the .exe notes
		}
		p := mtraceProcess{pid: pid, log: path}
		if exe, err := os.ReadFile(path + ".exe"); err == nil {
			p.exe = string(exe)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), tracefile.MaxLine)
		for sc.Scan() {
			p.lines++
		}
		f.Close()
		procs = append(procs, p)
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].pid < procs[j].pid })
	return procs, nil
}

func chooseProcess(procs []mtraceProcess, which string, main int) (mtraceProcess, error) {
	if len(procs) == 0 {
		return mtraceProcess{}, errors.New("the command wrote no mtrace log: is it a dynamically linked program using glibc's malloc (not static, not setuid)?")
	}
	var best *mtraceProcess
	for i := range procs {
		p := &procs[i]
		switch which {
		case "main":
			if p.pid == main {
				return *p, nil
			}
			continue
		case "largest":
		default:
			if filepath.Base(p.exe) != which {
				continue
			}
		}
		if best == nil || p.lines > best.lines {
			best = p
		}
	}
	if best == nil {
		if which == "main" {
			return mtraceProcess{}, fmt.Errorf("the command's own process (%d) wrote no mtrace log; -process largest or a program name picks another", main)
		}
		return mtraceProcess{}, fmt.Errorf("-process %s: no process ran an executable of that name", which)
	}
	return *best, nil
}

func glibcVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "getconf", "GNU_LIBC_VERSION").Output()
	if err != nil {
		return "glibc"
	}
	return strings.TrimSpace(string(out))
}

// --- record-wasm ---

func traceRecordWasm(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var o traceOutput
	var invoke string
	var timeout time.Duration
	fs := newFlagSet("alloclab trace record-wasm", stderr)
	o.flags(fs)
	fs.StringVar(&invoke, "invoke", "_start", "the export to call: a function of no parameters")
	fs.DurationVar(&timeout, "timeout", 10*time.Minute, "time limit of the run")
	pos, rest, err := traceParse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("trace record-wasm: want one module (and its arguments after --), got %d arguments", len(pos))
	}
	if err := o.check("record-wasm"); err != nil {
		return err
	}
	path := pos[0]
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ev := o.events()
	rec := tracefile.NewWasmRecorder(ev)
	ctx = experimental.WithFunctionListenerFactory(ctx, rec)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer r.Close(context.WithoutCancel(ctx))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		return err
	}
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, ig := range rec.Ignored() {
		fmt.Fprintf(stderr, "# warning: not recording %s\n", ig)
	}
	found := rec.Found()
	if len(found) == 0 {
		return fmt.Errorf("%s: no malloc, free, realloc, calloc, aligned_alloc, posix_memalign or __rust_alloc found by name: keep the module's name section (do not link with --strip-all)", path)
	}
	fmt.Fprintf(stderr, "# recording %s: %s\n", path, strings.Join(found, ", "))
	exports := compiled.ExportedFunctions()
	fn, ok := exports[invoke]
	if !ok {
		return usagef("trace record-wasm: %s exports no function %q to invoke", path, invoke)
	}
	if len(fn.ParamTypes()) != 0 {
		return usagef("trace record-wasm: -invoke %s: the function takes %d parameters; want none", invoke, len(fn.ParamTypes()))
	}
	// WASI with no filesystem, environment or network; arguments as given.
	cfg := wazero.NewModuleConfig().WithName(filepath.Base(path)).
		WithArgs(append([]string{filepath.Base(path)}, rest...)...).
		WithStdout(stdout).WithStderr(stderr).WithStartFunctions()
	mod, err := r.InstantiateModule(ctx, compiled, cfg)
	if err != nil {
		return fmt.Errorf("%s: instantiating: %w", path, err)
	}
	var warnings []string
	call := func(name string) error {
		_, err := mod.ExportedFunction(name).Call(ctx)
		var exit *sys.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == 0 {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %s did not finish within %v", path, name, timeout)
			}
			warnings = append(warnings, fmt.Sprintf("%s exited with status %d; the trace covers the run as far as it went", name, exit.ExitCode()))
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, name, err)
		}
		return nil
	}
	if invoke != "_start" && exports["_initialize"] != nil {
		if err := call("_initialize"); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := call(invoke); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "# ran %s in %v\n", invoke, time.Since(start).Round(time.Millisecond))
	sum := sha256.Sum256(bin)
	h := tracefile.Header{
		Source:  fmt.Sprintf("wasm module %s (sha256 %s), export %s, recorded with wazero function listeners on %s", filepath.Base(path), hex.EncodeToString(sum[:8]), invoke, strings.Join(found, ", ")),
		Command: "alloclab trace record-wasm " + shellQuote(args),
	}
	return o.finish(stderr, h, ev, warnings)
}

// --- info ---

func traceInfo(stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("alloclab trace info", stderr)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() == 0 {
		return usagef("trace info: want one or more trace files")
	}
	for i, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h, t, err := tracefile.Read(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		marks := h.Ops - h.Allocs - h.Frees - h.Reallocs - h.Resets
		live := 0
		sizes := make([]bool, t.Slots)
		for _, op := range t.Ops {
			switch op.Kind {
			case trace.Alloc:
				sizes[op.Slot] = true
				live++
			case trace.Free:
				sizes[op.Slot] = false
				live--
			case trace.Reset:
				clear(sizes)
				live = 0
			}
		}
		fmt.Fprintf(stdout, "file        %s (%d bytes)\n", path, len(data))
		fmt.Fprintf(stdout, "version     %d\n", h.Version)
		fmt.Fprintf(stdout, "source      %s\n", h.Source)
		fmt.Fprintf(stdout, "command     %s\n", h.Command)
		if h.Notes != "" {
			fmt.Fprintf(stdout, "notes       %s\n", h.Notes)
		}
		fmt.Fprintf(stdout, "ops         %d (%d allocs, %d frees, %d reallocs, %d resets, %d marks)\n", h.Ops, h.Allocs, h.Frees, h.Reallocs, h.Resets, marks)
		fmt.Fprintf(stdout, "slots       %d\n", h.Slots)
		fmt.Fprintf(stdout, "peak live   %d bytes\n", h.PeakLiveBytes)
		fmt.Fprintf(stdout, "allocated   %d bytes\n", h.AllocatedBytes)
		fmt.Fprintf(stdout, "live at end %d blocks\n", live)
	}
	return nil
}
