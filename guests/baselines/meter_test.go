package baselines

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/scenarios"
)

// TestMeteredSameExact runs every built baseline, on its metered module and on
// its own, through the checker on the short version of every scenario: every
// exact metric must be the same, and the metered one has counts. (The lab's
// guests get the same test in harness's TestGuestsPassScenarios.)
func TestMeteredSameExact(t *testing.T) {
	lab := labtest.Lab(t)
	var gs []*harness.Guest
	paths, _ := filepath.Glob("out/*.wasm")
	for _, path := range paths {
		gs = append(gs, labtest.File(t, path, false, ""))
	}
	if len(paths) == 0 {
		t.Skip("no built baselines in guests/baselines/out: make guests builds them")
	}
	for _, sc := range scenarios.All {
		tr := sc.Trace(true)
		for _, g := range gs {
			t.Run(sc.Name+"/"+g.Name, func(t *testing.T) {
				if _, err := g.Metered(); err != nil {
					t.Fatal(err)
				}
				cfg := harness.Config{Mode: harness.Replay}
				metered, err := lab.MeasureExact(context.Background(), g, sc.Name, tr, cfg, harness.DefaultOOMLimitPages)
				if err != nil {
					t.Fatalf("metered: %v", err)
				}
				cfg.NoCounts = true
				plain, err := lab.MeasureExact(context.Background(), g, sc.Name, tr, cfg, harness.DefaultOOMLimitPages)
				if err != nil {
					t.Fatalf("unmetered: %v", err)
				}
				if metered.Counts == nil || metered.Counts.All.Ops != metered.Ops || metered.Counts.All.Instrs == 0 {
					t.Errorf("metered counts %+v for %d ops", metered.Counts, metered.Ops)
				}
				metered.Counts = nil
				if !reflect.DeepEqual(metered, plain) {
					t.Errorf("metered and unmetered disagree:\nmetered   %+v\nunmetered %+v", *metered, *plain)
				}
			})
		}
	}
}
