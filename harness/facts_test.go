package harness_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// The exact metrics a fact is stated in.
var (
	// markGrowth is the pages grown between the trace's first and last marks.
	markGrowth = func(e *harness.Exact) (int, error) {
		g, ok := e.MarkGrowth()
		if !ok {
			return 0, fmt.Errorf("trace has %d marks, want 2 or more", len(e.MarkPages))
		}
		return int(g), nil
	}
	// oomOp is the op of the first failed alloc, or -1 if the trace fit.
	oomOp = func(e *harness.Exact) (int, error) {
		if e.OOM == nil {
			return -1, nil
		}
		return e.OOM.Op, nil
	}
	peakPages = func(e *harness.Exact) (int, error) { return int(e.PeakPages), nil }
)

// facts are what each scenario exists to show, in exact metrics of the lab's WAT
// guests on its short trace. TestTinyGoTwinFacts runs the same scenarios and
// limits on the TinyGo twins.
var facts = []struct {
	scenario string
	fact     string
	oomLimit uint32 // pages; 0: no out-of-memory pass
	metric   func(*harness.Exact) (int, error)
	want     map[string]int // per guest
}{
	{"arena-phases", "arena and bump stop growing after the first phase", 0, markGrowth,
		map[string]int{"arena": 0, "bump": 0, "freelist": 0, "pool": 0}},
	{"pooled-objects", "pool and freelist grow no pages after warm-up; bump and arena do", 0, markGrowth,
		map[string]int{"pool": 0, "freelist": 0, "bump": 18, "arena": 18}},
	// The issue expected bump first: arena's chunk tails waste more, so it fails
	// earlier. Under a 2 MiB limit:
	{"churn", "arena hits OOM first, then bump; freelist and pool never", 32, oomOp,
		map[string]int{"arena": 7405, "bump": 8846, "freelist": -1, "pool": -1}},
	{"fragmentation-swiss", "freelist and pool need a ninth of bump's pages", 0, peakPages,
		map[string]int{"freelist": 20, "pool": 20, "bump": 174, "arena": 218}},
	// 16 pages each, 17 for arena, whose chunk header pushes it over.
	{"fragmentation-swiss", "no guest fits the 1 MiB block in the memory it has", 0, markGrowth,
		map[string]int{"freelist": 16, "pool": 16, "bump": 16, "arena": 17}},
	{"fragmentation-alternating", "reuse keeps memory flat; bump and arena grow every round", 0, markGrowth,
		map[string]int{"freelist": 0, "pool": 0, "bump": 250, "arena": 396}},
	{"oom-sweep", "freelist and pool use more of a 16 MiB limit than bump and arena", 256, oomOp,
		map[string]int{"freelist": 18127, "pool": 17058, "bump": 10902, "arena": 10325}},
}

// TestScenarioFacts checks, on exact metrics only, the fact each scenario exists
// to show, on its short trace. Where the expectation was false for a
// guest, the fact states what is true instead, as the scenario's paragraph does.
func TestScenarioFacts(t *testing.T) {
	labtest.Long(t)
	lab := labtest.Lab(t)
	gs := labtest.Guests(t)
	type key struct {
		scenario string
		oomLimit uint32
	}
	measured := map[key]map[string]*harness.Exact{}
	for _, tc := range facts {
		t.Run(tc.scenario+": "+tc.fact, func(t *testing.T) {
			k := key{tc.scenario, tc.oomLimit}
			if measured[k] == nil {
				tr := labtest.Short(t, tc.scenario)
				m := map[string]*harness.Exact{}
				for _, g := range gs {
					e, err := lab.MeasureExact(context.Background(), g, tc.scenario, tr, harness.Config{}, tc.oomLimit)
					if err != nil {
						t.Fatal(err)
					}
					m[g.Name] = e
				}
				measured[k] = m
			}
			for g, want := range tc.want {
				e := measured[k][g]
				if e == nil {
					t.Fatalf("no lab guest %s", g)
				}
				got, err := tc.metric(e)
				if err != nil {
					t.Fatalf("%s: %v", g, err)
				}
				if got != want {
					t.Errorf("%s: %d, want %d", g, got, want)
				}
			}
		})
	}
}
