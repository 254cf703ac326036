package harness_test

import (
	"context"
	"slices"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// TestTinyGoTwinFacts checks every TinyGo twin against its WAT guest on the
// scenarios and page limits of TestScenarioFacts, so every fact that holds for a
// WAT guest holds for its twin. A twin keeps the WAT guest's heap one page up
// (TinyGo's stack and data take the first page; guests/tinygo/README.md), so it
// must grow the same pages at the same calls, end one page higher at every mark,
// reach a heap end 64 KiB higher, and, under a limit one page higher, run out of
// memory at the same op with the same bytes live.
func TestTinyGoTwinFacts(t *testing.T) {
	labtest.Long(t)
	lab := labtest.Lab(t)
	type run struct {
		scenario string
		oomLimit uint32
	}
	var runs []run
	for _, f := range facts {
		if r := (run{f.scenario, f.oomLimit}); !slices.Contains(runs, r) {
			runs = append(runs, r)
		}
	}
	for _, tc := range runs {
		tr := labtest.Short(t, tc.scenario)
		measure := func(t *testing.T, name string, oomLimit uint32) *harness.Exact {
			e, err := lab.MeasureExact(context.Background(), labtest.Guest(t, name), tc.scenario, tr, harness.Config{}, oomLimit)
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
				w := measure(t, name, tc.oomLimit)
				limit := tc.oomLimit
				if limit != 0 {
					limit++
				}
				g := measure(t, twin.Name, limit)
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
