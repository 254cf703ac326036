package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

// runTrace runs 'alloclab trace args...' and returns its output.
func runTrace(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = traceCmd(context.Background(), &out, &errb, args)
	return out.String(), errb.String(), err
}

func readTrace(t *testing.T, path string) (tracefile.Header, *trace.Trace) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, tr, err := tracefile.Read(f)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return h, tr
}

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

// checkAllocs checks the pattern allocs.c makes (testdata/trace/allocs.c); node
// is sizeof(struct node), and aligned says whether the recording saw the
// alignment aligned_alloc and posix_memalign asked for (mtrace does not).
func checkAllocs(t *testing.T, tr *trace.Trace, node uint32, aligned bool, wantMain bool) {
	t.Helper()
	c := takeCensus(tr)
	want := map[string]int{
		key(trace.Alloc, 777, 16): 35,
		key(trace.Free, 777, 16):  35,
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

func TestTraceRecordWasm(t *testing.T) {
	out := filepath.Join(t.TempDir(), "allocs.trace")
	stdout, stderr, err := runTrace(t, "record-wasm", "-o", out, "testdata/trace/allocs.wasm")
	if err != nil {
		t.Fatalf("record-wasm: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "allocs: done") {
		t.Errorf("the module's output did not reach stdout: %q", stdout)
	}
	for _, fn := range []string{"malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign"} {
		if !strings.Contains(stderr, fn+" (function") {
			t.Errorf("stderr does not list %s among the functions recorded:\n%s", fn, stderr)
		}
	}
	h, tr := readTrace(t, out)
	checkAllocs(t, tr, 40, true, true)
	if !strings.Contains(h.Source, "allocs.wasm") || h.Command != "alloclab trace record-wasm -o "+out+" testdata/trace/allocs.wasm" {
		t.Errorf("header source %q, command %q", h.Source, h.Command)
	}
	// Peak live: the growth buffer at 24 KiB is the largest moment... at least.
	if h.PeakLiveBytes < 24<<10 {
		t.Errorf("peak live %d, want at least 24 KiB", h.PeakLiveBytes)
	}
}

func TestTraceRecordWasmInvoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "churn.trace")
	// Flags after the module, as 'record-wasm -o out.trace module.wasm --invoke churn'.
	_, stderr, err := runTrace(t, "record-wasm", "-o", out, "testdata/trace/allocs.wasm", "--invoke", "churn")
	if err != nil {
		t.Fatalf("record-wasm -invoke churn: %v\n%s", err, stderr)
	}
	_, tr := readTrace(t, out)
	checkAllocs(t, tr, 40, true, false)
	if c := takeCensus(tr); c[key(trace.Alloc, 40, 16)] != 0 {
		t.Errorf("-invoke churn ran main too: %v", c)
	}
	if len(tr.Ops) != 70 || tr.Slots != 7 {
		t.Errorf("%d ops in %d slots, want 70 in 7 (slots reused)", len(tr.Ops), tr.Slots)
	}
}

func TestTraceRecordWasmErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.trace")
	// A module with no allocator.
	nothing := filepath.Join(dir, "nothing.wasm")
	if err := os.WriteFile(nothing, []byte("\x00asm\x01\x00\x00\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"record-wasm", "-o", out, nothing}, "no malloc"},
		{[]string{"record-wasm", "-o", out, "testdata/trace/allocs.wasm", "-invoke", "nope"}, `no function "nope"`},
		{[]string{"record-wasm", "testdata/trace/allocs.wasm"}, "-o file is required"},
		{[]string{"record-wasm", "-o", out}, "want one module"},
		{[]string{"record-wasm", "-o", out, filepath.Join(dir, "missing.wasm")}, "no such file"},
	} {
		_, _, err := runTrace(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed recording wrote %s", out)
	}
}

// nativeAllocs builds testdata/trace/allocs.c for the host, or skips.
func nativeAllocs(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("recording native programs needs glibc's mtrace (Linux)")
	}
	cc, err := traceCC()
	if err != nil {
		t.Skipf("no C compiler, so no native recording: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "allocs")
	if out, err := exec.Command(cc, "-O1", "-o", bin, "testdata/trace/allocs.c").CombinedOutput(); err != nil {
		t.Fatalf("building allocs.c: %v\n%s", err, out)
	}
	return bin
}

func TestTraceRecordNative(t *testing.T) {
	bin := nativeAllocs(t)
	out := filepath.Join(t.TempDir(), "allocs.trace")
	stdout, stderr, err := runTrace(t, "record", "-o", out, "--", bin)
	if err != nil {
		if strings.Contains(err.Error(), "libc_malloc_debug") {
			t.Skipf("no glibc mtrace here: %v", err)
		}
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "allocs: done") {
		t.Errorf("the program's output did not reach stdout: %q", stdout)
	}
	h, tr := readTrace(t, out)
	checkAllocs(t, tr, 48, false, true)
	if !strings.Contains(h.Source, bin) || !strings.Contains(h.Source, "mtrace") {
		t.Errorf("header source %q", h.Source)
	}
	if !strings.Contains(h.Notes, "no end marker") {
		t.Errorf("header notes %q: want the missing end marker noted", h.Notes)
	}
}

func TestTraceRecordNativeProcess(t *testing.T) {
	bin := nativeAllocs(t)
	dir := t.TempDir()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// sh runs allocs as a child; -process picks the child's log.
	out := filepath.Join(dir, "child.trace")
	_, stderr, err := runTrace(t, "record", "-o", out, "-process", "allocs", "--", sh, "-c", bin+"; true")
	if err != nil {
		if strings.Contains(err.Error(), "libc_malloc_debug") {
			t.Skipf("no glibc mtrace here: %v", err)
		}
		t.Fatalf("record -process allocs: %v\n%s", err, stderr)
	}
	_, tr := readTrace(t, out)
	checkAllocs(t, tr, 48, false, true)

	_, _, err = runTrace(t, "record", "-o", out, "-process", "nosuchprogram", "--", sh, "-c", "true")
	if err == nil || !strings.Contains(err.Error(), "no process ran") {
		t.Errorf("-process nosuchprogram: %v", err)
	}
	// A failing command still gives its trace, with a warning.
	_, stderr, err = runTrace(t, "record", "-o", out, "-process", "allocs", "--", sh, "-c", bin+" >/dev/null; exit 3")
	if err != nil || !strings.Contains(stderr, "exit status 3") {
		t.Errorf("recording a failing command: %v\n%s", err, stderr)
	}
}

// The log in ../../scenarios/tracefile/testdata was recorded from allocs.c (see
// scenarios/tracefile/mtrace_test.go).
const allocsLog = "../../scenarios/tracefile/testdata/allocs.mtrace"

func TestTraceImport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "allocs.trace")
	_, stderr, err := runTrace(t, "import", allocsLog, "-o", out, "-source", "allocs.c natively")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	h, tr := readTrace(t, out)
	checkAllocs(t, tr, 48, false, true)
	if h.Source != "allocs.c natively" || !strings.HasPrefix(h.Command, "alloclab trace import ") {
		t.Errorf("header %+v", h)
	}

	// -max-ops cuts the trace and frees what is live at the cut.
	_, stderr, err = runTrace(t, "import", "-max-ops", "50", "-o", out, allocsLog)
	if err != nil {
		t.Fatalf("import -max-ops: %v", err)
	}
	_, tr = readTrace(t, out)
	if st := tr.Stats(); st.Allocs != 50 || st.Frees != 50 || len(tr.Ops) != 100 {
		t.Errorf("-max-ops 50: %d ops, %+v", len(tr.Ops), st)
	}
	if !strings.Contains(stderr, "blocks live at the cut") {
		t.Errorf("-max-ops: no warning of the cut:\n%s", stderr)
	}

	// -free-live frees what the program left live (nothing, here: glibc frees its
	// stdio buffers at exit).
	_, _, err = runTrace(t, "import", "-free-live", "-o", out, allocsLog)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := runTrace(t, "info", out); err != nil || !strings.Contains(out, "live at end 0 blocks") {
		t.Errorf("info after -free-live: %v\n%s", err, out)
	}

	// A malformed line is an error naming the file and line.
	bad := filepath.Join(dir, "bad.mtrace")
	if err := os.WriteFile(bad, []byte("= Start\n+ 0x10 0x20\nhello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runTrace(t, "import", "-o", out, bad)
	if err == nil || !strings.Contains(err.Error(), bad+":3:") {
		t.Errorf("malformed log: %v", err)
	}
}

func TestTraceInfo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "allocs.trace")
	if _, _, err := runTrace(t, "import", "-o", out, allocsLog); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runTrace(t, "info", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"version     1", "source      glibc mtrace log allocs.mtrace", "live at end 0 blocks", "10 reallocs"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, stdout)
		}
	}
	if _, _, err := runTrace(t, "info", allocsLog); err == nil || !strings.Contains(err.Error(), "not a trace file") {
		t.Errorf("info of an mtrace log: %v", err)
	}
}

func TestTraceUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"record"},
		{"record", "-o", "x.trace"},
		{"import", "-o", "x.trace"},
		{"import", "a", "b", "-o", "x.trace"},
		{"import", "-max-ops", "-1", "-o", "x", "a"},
		{"record-wasm", "-nope"},
		{"info"},
	} {
		_, _, err := runTrace(t, args...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%q: error %v, want a usage error", args, err)
		}
		if code := exitCode(err, &bytes.Buffer{}); code != 2 {
			t.Errorf("%q: exit code %d, want 2", args, code)
		}
	}
	if _, _, err := runTrace(t, "import", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if stdout, _, err := runTrace(t, "help"); err != nil || !strings.Contains(stdout, "record-wasm") {
		t.Errorf("help: %v %q", err, stdout)
	}
}

func TestTraceScenario(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mine.trace")
	if _, _, err := runTrace(t, "import", "-o", out, allocsLog); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.FromFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "trace-mine" || len(sc.Generate(true).Ops) == 0 {
		t.Errorf("scenario %q with %d ops", sc.Name, len(sc.Generate(true).Ops))
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"sqlite3", ":memory:", "select 'a';", "", "x=1"})
	want := `sqlite3 :memory: 'select '\''a'\'';' '' x=1`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}
