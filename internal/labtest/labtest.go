// Package labtest holds the helpers the lab's tests share: a Lab closed when the
// test ends, guests looked up by name or loaded from a file, and scenario traces.
// Tests of package harness itself cannot import it (it imports harness); its
// external tests (package harness_test) do.
package labtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

// Modes lists the harness's modes, for tests that must hold in both.
var Modes = []harness.Mode{harness.Replay, harness.Host}

// Long skips the test under go test -short: it runs many guests over many
// scenarios, which make race (go test -race -short) cannot afford; go test
// without -short, as make test runs it, runs it.
func Long(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("many guests over many scenarios: skipped under -short")
	}
}

// Lab returns a new lab, closed when the test ends.
func Lab(t testing.TB) *harness.Lab {
	t.Helper()
	lab := harness.NewLab()
	t.Cleanup(func() { lab.Close(context.Background()) })
	return lab
}

// Guest returns the lab's guest named name (see guests.Lookup).
func Guest(t testing.TB, name string) *harness.Guest {
	t.Helper()
	b, ok := guests.Lookup(name)
	if !ok {
		t.Fatalf("no lab guest named %q", name)
	}
	g, err := harness.NewGuest(b.Name, b.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Guests returns every guest of the lab (guests.All), in its order.
func Guests(t testing.TB) []*harness.Guest {
	t.Helper()
	var out []*harness.Guest
	for _, b := range guests.All {
		out = append(out, Guest(t, b.Name))
	}
	return out
}

// File loads the module at path as a guest named after the file (its base name
// without the extension). With skip, a missing file skips the test with the hint
// instead of failing it.
func File(t testing.TB, path string, skip bool, hint string) *harness.Guest {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if skip && errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s does not exist: %s", path, hint)
	}
	if err != nil {
		t.Fatal(err)
	}
	g, err := harness.NewGuest(filepath.Base(path[:len(path)-len(filepath.Ext(path))]), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Short returns the short trace of the scenario named name.
func Short(t testing.TB, name string) *trace.Trace {
	t.Helper()
	sc, err := scenarios.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc.Trace(true)
}

// ReadResults parses benchfmt text, failing the test on any syntax error.
func ReadResults(t *testing.T, text string) ([]*benchfmt.Result, benchfmt.UnitMetadataMap) {
	t.Helper()
	r := benchfmt.NewReader(strings.NewReader(text), "results")
	var out []*benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("bad benchfmt: %v", rec)
		case *benchfmt.Result:
			out = append(out, rec.Clone())
		}
	}
	return out, r.Units()
}
