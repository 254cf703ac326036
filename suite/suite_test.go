package suite

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios"
)

func labGuests(t *testing.T, names ...string) []*harness.Guest {
	t.Helper()
	var out []*harness.Guest
	for _, b := range append(guests.All, guests.Floor) {
		for _, n := range names {
			if b.Name == n {
				g, err := harness.NewGuest(b.Name, b.Wasm)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, g)
			}
		}
	}
	return out
}

func TestGridAndShards(t *testing.T) {
	scs, err := scenarios.Match("^(churn|oom-sweep)$")
	if err != nil {
		t.Fatal(err)
	}
	gs := labGuests(t, "bump", "pool")
	modes := []harness.Mode{harness.Replay, harness.Host}
	grid := Grid(scs, gs, modes)
	// churn: 2 guests x 2 modes; oom-sweep: 2 limits x 2 guests x 2 modes.
	if len(grid) != 4+8 {
		t.Fatalf("grid has %d benchmarks, want 12", len(grid))
	}
	seen := map[string]int{}
	for i := 1; i <= 3; i++ {
		r, err := New(Options{Scenarios: scs, Guests: gs, Modes: modes, Shard: i, Shards: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range r.Benches() {
			seen[b.Name().String()]++
		}
	}
	if len(seen) != len(grid) {
		t.Errorf("3 shards cover %d benchmarks, want %d", len(seen), len(grid))
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s in %d shards", name, n)
		}
	}
	for _, bad := range [][2]int{{0, 3}, {4, 3}, {1, -1}} {
		if _, err := New(Options{Shard: bad[0], Shards: bad[1]}); err == nil {
			t.Errorf("shard %d/%d: no error", bad[0], bad[1])
		}
	}
}

// run runs a short suite and returns its output and the runner.
func run(t *testing.T, o Options) (string, *Runner) {
	t.Helper()
	var buf, log bytes.Buffer
	o.Log = func(f string, a ...any) { log.WriteString(strings.TrimSpace(f) + "\n") }
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), results.NewWriter(&buf)); err != nil {
		t.Fatal(err)
	}
	if len(r.Failures()) > 0 {
		t.Fatalf("failures: %v", r.Failures())
	}
	return buf.String(), r
}

func TestShuffleAndCache(t *testing.T) {
	scs, err := scenarios.Match("^churn$")
	if err != nil {
		t.Fatal(err)
	}
	cache := &Cache{Dir: t.TempDir(), Version: "test"}
	o := Options{Scenarios: scs, Guests: labGuests(t, "bump", "freelist", "arena", "pool"), Modes: []harness.Mode{harness.Replay},
		Short: true, Count: 3, Seed: 7, Cache: cache, Timeout: time.Minute, OOMLimitPages: harness.DefaultOOMLimitPages}
	order := func(out string) []string {
		var names []string
		for _, line := range strings.Split(out, "\n") {
			if name, _, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "Benchmark") {
				names = append(names, name)
			}
		}
		return names
	}
	first, _ := run(t, o)
	again, _ := run(t, o) // from the cache
	if a, b := order(first), order(again); !reflect.DeepEqual(a, b) || len(a) != 12 {
		t.Errorf("the same seed gave another order or count:\n%v\n%v", a, b)
	}
	a := order(first)
	if reflect.DeepEqual(a[:4], a[4:8]) && reflect.DeepEqual(a[4:8], a[8:]) {
		t.Errorf("every count ran in the same order: %v", a)
	}
	// The first count keeps the grid's order, so benchstat's base column is the grid's first guest.
	for i, b := range Grid(scs, o.Guests, o.Modes) {
		if want := "Benchmark" + b.Name().String(); a[i] != want {
			t.Errorf("first count's benchmark %d: got %s, want %s", i, a[i], want)
		}
	}
	// The cached exact metrics are the measured ones.
	exactOf := func(out string) []string {
		var lines []string
		for _, line := range strings.Split(out, "\n") {
			if i := strings.Index(line, " ns/op "); i > 0 {
				name, _, _ := strings.Cut(line, " ")
				lines = append(lines, name+line[i+len(" ns/op "):])
			}
		}
		return lines
	}
	if a, b := exactOf(first), exactOf(again); !reflect.DeepEqual(a, b) {
		t.Errorf("cached exact metrics differ:\n%v\n%v", a, b)
	}
	// A different lab build misses the cache.
	e, err := cache.get(Grid(scs, o.Guests, o.Modes)[0], o)
	if err != nil || e == nil {
		t.Fatalf("cache.get: %v, %v", e, err)
	}
	other := &Cache{Dir: cache.Dir, Version: "other"}
	if e, err := other.get(Grid(scs, o.Guests, o.Modes)[0], o); e != nil || err != nil {
		t.Errorf("another version hit the cache: %v, %v", e, err)
	}
}

