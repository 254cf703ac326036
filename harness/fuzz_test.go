package harness

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/trace"
)

// FuzzNewGuest feeds the module loader and export checker arbitrary bytes: it must
// refuse with an error or accept, never panic; an accepted module must survive a
// checked pass or fail it with a Fault.
func FuzzNewGuest(f *testing.F) {
	for _, name := range []string{"minimal", "badabi", "trapoom"} {
		wasm, err := os.ReadFile("testdata/" + name + ".wasm")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wasm)
	}
	lab := NewLab()
	defer lab.Close(context.Background())
	trace := blocksTrace(20, 100)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		g, err := NewGuest("fuzz", wasm)
		if err != nil {
			return
		}
		_, err = lab.Run(context.Background(), g, "blocks", trace, Config{Engine: Interpreter, Check: true, Timeout: time.Second, MemoryLimitPages: 16})
		if _, ok := err.(*Fault); err != nil && !ok {
			t.Fatalf("a failure that is not a Fault: %v", err)
		}
	})
}

// randomTrace builds a trace of n random ops from seed: allocs of 1 B to 70 KB
// aligned 1 to 4096, frees, reallocs and the odd reset.
func randomTrace(seed uint64, n int) *trace.Trace {
	r := rand.New(rand.NewPCG(seed, 1))
	var b trace.Builder
	for b.Len() < n {
		switch p := r.IntN(100); {
		case p < 1:
			b.Reset()
		case b.Live() > 0 && p < 40:
			b.Free(b.LiveSlot(r.IntN(b.Live())))
		case b.Live() > 0 && p < 55:
			b.Realloc(b.LiveSlot(r.IntN(b.Live())), 1+uint32(r.IntN(20000)))
		default:
			size := 1 + uint32(r.IntN(256))
			if r.IntN(10) == 0 {
				size = 1 + uint32(r.IntN(70000))
			}
			b.Alloc(size, 1<<r.IntN(13))
		}
	}
	b.FreeAll()
	return b.Trace()
}

// FuzzChecker replays random traces against every guest of the lab under the
// checker: a correct guest must never be faulted, and the checker must agree with
// the trace on the peak live bytes.
func FuzzChecker(f *testing.F) {
	f.Add(uint64(1), uint16(500))
	f.Add(uint64(42), uint16(3000))
	lab := NewLab()
	defer lab.Close(context.Background())
	var gs []*Guest
	for _, b := range guests.All {
		g, err := NewGuest(b.Name, b.Wasm)
		if err != nil {
			f.Fatal(err)
		}
		gs = append(gs, g)
	}
	f.Fuzz(func(t *testing.T, seed uint64, n uint16) {
		trace := randomTrace(seed, int(n%1500))
		want := trace.Stats().PeakLiveBytes
		for _, g := range gs {
			p, err := lab.Run(context.Background(), g, "random", trace, Config{Check: true, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("seed %d, %d ops: %v", seed, len(trace.Ops), err)
			}
			if p.PeakLiveBytes != want {
				t.Fatalf("%s: peak live %d, want %d", g.Name, p.PeakLiveBytes, want)
			}
		}
	})
}
