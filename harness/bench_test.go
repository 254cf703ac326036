package harness

import (
	"context"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness/internal/replay"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

// The lab's own overhead, per op: go test -bench . ./harness

func floorInstance(b *testing.B, lab *Lab) (*instance, *trace.Trace) {
	b.Helper()
	g, err := NewGuest(guests.Floor.Name, guests.Floor.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{}.withDefaults()
	inst, err := lab.instantiate(context.Background(), lab.runtime(context.Background(), cfg), g, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.close(context.Background()) })
	sc, _ := scenarios.Lookup("churn")
	return inst, sc.Trace(true)
}

// BenchmarkFloor times the floor guest, op by op of the churn trace, in each mode:
// what the driver loop (replay) or a wazero call (host) costs per op.
func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	b.Run("mode=replay", func(b *testing.B) {
		lab := NewLab()
		defer lab.Close(ctx)
		inst, t := floorInstance(b, lab)
		dm := inst.driver.ExportedMemory("memory")
		base := uint32(t.Slots) * 4
		need := uint64(base) + uint64(len(t.Ops))*replay.OpBytes
		dm.Grow(uint32((need-uint64(dm.Size()))/PageSize + 1))
		dm.Write(base, replay.Encode(nil, t.Ops))
		run := inst.driver.ExportedFunction("run")
		stack := make([]uint64, 4)
		b.ResetTimer()
		for done := 0; done < b.N; {
			from := done % len(t.Ops)
			to := min(from+4096, len(t.Ops), from+b.N-done)
			stack[0], stack[1], stack[2], stack[3] = uint64(base), uint64(from), uint64(to), 0
			if err := run.CallWithStack(ctx, stack); err != nil {
				b.Fatal(err)
			}
			done += to - from
		}
	})
	b.Run("mode=host", func(b *testing.B) {
		lab := NewLab()
		defer lab.Close(ctx)
		inst, _ := floorInstance(b, lab)
		stack := make([]uint64, 4)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			stack[0], stack[1] = 64, 8
			if err := inst.alloc.CallWithStack(ctx, stack); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEmptyCall times one host call of an empty wasm function.
func BenchmarkEmptyCall(b *testing.B) {
	ctx := context.Background()
	lab := NewLab()
	defer lab.Close(ctx)
	inst, _ := floorInstance(b, lab)
	nop := inst.driver.ExportedFunction("nop")
	stack := make([]uint64, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = nop.CallWithStack(ctx, stack)
	}
}

// BenchmarkCheckedPass times a whole checked pass of the short churn trace against
// pool, per op: the price of the checker, instantiation included.
func BenchmarkCheckedPass(b *testing.B) {
	ctx := context.Background()
	lab := NewLab()
	defer lab.Close(ctx)
	g, _ := NewGuest("pool", guests.All[3].Wasm)
	sc, _ := scenarios.Lookup("churn")
	t := sc.Trace(true)
	for _, mode := range []Mode{Replay, Host} {
		b.Run("mode="+string(mode), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := lab.Run(ctx, g, "churn", t, Config{Mode: mode, Check: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(t.Ops)), "ns/checked-op")
		})
	}
}