func TestLatencyCount(t *testing.T) {
	tests := []struct {
		n, k int
		want []int // the counts that run the latency pass
	}{
		{10, 6, []int{1, 3, 5, 6, 8, 10}},
		{10, 3, []int{1, 5, 8}},
		{10, 1, []int{1}},
		{10, 0, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{10, 10, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{3, 6, []int{1, 2, 3}},
		{1, 6, []int{1}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d of %d", tc.k, tc.n), func(t *testing.T) {
			var got []int
			for c := 1; c <= tc.n; c++ {
				if LatencyCount(c, tc.n, tc.k) {
					got = append(got, c)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got counts %v, want %v", got, tc.want)
			}
		})
	}
	for n := 1; n <= 30; n++ {
		for k := 1; k <= n; k++ {
			got := 0
			for c := 1; c <= n; c++ {
				if LatencyCount(c, n, k) {
					got++
				}
			}
			if got != k {
				t.Errorf("%d of %d: %d counts run the latency pass", k, n, got)
			}
		}
	}
}

// TestLatencyCounts runs a suite whose latency pass runs in two counts of three:
// the first and the last count of each benchmark have tail latencies, the middle
// one has none.
func TestLatencyCounts(t *testing.T) {
	scs, err := scenarios.Match("^churn$")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Scenarios: scs, Guests: labGuests(t, "bump", "pool"), Modes: []harness.Mode{harness.Replay},
		Short: true, Count: 3, Latency: true, LatencyCounts: 2, Timeout: time.Minute}
	out, _ := run(t, o)
	latency := map[string][]bool{}
	for _, line := range strings.Split(out, "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "Benchmark") {
			latency[name] = append(latency[name], strings.Contains(line, " "+results.UnitP99+" "))
		}
	}
	if len(latency) != 2 {
		t.Fatalf("got %d benchmarks, want 2:\n%s", len(latency), out)
	}
	for name, got := range latency {
		if want := []bool{true, false, true}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: counts with %s: %v, want %v", name, results.UnitP99, got, want)
		}
	}
}

// TestModesShareExact: a benchmark's replay and host modes share one set of
// exact passes, and their lines carry the same exact metrics.
func TestModesShareExact(t *testing.T) {
	scs, err := scenarios.Match("^churn$")
	if err != nil {
		t.Fatal(err)
	}
	var checked []string
	o := Options{Scenarios: scs, Guests: labGuests(t, "bump", "pool"), Modes: []harness.Mode{harness.Replay, harness.Host},
		Short: true, Count: 1, Timeout: time.Minute, OOMLimitPages: harness.DefaultOOMLimitPages}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r.o.Log = func(f string, a ...any) {
		if line := fmt.Sprintf(f, a...); strings.Contains(line, ": checked ") {
			checked = append(checked, line)
		}
	}
	if err := r.Run(context.Background(), results.NewWriter(&buf)); err != nil || len(r.Failures()) > 0 {
		t.Fatalf("run: %v, %v", err, r.Failures())
	}
	if len(checked) != 2 {
		t.Errorf("%d exact passes for 2 guests in 2 modes, want 2:\n%s", len(checked), strings.Join(checked, "\n"))
	}
	exact := map[string]string{} // guest -> its exact units, as written
	for _, line := range strings.Split(buf.String(), "\n") {
		name, rest, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "Benchmark") {
			continue
		}
		var units []string
		f := strings.Fields(rest)
		for i := 1; i+1 < len(f); i += 2 {
			if u, ok := results.Lookup(f[i+1]); ok && u.Exact {
				units = append(units, f[i]+" "+f[i+1])
			}
		}
		guest := strings.TrimSuffix(strings.TrimSuffix(name[strings.Index(name, "guest="):], "/mode=replay"), "/mode=host")
		if prev, ok := exact[guest]; ok && prev != strings.Join(units, " ") {
			t.Errorf("%s: exact metrics %s, the other mode's %s", name, strings.Join(units, " "), prev)
		}
		exact[guest] = strings.Join(units, " ")
	}
	if len(exact) != 2 {
		t.Errorf("lines of %d guests, want 2:\n%s", len(exact), buf.String())
	}
}

