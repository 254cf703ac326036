package harness

import (
	"context"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/scenarios"
)

// exactAll measures every guest of the lab on the short version of scenario under
// an out-of-memory limit of oomLimit pages.
func exactAll(t *testing.T, lab *Lab, scenario string, oomLimit uint32) map[string]*Exact {
	t.Helper()
	sc, err := scenarios.Lookup(scenario)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Exact{}
	for _, b := range guests.All {
		g, err := NewGuest(b.Name, b.Wasm)
		if err != nil {
			t.Fatal(err)
		}
		e, err := lab.MeasureExact(context.Background(), g, scenario, sc.Trace(true), Config{}, oomLimit)
		if err != nil {
			t.Fatal(err)
		}
		out[b.Name] = e
	}
	return out
}

func markGrowth(t *testing.T, e *Exact) uint32 {
	t.Helper()
	g, ok := e.MarkGrowth()
	if !ok {
		t.Fatalf("trace has %d marks, want 2 or more", len(e.MarkPages))
	}
	return g
}

func oomOp(e *Exact) int {
	if e.OOM == nil {
		return -1
	}
	return e.OOM.Op
}

// TestScenarioFacts checks, on exact metrics only, the fact each scenario exists
// to show. Where the expectation was false for a guest, the test states
// what is true instead, as the scenario's paragraph does.
func TestScenarioFacts(t *testing.T) {
	lab := newLab(t)
	t.Run("arena-phases: arena and bump stop growing after the first phase", func(t *testing.T) {
		e := exactAll(t, lab, "arena-phases", 0)
		for _, g := range []string{"arena", "bump", "freelist", "pool"} {
			if got := markGrowth(t, e[g]); got != 0 {
				t.Errorf("%s grew %d pages after phase 1, want 0", g, got)
			}
		}
	})
	t.Run("pooled-objects: pool and freelist grow no pages after warm-up; bump and arena do", func(t *testing.T) {
		e := exactAll(t, lab, "pooled-objects", 0)
		want := map[string]uint32{"pool": 0, "freelist": 0, "bump": 18, "arena": 18}
		for g, w := range want {
			if got := markGrowth(t, e[g]); got != w {
				t.Errorf("%s grew %d pages after warm-up, want %d", g, got, w)
			}
		}
	})
	t.Run("churn: arena hits OOM first, then bump; freelist and pool never", func(t *testing.T) {
		// The issue expected bump first: arena's chunk tails waste more, so it fails
		// earlier. Under a 2 MiB limit on the short trace:
		e := exactAll(t, lab, "churn", 32)
		want := map[string]int{"arena": 7405, "bump": 8846, "freelist": -1, "pool": -1}
		for g, w := range want {
			if got := oomOp(e[g]); got != w {
				t.Errorf("%s: OOM at op %d, want %d", g, got, w)
			}
		}
	})
	t.Run("fragmentation-swiss: freelist and pool need a ninth of bump's pages", func(t *testing.T) {
		e := exactAll(t, lab, "fragmentation-swiss", 0)
		want := map[string]uint32{"freelist": 20, "pool": 20, "bump": 174, "arena": 218}
		for g, w := range want {
			if got := e[g].PeakPages; got != w {
				t.Errorf("%s: peak pages %d, want %d", g, got, w)
			}
		}
		// No guest fits the 1 MiB block in the memory it has: 16 pages each (17 for
		// arena, whose chunk header pushes it over).
		for g, w := range map[string]uint32{"freelist": 16, "pool": 16, "bump": 16, "arena": 17} {
			if got := markGrowth(t, e[g]); got != w {
				t.Errorf("%s: the big block grew %d pages, want %d", g, got, w)
			}
		}
	})
	t.Run("fragmentation-alternating: reuse keeps memory flat; bump and arena grow every round", func(t *testing.T) {
		e := exactAll(t, lab, "fragmentation-alternating", 0)
		want := map[string]uint32{"freelist": 0, "pool": 0, "bump": 250, "arena": 396}
		for g, w := range want {
			if got := markGrowth(t, e[g]); got != w {
				t.Errorf("%s grew %d pages after round 1, want %d", g, got, w)
			}
		}
	})
	t.Run("oom-sweep: freelist and pool use more of a 16 MiB limit than bump and arena", func(t *testing.T) {
		e := exactAll(t, lab, "oom-sweep", 256)
		want := map[string]int{"freelist": 18127, "pool": 17058, "bump": 10902, "arena": 10325}
		for g, w := range want {
			if got := oomOp(e[g]); got != w {
				t.Errorf("%s: OOM at op %d, want %d", g, got, w)
			}
		}
	})
}
