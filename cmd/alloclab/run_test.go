package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// runAlloclab runs the command line and returns its exit status, stdout and stderr.
func runAlloclab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := exitCode(alloclab(context.Background(), &stdout, &stderr, args), &stderr)
	return code, stdout.String(), stderr.String()
}

// readResults parses benchfmt text, failing the test on any syntax error.
func readResults(t *testing.T, text string) ([]*benchfmt.Result, benchfmt.UnitMetadataMap) {
	t.Helper()
	r := benchfmt.NewReader(strings.NewReader(text), "stdout")
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

// Test_run ensures the following works and writes benchfmt benchstat can read:
// alloclab run -short -scenario churn -guest bump,floor -count 2 -mode replay,host
func Test_run(t *testing.T) {
	code, stdout, stderr := runAlloclab(t, "run", "-short", "-scenario", "^churn$", "-guest", "bump,floor", "-count", "2", "-mode", "replay,host")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	results, units := readResults(t, stdout)
	if len(results) != 8 {
		t.Fatalf("got %d results, want 8 (2 guests x 2 modes x 2 counts)", len(results))
	}
	if m := units.Get("peak-live-bytes", "assume"); m == nil || m.Value != "exact" {
		t.Errorf("peak-live-bytes is not declared exact")
	}
	byName := map[string][]*benchfmt.Result{}
	for _, r := range results {
		byName[string(r.Name.Full())] = append(byName[string(r.Name.Full())], r)
	}
	bump := byName["Alloc/scenario=churn/guest=bump/mode=replay"]
	if len(bump) != 2 {
		t.Fatalf("names: %v", keys(byName))
	}
	for _, unit := range []string{"sec/op", "grow-calls", "pages-grown", "peak-pages", "peak-live-bytes", "heap/live", "wasm-bytes", "p99-sec", "grow-sec"} { // benchfmt tidies -ns units to -sec
		if _, ok := bump[0].Value(unit); !ok {
			t.Errorf("bump has no %s", unit)
		}
	}
	// Exact metrics agree between counts and modes.
	host := byName["Alloc/scenario=churn/guest=bump/mode=host"]
	for _, unit := range []string{"pages-grown", "peak-live-bytes", "peak-heap-bytes"} {
		a, _ := bump[0].Value(unit)
		for _, r := range append(bump[1:], host...) {
			if b, _ := r.Value(unit); b != a {
				t.Errorf("%s: %v in one line, %v in another", unit, a, b)
			}
		}
	}
	if v, _ := bump[0].Value("peak-live-bytes"); v != 360807 {
		t.Errorf("peak-live-bytes %v, want the trace's 360807", v)
	}
	if _, ok := host[0].Value("call-sec"); !ok {
		t.Errorf("host mode has no call-ns")
	}
	floor := byName["Alloc/scenario=churn/guest=floor/mode=replay"]
	if _, ok := floor[0].Value("peak-live-bytes"); ok || len(floor) != 2 {
		t.Errorf("floor should be timed only, never checked: %v", floor)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRunKeepsGoodGuests runs a faulty guest beside a good one: the fault is
// reported with guest, scenario and op, the good guest's results are kept, and the
// exit status is 1.
func TestRunKeepsGoodGuests(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.txt")
	code, _, stderr := runAlloclab(t, "run", "-short", "-scenario", "^churn$", "-guest", "../../harness/testdata/corrupt.wasm,bump", "-latency=false", "-o", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "# FAIL guest corrupt, scenario churn, op ") || !strings.Contains(stderr, "was corrupted at byte 0") {
		t.Errorf("stderr does not name the fault:\n%s", stderr)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := readResults(t, string(text))
	if len(results) != 1 || !strings.Contains(string(results[0].Name), "guest=bump") {
		t.Fatalf("results file holds %d results, want bump's one:\n%s", len(results), text)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"run", "-guest", "("}, "-guest: error parsing regexp"},
		{[]string{"run", "-guest", "nosuchguest"}, `-guest "nosuchguest" matches no guest`},
		{[]string{"run", "-guest", "missing.wasm"}, "-guest: open missing.wasm"},
		{[]string{"run", "-scenario", "[z"}, "-scenario: error parsing regexp"},
		{[]string{"run", "-scenario", "nosuch"}, `-scenario "nosuch" matches no scenario`},
		{[]string{"run", "-count", "0"}, "-count 0: want 1 or more"},
		{[]string{"run", "-mode", "replay,teleport"}, `-mode: unknown mode "teleport"`},
		{[]string{"run", "-engine", "jit"}, `-engine: unknown engine "jit"`},
		{[]string{"run", "-limit", "70000"}, "-limit 70000: want 1 to 65535 pages"},
		{[]string{"run", "extra"}, `run: unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runAlloclab(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want 2 and %q", code, stderr, stdout, tc.want)
			}
		})
	}
}

// TestBadModule checks a module that does not keep the ABI is refused by name.
func TestBadModule(t *testing.T) {
	code, _, stderr := runAlloclab(t, "run", "-short", "-guest", "../../harness/testdata/badabi.wasm")
	if code != 1 || !strings.Contains(stderr, "-guest ../../harness/testdata/badabi.wasm: guest badabi does not keep the allocator ABI: alloc has type (i32) -> (i32), want (i32, i32) -> (i32); exports no free") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