func TestWindow(t *testing.T) {
	sc, err := scenarios.Lookup("churn")
	if err != nil {
		t.Fatal(err)
	}
	g := labGuests(t, "bump")[0]
	lab := harness.NewLab()
	defer lab.Close(context.Background())
	tr := sc.Trace(true)
	p, err := window(context.Background(), lab, g, "churn", tr, harness.Config{}, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p.Elapsed < 30*time.Millisecond || p.Ops%len(tr.Ops) != 0 || p.Ops < len(tr.Ops) {
		t.Errorf("window: %d ops in %v, want whole replays of %d ops over at least 30ms", p.Ops, p.Elapsed, len(tr.Ops))
	}
}

// TestTimedConfigs checks where each count's passes start: the window at the
// checked pass's end, the latency pass at the guest's own memory, and both at
// the checked pass's start when the variant pre-allocates, so a guest that grows
// past memory it finds (mimalloc) does not grow twice over.
func TestTimedConfigs(t *testing.T) {
	e := &harness.Exact{InitialPages: 3008, PeakPages: 5952}
	host := &Bench{Mode: harness.Host}
	for _, tc := range []struct {
		name        string
		b           *Bench
		e           *harness.Exact
		timed, lat  uint32 // InitialPages
		measureCall bool
		latPolicy   harness.MemoryPolicy
	}{
		{"plain", &Bench{Mode: harness.Replay}, e, 5952, 0, false, harness.PolicyMmap},
		{"host", host, e, 5952, 0, true, harness.PolicyMmap},
		{"prealloc", &Bench{Variant: scenarios.Variant{Prealloc: true, Policy: harness.PolicyDefault}}, e, 3008, 3008, false, harness.PolicyDefault},
		{"grow", &Bench{Variant: scenarios.Variant{GrowInTimedRuns: true, Policy: harness.PolicyCapacityFromMax}}, e, 0, 0, false, harness.PolicyCapacityFromMax},
		{"no exact passes", &Bench{Variant: scenarios.Variant{Prealloc: true}}, nil, 0, 0, false, harness.PolicyMmap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := harness.Config{MeasureHost: true, MemoryLimitPages: 8192, Policy: tc.b.Variant.Policy}
			timed, lat := timedConfigs(tc.b, cfg, tc.e)
			if timed.InitialPages != tc.timed || lat.InitialPages != tc.lat {
				t.Errorf("initial pages: window %d, latency %d; want %d, %d", timed.InitialPages, lat.InitialPages, tc.timed, tc.lat)
			}
			if timed.Policy != tc.b.Variant.Policy || lat.Policy != tc.latPolicy {
				t.Errorf("policies: window %q, latency %q; want %q, %q", timed.Policy, lat.Policy, tc.b.Variant.Policy, tc.latPolicy)
			}
			if timed.MeasureCall != tc.measureCall || !timed.MeasureHost || lat.MeasureHost || !lat.Latency || timed.Latency {
				t.Errorf("window %+v, latency %+v", timed, lat)
			}
			if timed.MemoryLimitPages != 8192 || lat.MemoryLimitPages != 8192 {
				t.Errorf("limits %d, %d: want the variant's 8192", timed.MemoryLimitPages, lat.MemoryLimitPages)
			}
		})
	}
}
