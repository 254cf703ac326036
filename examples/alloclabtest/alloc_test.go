// Package alloclabtest_example shows package alloclabtest as an allocator's own
// module uses it: a module of its own that depends on the lab (here through a
// replace directive), whose go test checks a guest and a built baseline and
// shows the one-line fault a faulty module fails with, and whose go test -bench
// reports the lab's metrics beside ns/op.
package alloclabtest_example

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/alloclab/alloclab/alloclabtest"
	"github.com/alloclab/alloclab/guests"
)

// TestMain tells benchstat which of the lab's units are exact before go test
// prints any result.
func TestMain(m *testing.M) {
	if err := alloclabtest.WriteUnits(os.Stdout); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// pool is one of the lab's own guests; an allocator's author would embed their
// module's .wasm instead.
func pool() []byte {
	g, _ := guests.Lookup("pool")
	return g.Wasm
}

// dlmalloc is wasi-libc's malloc, built by the lab's guests/baselines/build.sh
// into a git-ignored folder: without it the tests that need it skip.
func dlmalloc(tb testing.TB) []byte {
	const path = "../../guests/baselines/out/dlmalloc.wasm"
	wasm, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("%s is not built: make baselines (guests/baselines/build.sh) builds it", path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}

func TestPool(t *testing.T) {
	alloclabtest.Check(t, pool(), alloclabtest.Name("pool"))
}

func TestDlmalloc(t *testing.T) {
	alloclabtest.Check(t, dlmalloc(t), alloclabtest.Name("dlmalloc"))
}

// TestFaulty is the failing test TestFaultyFails runs in a child process: a guest
// that writes into a block it handed out fails it with one line.
func TestFaulty(t *testing.T) {
	if os.Getenv("ALLOCLABTEST_FAULTY") != "1" {
		t.Skip("fails on purpose: TestFaultyFails runs it")
	}
	corrupt, err := os.ReadFile("../../harness/testdata/corrupt.wasm")
	if err != nil {
		t.Fatal(err)
	}
	alloclabtest.Check(t, corrupt, alloclabtest.Name("corrupt"))
}

// TestFaultyFails runs TestFaulty as go test would and checks that it fails with
// the fault alloclab check prints for the same module.
func TestFaultyFails(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaulty$", "-test.v")
	cmd.Env = append(os.Environ(), "ALLOCLABTEST_FAULTY=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("TestFaulty: %v, want exit status 1:\n%s", err, out)
	}
	// The line is the test's own call of Check, and the fault is all of the message.
	fault := regexp.MustCompile(`\n    alloc_test\.go:\d+: ` + regexp.QuoteMeta("guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live") + `\n--- FAIL: TestFaulty `)
	if !fault.Match(out) {
		t.Fatalf("TestFaulty's output does not match\n%s\n\n%s", fault, out)
	}
}

// BenchmarkAlloc measures both guests on two scenarios, and on churn under a
// 256 KiB out-of-memory limit, which it outgrows: the oom-op, oom-live-bytes and
// oom-live/limit metrics say where each ran out. benchstat -col /guest compares
// the guests.
func BenchmarkAlloc(b *testing.B) {
	benches := []struct {
		name, scenario string
		opts           []alloclabtest.Option
	}{
		{"scenario=churn", "churn", nil},
		{"scenario=trace-sqlite3", "trace-sqlite3", nil},
		{"scenario=churn/oom-limit=256KiB", "churn", []alloclabtest.Option{alloclabtest.OOMLimit(4)}},
	}
	for _, bc := range benches {
		b.Run(bc.name+"/guest=pool", func(b *testing.B) {
			alloclabtest.Benchmark(b, pool(), bc.scenario, append(bc.opts, alloclabtest.Name("pool"))...)
		})
		b.Run(bc.name+"/guest=dlmalloc", func(b *testing.B) {
			alloclabtest.Benchmark(b, dlmalloc(b), bc.scenario, append(bc.opts, alloclabtest.Name("dlmalloc"))...)
		})
	}
}
