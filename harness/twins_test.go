package harness

import (
	"context"
	"slices"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/scenarios"
)

// TestTinyGoTwinFacts checks every TinyGo twin against its WAT guest on the
// scenarios and page limits of TestScenarioFacts, so every fact that holds for a
// WAT guest holds for its twin. A twin keeps the WAT guest's heap one page up
// (TinyGo's stack and data take the first page; guests/tinygo/README.md), so it
// must grow the same pages at the same calls, end one page higher at every mark,
// reach a heap end 64 KiB higher, and, under a limit one page higher, run out of
// memory at the same op with the same bytes live.
func TestTinyGoTwinFacts(t *testing.T) {
	lab := newLab(t)
	wat := map[string]guests.Guest{}
	for _, g := range guests.All {
		wat[g.Name] = g
	}
	for _, tc := range []struct {
		scenario string
		oomLimit uint32
	}{
		{"arena-phases", 0}, {"pooled-objects", 0}, {"churn", 32},
		{"fragmentation-swiss", 0}, {"fragmentation-alternating", 0}, {"oom-sweep", 256},
	} {
		sc, err := scenarios.Lookup(tc.scenario)
		if err != nil {
			t.Fatal(err)
		}
		trace := sc.Trace(true)
		measure := func(t *testing.T, b guests.Guest, oomLimit uint32) *Exact {
			g, err := NewGuest(b.Name, b.Wasm)
			if err != nil {
				t.Fatal(err)
			}
			e, err := lab.MeasureExact(context.Background(), g, tc.scenario, trace, Config{}, oomLimit)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		for _, twin := range guests.All {
			name := guests.Twin(twin.Name)
			if name == "" {
				continue
			}
			t.Run(tc.scenario+"/"+twin.Name, func(t *testing.T) {
				w := measure(t, wat[name], tc.oomLimit)
				limit := tc.oomLimit
				if limit != 0 {
					limit++
				}
				g := measure(t, twin, limit)
				if g.GrowCalls != w.GrowCalls || g.PagesGrown != w.PagesGrown {
					t.Errorf("%d grow calls adding %d pages, %s: %d adding %d", g.GrowCalls, g.PagesGrown, name, w.GrowCalls, w.PagesGrown)
				}
				if g.PeakPages != w.PeakPages+1 {
					t.Errorf("peak pages %d, want %s's %d + 1", g.PeakPages, name, w.PeakPages)
				}
				shifted := make([]uint32, len(w.MarkPages))
				for i, p := range w.MarkPages {
					shifted[i] = p + 1
				}
				if !slices.Equal(g.MarkPages, shifted) {
					t.Errorf("pages at the marks %v, want %s's + 1: %v", g.MarkPages, name, shifted)
				}
				if g.PeakHeapBytes != w.PeakHeapBytes+65536 || g.PeakLiveBytes != w.PeakLiveBytes {
					t.Errorf("heap end %d, live %d; %s: %d + 65536, %d", g.PeakHeapBytes, g.PeakLiveBytes, name, w.PeakHeapBytes, w.PeakLiveBytes)
				}
				if g.LostBytes != w.LostBytes {
					t.Errorf("lost bytes %d, %s: %d", g.LostBytes, name, w.LostBytes)
				}
				switch {
				case (g.OOM == nil) != (w.OOM == nil):
					t.Errorf("OOM %+v under %d pages, %s: %+v under %d", g.OOM, limit, name, w.OOM, tc.oomLimit)
				case g.OOM != nil && *g.OOM != *w.OOM:
					t.Errorf("OOM %+v under %d pages, %s: %+v under %d", *g.OOM, limit, name, *w.OOM, tc.oomLimit)
				}
			})
		}
	}
}
