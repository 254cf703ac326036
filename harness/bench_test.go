package harness

import (
	"context"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness/internal/replay"
	"github.com/alloclab/alloclab/trace"
)

// The lab's own overhead, per op: go test -bench . ./harness
//
// FloorBench is exported for BenchmarkFloor in scenarios_test.go (package
// harness_test), which gets the churn trace from package scenarios:
// package harness cannot import scenarios, which imports it.

func floorInstance(b *testing.B, lab *Lab) *instance {
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
	return inst
}

// FloorBench times the floor guest, op by op of t, in each mode: what the driver
// loop (replay) or a wazero call (host) costs per op. BenchmarkFloor (package
// harness_test, which can import scenarios) runs it on the churn trace.
func FloorBench(b *testing.B, t *trace.Trace) {
	ctx := context.Background()
	b.Run("mode=replay", func(b *testing.B) {
		lab := NewLab()
		defer lab.Close(ctx)
		inst := floorInstance(b, lab)
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
		inst := floorInstance(b, lab)
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
	inst := floorInstance(b, lab)
	nop := inst.driver.ExportedFunction("nop")
	stack := make([]uint64, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = nop.CallWithStack(ctx, stack)
	}
}
