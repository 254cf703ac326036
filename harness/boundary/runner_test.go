package boundary

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/results"
)

// TestEveryGuestRunsTheScenarios runs the three scenarios, short, twice against
// every lab guest, and the floor (boundary-copy's timed lines only), and checks
// the lines, the exact metrics every guest must agree on, and that exact
// metrics are the same in both counts.
func TestEveryGuestRunsTheScenarios(t *testing.T) {
	ctx := context.Background()
	r := NewRunner(labtest.Lab(t), harness.Compiler, true, 0)
	var sizes uint64
	for _, s := range Sizes {
		sizes += uint64(s)
	}
	for _, bg := range append(slices.Clip(guests.All), guests.Floor) {
		t.Run(bg.Name, func(t *testing.T) {
			g := labtest.Guest(t, bg.Name)
			floor := bg.Name == guests.Floor.Name
			var counts [2]map[string]*Result
			for c := range counts {
				counts[c] = map[string]*Result{}
				for _, sc := range Scenarios {
					if sc == ScenarioDensity {
						continue // TestDensity
					}
					err := r.Run(ctx, sc, g, floor, func(res *Result) error {
						if _, dup := counts[c][res.Name()]; dup {
							t.Errorf("%s twice in one count", res.Name())
						}
						counts[c][res.Name()] = res
						return nil
					})
					if err != nil {
						t.Fatalf("%s: %v", sc, err)
					}
				}
			}
			lines := counts[0]
			want := len(CopyWays)*len(Sizes) + len(StaleViewPolicies) + len(HandleWays)*(1+HandleSamples) + 2
			if floor {
				want = len(CopyWays) * len(Sizes)
			}
			if len(lines) != want {
				t.Fatalf("%d lines, want %d", len(lines), want)
			}
			value := func(name, unit string) float64 {
				t.Helper()
				res := lines["Boundary/scenario="+name+"/guest="+bg.Name]
				if res == nil {
					t.Fatalf("no line %s", name)
				}
				v, ok := res.Value(unit)
				if !ok {
					t.Fatalf("%s has no %s", name, unit)
				}
				return v
			}
			for _, way := range CopyWays {
				for _, size := range Sizes {
					name := "boundary-copy/way=" + string(way) + "/size=" + SizeName(size)
					copied, calls := float64(2*size), 2.0
					switch way {
					case WayView:
						copied = 0
					case WayPooled:
						calls = 0
					}
					if v := value(name, results.UnitCopiedBytes); v != copied {
						t.Errorf("%s: %v copied bytes, want %v", name, v, copied)
					}
					if v := value(name, results.UnitGuestCalls); v != calls {
						t.Errorf("%s: %v guest calls, want %v", name, v, calls)
					}
					if v := value(name, results.UnitNsOp); v <= 0 {
						t.Errorf("%s: %v ns/op", name, v)
					}
				}
			}
			if floor {
				return
			}
			for _, p := range StaleViewPolicies {
				name := "boundary-copy/way=view-across-grow/policy=" + string(p)
				stale, lost := 0.0, 0.0
				if p == harness.PolicyDefault {
					stale, lost = float64(len(Sizes)), float64(sizes)
				}
				if value(name, results.UnitStaleViews) != stale || value(name, results.UnitRefusedViews) != stale || value(name, results.UnitLostWriteBytes) != lost {
					t.Errorf("%s: %v", name, lines["Boundary/scenario="+name+"/guest="+bg.Name].Values)
				}
			}
			for _, way := range HandleWays {
				name := "host-handles/way=" + string(way)
				leaked := value(name, results.UnitLeakedBytes)
				if (way == WayNever) != (leaked > 0) {
					t.Errorf("%s: leaked %v bytes", name, leaked)
				}
				if way == WayNever && leaked != value(name+"/at=100%", results.UnitLiveBytes) {
					t.Errorf("%s: leaked %v bytes but %v were live at the end", name, leaked, value(name+"/at=100%", results.UnitLiveBytes))
				}
			}
			probe := value("leak-check/after=boundary-copy", results.UnitProbeBytes)
			if probe != float64(Sizes[len(Sizes)-1]) {
				t.Errorf("leak-check after boundary-copy probed %v bytes, want the largest payload", probe)
			}
			for _, after := range []string{"boundary-copy", "host-handles"} {
				lost := value("leak-check/after="+after, results.UnitLostBytes)
				switch bg.Name {
				case "pool", "freelist":
					if lost != 0 {
						t.Errorf("%s lost %v bytes after %s", bg.Name, lost, after)
					}
				case "bump", "arena":
					if lost == 0 {
						t.Errorf("%s lost nothing after %s", bg.Name, after)
					}
				}
			}
			// Every unit is in results' boundary table, and the exact ones are
			// the same in every count.
			for name, res := range lines {
				other := counts[1][name]
				if other == nil {
					t.Errorf("%s missing from the second count", name)
					continue
				}
				for _, v := range res.Values {
					if !slices.ContainsFunc(results.BoundaryUnits, func(u results.Unit) bool { return u.Name == v.Unit }) {
						t.Errorf("%s: unit %s is not in results.BoundaryUnits", name, v.Unit)
					}
					if u, _ := results.Lookup(v.Unit); !u.Exact {
						continue
					}
					if b, _ := other.Value(v.Unit); v.Value != b {
						t.Errorf("%s: %s is %v then %v", name, v.Unit, v.Value, b)
					}
				}
			}
		})
	}
}

// TestCacheDirRunsEachGuestOnItsOwnLab runs host-handles and leak-check, short,
// twice on a runner with a CacheDir and once on a shared lab: the exact metrics
// agree, the first Run put the guest's compiled code in the cache, the second
// compiled nothing new, and no lab outlives a Run.
func TestCacheDirRunsEachGuestOnItsOwnLab(t *testing.T) {
	ctx := context.Background()
	g := labtest.Guest(t, "freelist")
	dir := t.TempDir()
	own := NewRunner(nil, harness.Compiler, true, 0)
	own.CacheDir = dir
	shared := NewRunner(labtest.Lab(t), harness.Compiler, true, 0)
	run := func(r *Runner) map[string]*Result {
		t.Helper()
		lines := map[string]*Result{}
		for _, sc := range []string{ScenarioHandles, ScenarioLeak} {
			err := r.Run(ctx, sc, g, false, func(res *Result) error {
				lines[res.Name()] = res
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", sc, err)
			}
			if r.lab != nil {
				t.Fatalf("%s: the runner still holds a lab after Run", sc)
			}
		}
		return lines
	}
	files := func() int {
		t.Helper()
		n := 0
		err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := run(shared)
	first := run(own)
	cached := files()
	if cached == 0 {
		t.Fatalf("nothing compiled into %s", dir)
	}
	second := run(own)
	if n := files(); n != cached {
		t.Errorf("the second Run added %d files to the cache, want none: it compiled again", n-cached)
	}
	for _, got := range []map[string]*Result{first, second} {
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d", len(got), len(want))
		}
		for name, w := range want {
			res := got[name]
			if res == nil {
				t.Fatalf("no line %s", name)
			}
			for _, v := range w.Values {
				if u, _ := results.Lookup(v.Unit); !u.Exact {
					continue
				}
				if b, ok := res.Value(v.Unit); !ok || b != v.Value {
					t.Errorf("%s: %s is %v on its own lab, %v on a shared one", name, v.Unit, b, v.Value)
				}
			}
		}
	}
}
