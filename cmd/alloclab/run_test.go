package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/internal/labtest"
	"golang.org/x/perf/benchfmt"
)

// runAlloclab runs the command line and returns its exit status, stdout and stderr.
func runAlloclab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := exitCode(alloclab(context.Background(), &stdout, &stderr, args), &stderr)
	return code, stdout.String(), stderr.String()
}

// Test_run ensures the following works and writes benchfmt benchstat can read:
// alloclab run -short -scenario churn -guest bump,floor -count 2 -mode replay,host
func Test_run(t *testing.T) {
	code, stdout, stderr := runAlloclab(t, "run", "-short", "-scenario", "^churn$", "-guest", "^bump$,^floor$", "-count", "2", "-mode", "replay,host")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	results, units := labtest.ReadResults(t, stdout)
	if len(results) != 8 {
		t.Fatalf("got %d results, want 8 (2 guests x 2 modes x 2 counts)", len(results))
	}
	for _, u := range []string{"peak-live-bytes", "touched-bytes", "touched/live", "discardable-bytes", "peak-discardable-bytes"} {
		if m := units.Get(u, "assume"); m == nil || m.Value != "exact" {
			t.Errorf("%s is not declared exact", u)
		}
	}
	byName := map[string][]*benchfmt.Result{}
	for _, r := range results {
		byName[string(r.Name.Full())] = append(byName[string(r.Name.Full())], r)
	}
	bump := byName["Alloc/scenario=churn/guest=bump/mode=replay"]
	if len(bump) != 2 {
		t.Fatalf("names: %v", keys(byName))
	}
	want := []string{"sec/op", "grow-calls", "pages-grown", "peak-pages", "peak-live-bytes", "heap/live", "wasm-bytes", "p99-sec", "grow-sec", // benchfmt tidies -ns units to -sec
		"discardable-bytes", "peak-discardable-bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "touched-bytes", "touched/live")
	}
	for _, unit := range want {
		if _, ok := bump[0].Value(unit); !ok {
			t.Errorf("bump has no %s", unit)
		}
	}
	// bump writes nothing of its own, and churn frees every block: all of its
	// memory is discardable at the end.
	pages, _ := bump[0].Value("peak-pages")
	if v, _ := bump[0].Value("discardable-bytes"); v != pages*65536 {
		t.Errorf("discardable-bytes %v, want all %v pages", v, pages)
	}
	if v, ok := bump[0].Value("touched-bytes"); ok && v != 0 {
		t.Errorf("bump touched %v bytes, want 0", v)
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
	// The file describes its scenarios, for the results pages.
	if !strings.Contains(stdout, "\nscenario-churn: A long-running service: ") || !strings.Contains(stdout, " Parameters: live set 2000 blocks") {
		t.Errorf("no scenario-churn configuration line in\n%s", stdout[:min(len(stdout), 2000)])
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

// TestRunKeepsGoodGuests runs each faulty fixture guest beside a good one: the
// fault is reported in one line with guest, scenario, op and fault, the good
// guest's result is kept, a summary lists the failure, and the exit status is 1.
func TestRunKeepsGoodGuests(t *testing.T) {
	tests := []struct{ guest, fault string }{
		{"overlap", "FAIL guest overlap, scenario churn, op 1: block [0xa0, 0x3f3) overlaps live block [0x40, 0xea) from op 0"},
		{"misaligned", "FAIL guest misaligned, scenario churn, op 0: block 0x44 is not aligned to 8"},
		{"outofbounds", "FAIL guest outofbounds, scenario churn, op 225: block [0xb7e8, 0x134bd) is out of bounds: memory is 65536 bytes"},
		{"corrupt", "FAIL guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live"},
		{"trap", "FAIL guest trap, scenario churn, op 99: trapped: wasm error: unreachable"},
		{"hang", "FAIL guest hang, scenario churn, op 99: did not finish within the time limit of 1s"},
	}
	for _, tc := range tests {
		t.Run(tc.guest, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results.txt")
			code, _, stderr := runAlloclab(t, "run", "-short", "-scenario", "^churn$", "-latency=false", "-timeout", "1s",
				"-guest", "../../harness/testdata/"+tc.guest+".wasm,^bump$", "-o", out)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "# "+tc.fault+"\n") || !strings.Contains(stderr, "# 1 failed:\n") {
				t.Errorf("stderr does not report %q:\n%s", tc.fault, stderr)
			}
			text, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			results, _ := labtest.ReadResults(t, string(text))
			if len(results) != 1 || !strings.Contains(string(results[0].Name), "guest=bump") {
				t.Fatalf("results file holds %d results, want bump's one:\n%s", len(results), text)
			}
		})
	}
}

// TestBadInput checks malformed modules and trace files get one clear line naming
// the file at fault.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("../../harness/testdata/minimal.wasm")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"truncated.wasm": good[:len(good)-7],
		"garbage.wasm":   append(append([]byte{}, good[:8]...), []byte("\xde\xad\xbe\xef random bytes after a valid header")...),
		"magic.wasm":     []byte("\x7fELF\x02\x01\x01\x00\x00\x00"),
		"corrupt.trace":  []byte("\x1f\x8b\x08\x00 not really gzip"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-guest", dir + "/truncated.wasm"}, "alloclab: -guest " + dir + "/truncated.wasm: guest truncated: not a valid WebAssembly module: "},
		{[]string{"-guest", dir + "/garbage.wasm"}, "alloclab: -guest " + dir + "/garbage.wasm: guest garbage: not a valid WebAssembly module: "},
		{[]string{"-guest", dir + "/magic.wasm"}, "alloclab: -guest " + dir + "/magic.wasm: guest magic: not a valid WebAssembly module: "},
		{[]string{"-trace", dir + "/corrupt.trace", "-guest", "bump"}, "alloclab: -trace: " + dir + "/corrupt.trace: "},
	}
	for _, tc := range tests {
		t.Run(tc.args[1], func(t *testing.T) {
			code, stdout, stderr := runAlloclab(t, append([]string{"run", "-short"}, tc.args...)...)
			if code == 0 || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
				t.Errorf("exit %d, stderr %q; want one line starting %q", code, stderr, tc.want)
			}
		})
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
		{[]string{"run", "-latency-counts", "-1"}, "-latency-counts -1: want 0 (every count) or more"},
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
	if code != 1 || !strings.Contains(stderr, "-guest ../../harness/testdata/badabi.wasm: guest badabi does not keep the allocator ABI (nor the C or wasm-bindgen convention): alloc has type (i32) -> (i32), want (i32, i32) -> (i32); exports no free") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestShards checks the shards of a run, merged, hold the same benchmarks, each
// as often, as the unsharded run.
func TestShards(t *testing.T) {
	args := []string{"run", "-short", "-scenario", "churn|pooled|swiss", "-guest", "^(bump|pool|floor)$", "-mode", "replay,host", "-count", "2", "-latency=false"}
	names := func(text string) map[string]int {
		results, _ := labtest.ReadResults(t, text)
		m := map[string]int{}
		for _, r := range results {
			m[string(r.Name)]++
		}
		return m
	}
	code, whole, stderr := runAlloclab(t, args...)
	if code != 0 {
		t.Fatal(stderr)
	}
	want := names(whole)
	merged := map[string]int{}
	for i := 1; i <= 4; i++ {
		code, part, stderr := runAlloclab(t, append(args, "-shard", fmt.Sprintf("%d/4", i))...)
		if code != 0 {
			t.Fatal(stderr)
		}
		for name, n := range names(part) {
			if merged[name] != 0 {
				t.Errorf("%s in two shards", name)
			}
			merged[name] += n
		}
	}
	if len(want) != 18 || !reflect.DeepEqual(merged, want) {
		t.Errorf("merged shards %v\nwant %v", merged, want)
	}
	if code, _, stderr := runAlloclab(t, "run", "-shard", "5/4"); code != 2 || !strings.Contains(stderr, `-shard "5/4": want i/n with 1 <= i <= n`) {
		t.Errorf("exit %d, %s", code, stderr)
	}
}

// Test_runCounts: alloclab run -short -count 1 -scenario churn prints the counts
// of a lab guest, a built baseline and a user's module, declared exact and the
// same in both modes, on both engines and in a second run; -latency=false keeps
// it short.
func Test_runCounts(t *testing.T) {
	guests := "^bump$,../../harness/testdata/cmalloc.wasm"
	if paths, _ := filepath.Glob("../../guests/baselines/out/dlmalloc.wasm"); len(paths) > 0 {
		guests += ",dlmalloc"
	}
	units := []string{"instrs/op", "p99-instrs", "max-instrs", "mem-ops/op", "bulk-bytes/op"}
	got := map[string][]float64{} // guest -> the counts, by run
	for _, args := range [][]string{
		{"-mode", "replay,host"},
		{"-mode", "replay"},
		{"-mode", "host", "-engine", "interpreter"},
	} {
		args = append([]string{"run", "-short", "-count", "1", "-scenario", "^churn$", "-latency=false",
			"-baselines", "../../guests/baselines/out", "-guest", guests}, args...)
		code, stdout, stderr := runAlloclab(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		results, meta := labtest.ReadResults(t, stdout)
		for _, u := range units {
			if m := meta.Get(u, "assume"); m == nil || m.Value != "exact" {
				t.Errorf("%s is not declared exact", u)
			}
		}
		for _, r := range results {
			_, g, _ := strings.Cut(string(r.Name), "guest=")
			g, _, _ = strings.Cut(g, "/")
			var vals []float64
			for _, u := range units {
				v, ok := r.Value(u)
				if !ok {
					t.Errorf("%s has no %s", r.Name, u)
				}
				vals = append(vals, v)
			}
			if want, ok := got[g]; ok && !reflect.DeepEqual(vals, want) {
				t.Errorf("%s (%v): counts %v, want %v as before", r.Name, args[len(args)-2:], vals, want)
			}
			got[g] = vals
		}
	}
	if len(got) != strings.Count(guests, ",")+1 {
		t.Errorf("counts for %v, want %s", keys(got), guests)
	}
}

// Test_runWithoutCounts: a guest that cannot be metered runs without counts, and
// the run says so in one line.
func Test_runWithoutCounts(t *testing.T) {
	code, stdout, stderr := runAlloclab(t, "run", "-short", "-scenario", "^churn$", "-latency=false",
		"-guest", "../../harness/testdata/premetered.wasm")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := `# guest premetered runs without instruction counts: cannot meter module premetered: byte 59: it already exports "alloclab.meter.instrs"`
	if strings.Count(stderr, "without instruction counts") != 1 || !strings.Contains(stderr, want+"\n") {
		t.Errorf("stderr does not say once %q:\n%s", want, stderr)
	}
	results, _ := labtest.ReadResults(t, stdout)
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	if _, ok := results[0].Value("instrs/op"); ok {
		t.Errorf("instrs/op without counts")
	}
	if _, ok := results[0].Value("peak-pages"); !ok {
		t.Errorf("no exact metrics")
	}
}

// TestMain makes the tests' runs replay once per count and leave the user's
// exact-pass cache alone; tests that time nothing need no window.
func TestMain(m *testing.M) {
	defaultBenchTime, defaultCache = 0, "off"
	os.Exit(m.Run())
}
