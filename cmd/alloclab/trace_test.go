package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/scenarios/tracefile/record"
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

// edgeWasm has record's edge cases; testdata/trace/allocs.wasm is allocs.c's build.
const edgeWasm = "../../scenarios/tracefile/record/testdata/edge.wasm"

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
	for _, want := range []string{"# recording testdata/trace/allocs.wasm: malloc (function ", "# ran _start in ", "# wrote " + out + ": 288 ops (139 allocs, 139 frees, 10 reallocs)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	h, _ := readTrace(t, out)
	if !strings.Contains(h.Source, "allocs.wasm") || h.Command != "alloclab trace record-wasm -o "+out+" testdata/trace/allocs.wasm" {
		t.Errorf("header source %q, command %q", h.Source, h.Command)
	}
}

func TestTraceRecordWasmInvoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "churn.trace")
	// Flags after the module, as 'record-wasm -o out.trace module.wasm --invoke churn'.
	_, stderr, err := runTrace(t, "record-wasm", "-o", out, "testdata/trace/allocs.wasm", "--invoke", "churn")
	if err != nil {
		t.Fatalf("record-wasm -invoke churn: %v\n%s", err, stderr)
	}
	h, tr := readTrace(t, out)
	if !strings.Contains(h.Source, "export churn,") || len(tr.Ops) != 70 || tr.Slots != 7 {
		t.Errorf("source %q, %d ops in %d slots; want churn's 70 in 7", h.Source, len(tr.Ops), tr.Slots)
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
		{[]string{"record-wasm", "-o", out, edgeWasm, "-invoke", "takes"}, "trace record-wasm: -invoke takes: the function takes 1 parameters; want none"},
		{[]string{"record-wasm", "-o", out, edgeWasm, "-invoke", "spin", "-timeout", "1s"}, "spin did not finish within 1s"},
	} {
		_, _, err := runTrace(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	// A module that exits with a status gives its trace, with a warning.
	_, stderr, err := runTrace(t, "record-wasm", "-o", out, edgeWasm, "-invoke", "exit3")
	for _, want := range []string{"# warning: not recording free (function ", "# warning: exit3 exited with status 3", "# wrote " + out + ": 1 ops"} {
		if err != nil || !strings.Contains(stderr, want) {
			t.Errorf("-invoke exit3: %v; stderr lacks %q:\n%s", err, want, stderr)
		}
	}
	if err := os.Remove(out); err != nil {
		t.Errorf("-invoke exit3 wrote no trace: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed recording wrote %s", out)
	}
}

// TestTraceRecordNative records the C compiler's driver printing its version:
// a dynamically linked program that every machine with a recorder has.
func TestTraceRecordNative(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("recording native programs needs glibc's mtrace (Linux)")
	}
	cc, err := record.CC()
	if err != nil {
		t.Skipf("no C compiler, so no native recording: %v", err)
	}
	out := filepath.Join(t.TempDir(), "cc.trace")
	stdout, stderr, err := runTrace(t, "record", "-o", out, "-process", "largest", "-max-ops", "20", "--", cc, "--version")
	if err != nil {
		if strings.Contains(err.Error(), "libc_malloc_debug") {
			t.Skipf("no glibc mtrace here: %v", err)
		}
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	if stdout == "" {
		t.Errorf("the program's output did not reach stdout")
	}
	for _, want := range []string{"# recording " + cc + " --version\n", " mtrace lines\n", "; keeping process ", "# wrote " + out + ": "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	h, tr := readTrace(t, out)
	if h.Command != "alloclab trace record -o "+out+" -process largest -max-ops 20 -- "+cc+" --version" || !strings.Contains(h.Source, "recorded with glibc mtrace") {
		t.Errorf("header %+v", h)
	}
	if st := tr.Stats(); st.Allocs+st.Frees+st.Reallocs < 20 || st.LiveBlocks != 0 {
		t.Errorf("-max-ops 20: %d ops, %+v; want 20 and the frees of what was live at the cut", len(tr.Ops), st)
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
	h, _ := readTrace(t, out)
	if h.Source != "allocs.c natively" || h.Command != "alloclab trace import "+allocsLog+" -o "+out+" -source 'allocs.c natively'" || h.Ops != 290 {
		t.Errorf("header %+v", h)
	}

	// -max-ops cuts the trace and frees what is live at the cut.
	_, stderr, err = runTrace(t, "import", "-max-ops", "50", "-o", out, allocsLog)
	if err != nil {
		t.Fatalf("import -max-ops: %v", err)
	}
	_, tr := readTrace(t, out)
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
