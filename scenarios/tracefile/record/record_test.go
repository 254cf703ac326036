package record

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

// allocs.c makes a known pattern of calls; allocs.wasm is built from it and
// allocs.mtrace was recorded from it natively (see the files).
const (
	allocsC     = "../../../cmd/alloclab/testdata/trace/allocs.c"
	allocsWasm  = "../../../cmd/alloclab/testdata/trace/allocs.wasm"
	allocsLog   = "../testdata/allocs.mtrace"
	edgeWasm    = "testdata/edge.wasm"
	nodeWasm    = 40 // sizeof(struct node) on wasm32
	nodeNative  = 48 // and on 64-bit hosts
	churnAllocs = 35 // churn's mallocs of 777 bytes
)

// census counts the ops of each kind by size and alignment.
type census map[string]int

func key(kind trace.Kind, size, align uint32) string {
	return fmt.Sprintf("%v %d/%d", kind, size, align)
}

func takeCensus(tr *trace.Trace) census {
	c := census{}
	for _, op := range tr.Ops {
		c[key(op.Kind, op.Size, op.Align)]++
	}
	return c
}

// checkAllocs checks the pattern allocs.c makes: node is sizeof(struct node),
// aligned says whether the recording saw the alignment aligned_alloc and
// posix_memalign asked for (mtrace does not), and wantMain whether main ran or
// only churn.
func checkAllocs(t *testing.T, tr *trace.Trace, node uint32, aligned, wantMain bool) {
	t.Helper()
	c := takeCensus(tr)
	want := map[string]int{
		key(trace.Alloc, 777, 16):  churnAllocs,
		key(trace.Free, 777, 16):   churnAllocs,
		key(trace.Alloc, node, 16): 0,
	}
	if wantMain {
		want[key(trace.Alloc, node, 16)] = 100
		want[key(trace.Free, node, 16)] = 100
		want[key(trace.Alloc, 24, 16)] = 1
		for size := uint32(48); size <= 24<<10; size *= 2 {
			want[key(trace.Realloc, size, 16)] = 1
		}
		want[key(trace.Free, 24<<10, 16)] = 1
		want[key(trace.Alloc, 1200, 16)] = 1
		want[key(trace.Free, 1200, 16)] = 1
		a64, a256 := uint32(64), uint32(256)
		if !aligned {
			a64, a256 = 16, 16
		}
		want[key(trace.Alloc, 192, a64)] = 1
		want[key(trace.Free, 192, a64)] = 1
		want[key(trace.Alloc, 1000, a256)] = 1
		want[key(trace.Free, 1000, a256)] = 1
	}
	for k, n := range want {
		if c[k] != n {
			t.Errorf("%s: %d ops, want %d", k, c[k], n)
		}
	}
	if t.Failed() {
		t.Logf("census: %v", c)
	}
	if _, err := tracefile.Validate(tr); err != nil {
		t.Errorf("trace invalid: %v", err)
	}
}

func TestImport(t *testing.T) {
	real, err := os.ReadFile(allocsLog)
	if err != nil {
		t.Fatal(err)
	}
	const noEnd = "the log has no end marker (the program did not call muntrace): blocks live at exit stay live"
	for _, tc := range []struct {
		name     string
		log      string
		maxOps   int
		freeLive bool
		ops      int    // ops in the trace
		live     int    // blocks live at its end
		notes    string // the header's notes
		warnings []string
	}{
		{name: "real log", log: string(real), ops: 290, notes: noEnd},
		{name: "max-ops", log: string(real), maxOps: 50, ops: 100,
			notes:    noEnd + "; 240 events after the op limit (ignored); 50 blocks live at the cut (freed at the end)",
			warnings: []string{"240 events after the op limit (ignored)", "50 blocks live at the cut (freed at the end)"}},
		{name: "ended", log: "= Start\n+ 0x10 0x20\n- 0x10\n= End\n", ops: 2},
		{name: "left live", log: "= Start\n+ 0x10 0x20\n+ 0x40 0x8\n- 0x10\n", ops: 3, live: 1, notes: noEnd},
		{name: "free-live", log: "= Start\n+ 0x10 0x20\n+ 0x40 0x8\n- 0x10\n", freeLive: true, ops: 4, notes: noEnd},
		{name: "truncated", log: "= Start\n+ 0x10 0x20\n- 0x10\n+ 0x2", ops: 2,
			notes:    noEnd + "; the log's last line was cut short and left out",
			warnings: []string{"the log's last line was cut short and was left out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := Import(strings.NewReader(tc.log), "x.mtrace", tc.maxOps)
			if err != nil {
				t.Fatal(err)
			}
			tr, freed := rec.End(tc.freeLive)
			if len(tr.Ops) != tc.ops || tr.Stats().LiveBlocks != tc.live {
				t.Errorf("%d ops, %d live at the end; want %d, %d", len(tr.Ops), tr.Stats().LiveBlocks, tc.ops, tc.live)
			}
			if tc.freeLive && freed != 1 {
				t.Errorf("freed %d blocks, want 1", freed)
			}
			if rec.Header.Notes != tc.notes || !slices.Equal(rec.Warnings, tc.warnings) {
				t.Errorf("notes %q, warnings %q\nwant %q, %q", rec.Header.Notes, rec.Warnings, tc.notes, tc.warnings)
			}
			if tc.name == "real log" {
				checkAllocs(t, tr, nodeNative, false, true)
			}
		})
	}
	if _, err := Import(strings.NewReader("= Start\nhello\n"), "bad.mtrace", 0); err == nil || !strings.Contains(err.Error(), "bad.mtrace:2:") {
		t.Errorf("malformed log: %v, want an error naming bad.mtrace:2", err)
	}
}

