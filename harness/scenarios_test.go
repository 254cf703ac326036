package harness_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/scenarios"
)

// TestGuestsPassScenarios runs every guest of the lab through the checker on the
// short version of every scenario in both modes, which must agree on every exact
// metric, heap maps and utilisation samples included. Replay runs the metered
// module and host the guest's own, so the two also show metering changes nothing.
func TestGuestsPassScenarios(t *testing.T) {
	labtest.Long(t)
	lab := labtest.Lab(t)
	gs := labtest.Guests(t)
	for _, sc := range scenarios.All {
		tr := sc.Trace(true)
		want := tr.Stats().PeakLiveBytes
		for _, g := range gs {
			t.Run(sc.Name+"/"+g.Name, func(t *testing.T) {
				var first *harness.Exact
				for _, mode := range labtest.Modes {
					cfg := harness.Config{Mode: mode, NoCounts: mode == harness.Host}
					e, err := lab.MeasureExact(context.Background(), g, sc.Name, tr, cfg, harness.DefaultOOMLimitPages)
					if err != nil {
						t.Fatalf("%s: %v", mode, err)
					}
					if e.PeakLiveBytes != want {
						t.Errorf("%s: peak live bytes %d, want the trace's %d", mode, e.PeakLiveBytes, want)
					}
					if first == nil {
						if e.Counts == nil {
							t.Errorf("%s: no counts", mode)
						}
						e.Counts = nil
						first = e
					} else if !reflect.DeepEqual(first, e) {
						t.Errorf("replay and host disagree:\nreplay %+v\nhost   %+v", *first, *e)
					}
				}
			})
		}
	}
}

// TestEngines checks wazero's interpreter gives the same exact metrics as its
// compiler, the default.
func TestEngines(t *testing.T) {
	labtest.Long(t)
	lab := labtest.Lab(t)
	g := labtest.Guest(t, "freelist")
	tr := labtest.Short(t, "random-actions")
	var got []*harness.Exact
	for _, engine := range []harness.Engine{harness.Compiler, harness.Interpreter} {
		e, err := lab.MeasureExact(context.Background(), g, "random-actions", tr, harness.Config{Engine: engine}, harness.DefaultOOMLimitPages)
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		got = append(got, e)
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("compiler and interpreter disagree:\n%+v\n%+v", *got[0], *got[1])
	}
}

// BenchmarkFloor times the floor guest, op by op of the short churn trace, in each
// mode: what the driver loop (replay) or a wazero call (host) costs per op.
func BenchmarkFloor(b *testing.B) {
	harness.FloorBench(b, labtest.Short(b, "churn"))
}

// BenchmarkCheckedPass times a whole checked pass of the short churn trace against
// pool, per op: the price of the checker, instantiation included, on the metered
// module (counts=on, as alloclab runs it) and on the guest's own (counts=off).
func BenchmarkCheckedPass(b *testing.B) {
	ctx := context.Background()
	lab := labtest.Lab(b)
	g := labtest.Guest(b, "pool")
	t := labtest.Short(b, "churn")
	for _, mode := range labtest.Modes {
		for _, counts := range []string{"on", "off"} {
			b.Run("mode="+string(mode)+"/counts="+counts, func(b *testing.B) {
				cpu0 := cpu()
				for i := 0; i < b.N; i++ {
					if _, err := lab.Run(ctx, g, "churn", t, harness.Config{Mode: mode, Check: true, NoCounts: counts == "off"}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(t.Ops)), "ns/checked-op")
				// The process's CPU time, which a busy machine inflates less than
				// the wall time.
				b.ReportMetric(float64(cpu()-cpu0)/float64(b.N*len(t.Ops)), "cpu-ns/checked-op")
			})
		}
	}
}
