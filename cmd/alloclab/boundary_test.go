package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/internal/labtest"
)

// runBoundary runs alloclab boundary with args and returns its exit status,
// stdout and stderr.
func runBoundary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := exitCode(boundaryCmd(context.Background(), &stdout, &stderr, args), &stderr)
	return code, stdout.String(), stderr.String()
}

// guestOf returns the guest=NAME part of a result's name.
func guestOf(r *benchfmt.Result) string {
	_, parts := r.Name.Parts()
	for _, p := range parts {
		if g, ok := strings.CutPrefix(string(p), "/guest="); ok {
			return g
		}
	}
	return ""
}

// Test_boundary ensures the following works and writes benchfmt benchstat reads:
// alloclab boundary -short -guest pool,floor -count 2
func Test_boundary(t *testing.T) {
	code, stdout, stderr := runBoundary(t, "-short", "-guest", "^pool$,^floor$", "-count", "2", "-baselines", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	results, units := labtest.ReadResults(t, stdout)
	// Per count: pool has 12 boundary-copy lines, 3 view-across-grow, 3 host-handles
	// with 4 samples each, 2 leak-check and 3 density (one per memory policy, Linux
	// only); the floor has boundary-copy's 12 and density's 3.
	density := 3
	if runtime.GOOS != "linux" {
		density = 0
	}
	if want := 2 * (12 + 3 + 3*5 + 2 + density + 12 + density); len(results) != want {
		t.Fatalf("got %d results, want %d", len(results), want)
	}
	for _, u := range []string{"copied-bytes", "guest-calls", "stale-views", "lost-write-bytes", "leaked-bytes", "lost-bytes", "held-pages"} {
		if m := units.Get(u, "assume"); m == nil || m.Value != "exact" {
			t.Errorf("%s is not declared exact", u)
		}
		if m := units.Get(u, "better"); m == nil || m.Value != "lower" {
			t.Errorf("%s is not declared better=lower", u)
		}
	}
	for _, r := range results {
		if strings.Contains(string(r.Name), "scenario=density/") {
			if v, ok := r.Value("host-bytes/instance"); !ok || v <= 0 {
				t.Errorf("%s: host-bytes/instance %v", r.Name, v)
			}
		}
	}
	for _, u := range []string{"live-bytes-max", "free-delay-gc-mean", "live-bytes", "host-bytes/instance", "instances/GiB"} {
		if m := units.Get(u, "assume"); m != nil {
			t.Errorf("%s is declared exact, but it depends on when the collector runs", u)
		}
	}
	byName := map[string][]*benchfmt.Result{}
	for _, r := range results {
		byName[string(r.Name.Full())] = append(byName[string(r.Name.Full())], r)
	}
	value := func(name, unit string) float64 {
		t.Helper()
		rs := byName[name]
		if len(rs) != 2 {
			t.Fatalf("%s: %d results, want 2; names: %v", name, len(rs), keys(byName))
		}
		v, ok := rs[0].Value(unit)
		if !ok {
			t.Fatalf("%s has no %s", name, unit)
		}
		if w, _ := rs[1].Value(unit); units.Get(unit, "assume") != nil && w != v {
			t.Errorf("%s: %s is %v then %v", name, unit, v, w)
		}
		return v
	}
	checks := []struct {
		name, unit string
		want       float64
	}{
		{"Boundary/scenario=boundary-copy/way=copy/size=4KiB/guest=pool", "copied-bytes", 8192},
		{"Boundary/scenario=boundary-copy/way=copy/size=4KiB/guest=pool", "guest-calls", 2},
		{"Boundary/scenario=boundary-copy/way=view/size=1MiB/guest=pool", "copied-bytes", 0},
		{"Boundary/scenario=boundary-copy/way=pooled/size=64B/guest=floor", "guest-calls", 0},
		{"Boundary/scenario=boundary-copy/way=view-across-grow/policy=default/guest=pool", "stale-views", 4},
		{"Boundary/scenario=boundary-copy/way=view-across-grow/policy=capacity-from-max/guest=pool", "stale-views", 0},
		{"Boundary/scenario=host-handles/way=close/guest=pool", "leaked-bytes", 0},
		{"Boundary/scenario=host-handles/way=cleanup/guest=pool", "leaked-bytes", 0},
		{"Boundary/scenario=leak-check/after=boundary-copy/guest=pool", "lost-bytes", 0},
		{"Boundary/scenario=leak-check/after=boundary-copy/guest=pool", "probe-bytes", 1 << 20},
	}
	for _, c := range checks {
		if got := value(c.name, c.unit); got != c.want {
			t.Errorf("%s: %s = %v, want %v", c.name, c.unit, got, c.want)
		}
	}
	if v := value("Boundary/scenario=boundary-copy/way=copy/size=64B/guest=pool", "sec/op"); v <= 0 {
		t.Errorf("no time: %v", v)
	}
	if v := value("Boundary/scenario=host-handles/way=never/guest=pool", "leaked-bytes"); v <= 0 {
		t.Errorf("never leaked %v bytes", v)
	}
	value("Boundary/scenario=host-handles/way=cleanup/at=50%/guest=pool", "live-bytes")
	value("Boundary/scenario=host-handles/way=cleanup/guest=pool", "free-delay-gc-max")
	for name := range byName {
		floorOK := strings.Contains(name, "scenario=boundary-copy/way=") && !strings.Contains(name, "view-across-grow") ||
			strings.Contains(name, "scenario=density/")
		if strings.Contains(name, "guest=floor") && !floorOK {
			t.Errorf("the floor is no allocator; it should run boundary-copy's timed lines and density only: %s", name)
		}
	}
}

// TestBoundaryKeepsGoodGuests runs faulty fixture guests beside a good one: each
// fault is reported with the guest and the line, the good guest's lines are
// kept, and the exit status is 1.
func TestBoundaryKeepsGoodGuests(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.txt")
	code, _, stderr := runBoundary(t, "-short", "-scenario", "boundary-copy", "-timeout", "1s",
		"-guest", "../../harness/testdata/trap.wasm,../../harness/testdata/hang.wasm,../../harness/testdata/overlap.wasm,^pool$", "-o", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{
		"# FAIL guest trap, scenario boundary-copy/way=copy/size=64B: op 99: guest trap: alloc(64, 16): trapped: wasm error: unreachable",
		"# FAIL guest hang, scenario boundary-copy/way=copy/size=64B: op 99: guest hang: alloc(64, 16): did not finish within the time limit of 1s",
		"# FAIL guest overlap, scenario boundary-copy/way=view-across-grow/policy=default: alloc(65536, 16) returned [0x60, 0x10060), which overlaps the live block [0x40, 0x80)",
		"# 3 failed:",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not report %q:\n%s", want, stderr)
		}
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := labtest.ReadResults(t, string(text))
	perGuest := map[string]int{}
	for _, r := range results {
		perGuest[guestOf(r)]++
	}
	// overlap's 12 timed lines came before its fault.
	if perGuest["pool"] != 15 || perGuest["trap"] != 0 || perGuest["hang"] != 0 || perGuest["overlap"] != 12 {
		t.Errorf("lines per guest: %v; want pool 15, overlap 12 (before its fault), none of the others", perGuest)
	}
}

// TestBoundaryLeakyGuest runs leak-check on the leaky fixture by path.
func TestBoundaryLeakyGuest(t *testing.T) {
	code, stdout, stderr := runBoundary(t, "-short", "-scenario", "leak", "-guest", "../../harness/boundary/testdata/leaky.wasm")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	results, _ := labtest.ReadResults(t, stdout)
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for _, r := range results {
		if got := guestOf(r); got != "leaky" {
			t.Errorf("guest %q", got)
		}
		if _, ok := r.Value("held-pages"); !ok {
			t.Errorf("%s has no held-pages", r.Name.Full())
		}
	}
}

func TestBoundaryUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"-guest", "("}, "-guest: error parsing regexp"},
		{[]string{"-guest", "nosuchguest"}, `-guest "nosuchguest" matches no guest`},
		{[]string{"-scenario", "[z"}, "-scenario: error parsing regexp"},
		{[]string{"-scenario", "churn"}, `-scenario "churn" matches no boundary scenario`},
		{[]string{"-count", "0"}, "-count 0: want 1 or more"},
		{[]string{"-timeout", "0s"}, "-timeout 0s: want a positive duration"},
		{[]string{"extra"}, `boundary: unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runBoundary(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want 2 and %q", code, stderr, stdout, tc.want)
			}
		})
	}
}