func TestWasm(t *testing.T) {
	bin, err := os.ReadFile(allocsWasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		invoke string
		main   bool
	}{{"", true}, {"churn", false}} {
		t.Run(tc.invoke, func(t *testing.T) {
			var stdout bytes.Buffer
			var found []string
			rec, err := Wasm(context.Background(), allocsWasm, bin, WasmOptions{
				Invoke: tc.invoke, Stdout: &stdout, Timeout: time.Minute,
				Compiled: func(f, _ []string) { found = f },
			})
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := rec.End(false)
			checkAllocs(t, tr, nodeWasm, true, tc.main)
			if got := strings.Contains(stdout.String(), "allocs: done"); got != tc.main {
				t.Errorf("stdout %q: want the module's output only from main", stdout.String())
			}
			for _, fn := range []string{"malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign"} {
				if !slices.ContainsFunc(rec.Found, func(s string) bool { return strings.HasPrefix(s, fn+" (function ") }) {
					t.Errorf("found %q: no %s", rec.Found, fn)
				}
			}
			if !slices.Equal(found, rec.Found) {
				t.Errorf("Compiled saw %q, the recording %q", found, rec.Found)
			}
			invoke := cmp.Or(tc.invoke, "_start")
			if s := rec.Header.Source; !strings.HasPrefix(s, "wasm module allocs.wasm (sha256 ") || !strings.Contains(s, "export "+invoke+",") {
				t.Errorf("source %q", s)
			}
			if !tc.main && (len(tr.Ops) != 2*churnAllocs || tr.Slots != 7) {
				t.Errorf("churn: %d ops in %d slots, want %d in 7 (slots reused)", len(tr.Ops), tr.Slots, 2*churnAllocs)
			}
		})
	}
}

// TestWasmEdges runs testdata/edge.wasm's exports.
func TestWasmEdges(t *testing.T) {
	bin, err := os.ReadFile(edgeWasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		invoke  string
		ops     int    // ops recorded, if no error
		warning string // the warning, if any
		err     string // the error, if any
		params  int    // for an InvokeError: its Params
		timeout time.Duration
	}{
		{invoke: "alloc2", ops: 2}, // after _initialize, or it traps
		{invoke: "exit3", ops: 1, warning: "exit3 exited with status 3; the trace covers the run as far as it went"},
		{invoke: "trap", err: "testdata/edge.wasm: trap: wasm error: unreachable"},
		{invoke: "spin", timeout: time.Second, err: "testdata/edge.wasm: spin did not finish within 1s"},
		{invoke: "takes", params: 1, err: "testdata/edge.wasm: takes takes 1 parameters; want none"},
		{invoke: "nope", params: -1, err: `testdata/edge.wasm exports no function "nope" to invoke`},
	} {
		t.Run(tc.invoke, func(t *testing.T) {
			var ignored []string
			rec, err := Wasm(context.Background(), edgeWasm, bin, WasmOptions{
				Invoke: tc.invoke, Timeout: cmp.Or(tc.timeout, time.Minute),
				Compiled: func(_, ig []string) { ignored = ig },
			})
			if len(ignored) != 1 || !strings.HasPrefix(ignored[0], "free (function ") || !strings.Contains(ignored[0], "i64") {
				t.Errorf("ignored %q, want free for its i64 parameter", ignored)
			}
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				var ie *InvokeError
				if got := errors.As(err, &ie); got != (tc.params != 0) || got && ie.Params != tc.params {
					t.Errorf("error %#v: want an InvokeError with Params %d: %v", err, tc.params, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := rec.End(false)
			if len(tr.Ops) != tc.ops || !slices.Equal(rec.Found, []string{"malloc (function 1)"}) {
				t.Errorf("%d ops from %q, want %d from malloc (function 1)", len(tr.Ops), rec.Found, tc.ops)
			}
			if got := strings.Join(rec.Warnings, "\n"); got != tc.warning {
				t.Errorf("warnings %q, want %q", got, tc.warning)
			}
		})
	}
	_, err = Wasm(context.Background(), "empty.wasm", []byte("\x00asm\x01\x00\x00\x00"), WasmOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "empty.wasm: no malloc") {
		t.Errorf("a module with no allocator: %v", err)
	}
}

func TestChoose(t *testing.T) {
	procs := []Process{
		{Pid: 10, Exe: "/bin/sh", Lines: 5},
		{Pid: 11, Exe: "/usr/lib/gcc/cc1", Lines: 50},
		{Pid: 12, Exe: "/usr/bin/as", Lines: 80},
		{Pid: 13, Exe: "/usr/lib/gcc/cc1", Lines: 70},
		{Pid: 14, Lines: 1}, // no exe noted
	}
	for _, tc := range []struct {
		which string
		main  int
		procs []Process
		pid   int
		err   string
	}{
		{which: "main", main: 10, procs: procs, pid: 10},
		{which: "main", main: 9, procs: procs, err: "the command's own process (9) wrote no mtrace log; -process largest or a program name picks another"},
		{which: "largest", procs: procs, pid: 12},
		{which: "cc1", procs: procs, pid: 13},
		{which: "sh", procs: procs, pid: 10},
		{which: "ld", procs: procs, err: "-process ld: no process ran an executable of that name"},
		{which: "largest", err: "the command wrote no mtrace log"},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.which, tc.main), func(t *testing.T) {
			p, err := choose(tc.procs, tc.which, tc.main)
			switch {
			case tc.err != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
			case err != nil || p.Pid != tc.pid:
				t.Errorf("chose %d (%v), want %d", p.Pid, err, tc.pid)
			}
		})
	}
}

// nativeAllocs builds allocs.c for the host, or skips.
func nativeAllocs(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("recording native programs needs glibc's mtrace (Linux)")
	}
	cc, err := CC()
	if err != nil {
		t.Skipf("no C compiler, so no native recording: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "allocs")
	if out, err := exec.Command(cc, "-O1", "-o", bin, allocsC).CombinedOutput(); err != nil {
		t.Fatalf("building allocs.c: %v\n%s", err, out)
	}
	return bin
}

func TestMtrace(t *testing.T) {
	bin := nativeAllocs(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct {
		name    string
		command []string
		process string
		exe     string // the kept process's executable
		warning string
		err     string
	}{
		{name: "main", command: []string{bin}, exe: bin},
		// sh runs allocs as a child; Process picks the child's log.
		{name: "child", command: []string{sh, "-c", bin + "; true"}, process: "allocs", exe: bin},
		{name: "failing", command: []string{sh, "-c", bin + " >/dev/null; exit 3"}, process: "allocs", exe: bin,
			warning: "the command exit status 3; the trace covers the run as far as it went"},
		{name: "no such process", command: []string{sh, "-c", bin + " >/dev/null"}, process: "nosuchprogram",
			err: "-process nosuchprogram: no process ran an executable of that name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			started := false
			rec, err := Mtrace(context.Background(), tc.command, MtraceOptions{Process: tc.process, Stdout: &stdout, Start: func() { started = true }})
			if err != nil && strings.Contains(err.Error(), "libc_malloc_debug") {
				t.Skipf("no glibc mtrace here: %v", err)
			}
			if !started {
				t.Errorf("Start was not called")
			}
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				if rec == nil || !slices.ContainsFunc(rec.Processes, func(p Process) bool { return p.Exe == bin }) {
					t.Errorf("the error's recording lacks the processes that ran: %+v", rec)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := rec.End(false)
			checkAllocs(t, tr, nodeNative, false, true)
			if rec.Process.Exe != tc.exe || !strings.HasPrefix(rec.Header.Source, tc.exe+", recorded with glibc mtrace (") {
				t.Errorf("kept %+v, source %q; want %s", rec.Process, rec.Header.Source, tc.exe)
			}
			if !strings.Contains(rec.Header.Notes, "no end marker") {
				t.Errorf("notes %q: want the missing end marker noted", rec.Header.Notes)
			}
			// glibc itself may free what it did not allocate under mtrace: those
			// warnings vary, the command's comes first.
			if got := slices.ContainsFunc(rec.Warnings, func(w string) bool { return strings.HasPrefix(w, "the command") }); got != (tc.warning != "") || got && rec.Warnings[0] != tc.warning {
				t.Errorf("warnings %q, want %q first", rec.Warnings, tc.warning)
			}
			if tc.name == "main" && !strings.Contains(stdout.String(), "allocs: done") {
				t.Errorf("the command's output did not reach Stdout: %q", stdout.String())
			}
		})
	}
}
