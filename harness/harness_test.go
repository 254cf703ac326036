package harness

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/trace"
)

var modes = []Mode{Replay, Host}

// loadFixture loads testdata/NAME.wasm, built from NAME.wat by make guests.
func loadFixture(t *testing.T, name string) *Guest {
	t.Helper()
	wasm, err := os.ReadFile("testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGuest(name, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// blocksTrace allocates n blocks of size bytes, then frees them in order.
func blocksTrace(n int, size uint32) *trace.Trace {
	var b trace.Builder
	slots := make([]uint32, n)
	for i := range slots {
		slots[i] = b.Alloc(size, 8)
	}
	for _, s := range slots {
		b.Free(s)
	}
	return b.Trace()
}

func newLab(t *testing.T) *Lab {
	lab := NewLab()
	t.Cleanup(func() { lab.Close(context.Background()) })
	return lab
}

// TestCheckerCatchesFaults runs faulty guests of our own and checks the checker
// names the op and the fault, in both modes.
func TestCheckerCatchesFaults(t *testing.T) {
	tests := []struct {
		guest string
		op    int
		want  string
	}{
		{"overlap", 1, "block [0x238, 0x620) overlaps live block [0x40, 0x428) from op 0"},
		{"misaligned", 0, "block 0x44 is not aligned to 8"},
		{"outofbounds", 65, "block [0xfe28, 0x10210) is out of bounds: memory is 65536 bytes"},
		{"corrupt", 201, "block [0x428, 0x810) from op 1 was corrupted at byte 0 (0x428): its contents changed while it was live"},
		{"trap", 99, "trapped: wasm error: unreachable"},
		{"hang", 99, "did not finish within the time limit of 1s"},
	}
	lab := newLab(t)
	trace := blocksTrace(200, 1000)
	for _, tc := range tests {
		for _, mode := range modes {
			t.Run(tc.guest+"/"+string(mode), func(t *testing.T) {
				g := loadFixture(t, tc.guest)
				_, err := lab.Run(context.Background(), g, "blocks", trace, Config{Mode: mode, Check: true, Timeout: time.Second})
				f, ok := err.(*Fault)
				if !ok {
					t.Fatalf("got error %v, want a *Fault", err)
				}
				if f.Guest != tc.guest || f.Scenario != "blocks" || f.Op != tc.op || !strings.Contains(f.Err.Error(), tc.want) {
					t.Fatalf("got fault %q (op %d), want op %d: %q", f, f.Op, tc.op, tc.want)
				}
			})
		}
	}
}

// TestExactMetrics checks the deterministic metrics of a bump allocator with a
// known layout (heap from byte 64) on a known trace, exactly.
func TestExactMetrics(t *testing.T) {
	lab := newLab(t)
	g := loadFixture(t, "minimal")
	// 100 blocks of 1000 B end at 64 + 100000 = 100064: two pages, one grow.
	// Under a one-page limit, block 65 would end at 66064 > 65536: the OOM point.
	want := Exact{
		Ops: 200, GrowCalls: 1, PagesGrown: 1, InitialPages: 1, PeakPages: 2,
		PeakLiveBytes: 100000, PeakHeapBytes: 100064,
		OOM: &OOMPoint{Op: 65, LiveBytes: 65000}, OOMLimitPages: 1, WasmBytes: g.Size(),
		// The leak check allocates the 100 blocks again: bump places 31 of them in
		// the free top of its two pages, and 69 beyond.
		LostBytes: 69000, LeakChecked: true,
		// Counted by hand from testdata/minimal.wat (a run of straight-line code
		// counts at its start; see package meter): alloc runs [global.get ...
		// i64.gt_u if] 23 and, without growing, [local.get i32.wrap_i64 global.set
		// local.get end] 5: 28. The one alloc that grows (block 65) adds the
		// then-branch [i32.const ... memory.grow i32.eq if] 13 and the outer if's
		// [end] 1: 42. free is its [end]: 1. So 99*28 + 42 + 100*1 = 2914
		// instructions over 200 ops; the 198th smallest (p99, nearest rank) is
		// 28, the allocs' 99th is 28, and no op touches memory.
		Counts: &Counts{
			All: OpCounts{Ops: 200, Instrs: 2914, P99Instrs: 28, MaxInstrs: 42},
			Kinds: map[string]OpCounts{
				"alloc": {Ops: 100, Instrs: 2814, P99Instrs: 28, MaxInstrs: 42},
				"free":  {Ops: 100, Instrs: 100, P99Instrs: 1, MaxInstrs: 1},
			},
		},
		// At the peak the blocks cover [64, 100064), OS pages 0 to 24 of the 32 in two
		// wasm pages: 7 pages hold no live byte. At the end nothing is live.
		PeakDiscardableBytes: 7 * 4096, DiscardableBytes: 32 * 4096,
	}
	for _, c := range []struct {
		mode   Mode
		engine Engine
	}{{Replay, Compiler}, {Host, Compiler}, {Replay, Interpreter}, {Host, Interpreter}} {
		t.Run(string(c.mode)+"/"+string(c.engine), func(t *testing.T) {
			got, err := lab.MeasureExact(context.Background(), g, "blocks", blocksTrace(100, 1000), Config{Mode: c.mode, Engine: c.engine}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if *got.OOM != *want.OOM {
				t.Errorf("OOM point %+v, want %+v", *got.OOM, *want.OOM)
			}
			checkHeapMap(t, "peak", got.PeakMap, HeapMap{Op: 99, MemoryBytes: 131072, HeapBytes: 100064, LiveBytes: 100000, CellBytes: 128}, [2]uint32{64, 128})
			checkHeapMap(t, "oom", got.OOMMap, HeapMap{Op: 65, MemoryBytes: 65536, HeapBytes: 65064, LiveBytes: 65000, CellBytes: 64}, [2]uint32{0, 64})
			got.OOM, got.Samples, got.PeakMap, got.OOMMap = want.OOM, nil, nil, nil
			if !sameExact(got, &want) {
				t.Errorf("got %+v\nwant %+v", *got, want)
			}
			if f := got.Fragmentation(); f != 1.00064 {
				t.Errorf("fragmentation %v, want 1.00064", f)
			}
		})
	}
}

// checkHeapMap checks a heap map of the minimal guest, whose blocks lie back to
// back from byte 64: the cells must add up to the live bytes, and the first two
// cells hold first.
func checkHeapMap(t *testing.T, name string, got *HeapMap, want HeapMap, first [2]uint32) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no heap map", name)
	}
	var sum uint64
	for _, n := range got.Live {
		sum += uint64(n)
	}
	if sum != want.LiveBytes || [2]uint32(got.Live[:2]) != first {
		t.Errorf("%s: cells hold %d live bytes, first cells %v", name, sum, got.Live[:2])
	}
	if n := len(got.Live); uint64(n)*uint64(got.CellBytes) != got.MemoryBytes {
		t.Errorf("%s: %d cells of %d bytes for %d bytes of memory", name, n, got.CellBytes, got.MemoryBytes)
	}
	g := *got
	g.Live = nil
	if !reflect.DeepEqual(g, want) {
		t.Errorf("%s: heap map %+v, want %+v", name, g, want)
	}
}

// TestLeakCheck runs a guest whose free loses every 10th block (the boundary
// package's fixture) on blocks of nearly a page: the leak check finds the two it
// lost, and the lab's reusing guests lose nothing.
func TestLeakCheck(t *testing.T) {
	lab := newLab(t)
	wasm, err := os.ReadFile("boundary/testdata/leaky.wasm")
	if err != nil {
		t.Fatal(err)
	}
	leaky, err := NewGuest("leaky", wasm)
	if err != nil {
		t.Fatal(err)
	}
	trace := blocksTrace(20, 65520)
	tests := []struct {
		g    *Guest
		lost uint64
	}{
		{leaky, 2 * 65520},
		{labGuest(t, "freelist"), 0},
		{labGuest(t, "pool"), 0},
		{labGuest(t, "bump"), 20 * 65520}, // reuses nothing
	}
	for _, tc := range tests {
		for _, mode := range modes {
			e, err := lab.MeasureExact(context.Background(), tc.g, "blocks", trace, Config{Mode: mode}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !e.LeakChecked || e.LostBytes != tc.lost {
				t.Errorf("%s/%s: lost %d bytes (checked %v), want %d", tc.g.Name, mode, e.LostBytes, e.LeakChecked, tc.lost)
			}
		}
	}
}

// labGuest returns the lab's guest named name. (Tests outside package harness use
// package labtest, which imports harness.)
func labGuest(t testing.TB, name string) *Guest {
	t.Helper()
	b, ok := guests.Lookup(name)
	if !ok {
		t.Fatalf("no lab guest named %q", name)
	}
	g, err := NewGuest(b.Name, b.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestTrapIsOOM checks a guest that traps right after its memory.grow is refused
// gets an OOM point with the trap as the reason, in both modes.
func TestTrapIsOOM(t *testing.T) {
	lab := newLab(t)
	g := loadFixture(t, "trapoom")
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			e, err := lab.MeasureExact(context.Background(), g, "blocks", blocksTrace(100, 1000), Config{Mode: mode}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if e.OOM == nil || e.OOM.Op != 65 || e.OOM.LiveBytes != 65000 || !strings.Contains(e.OOM.Trap, "unreachable") {
				t.Fatalf("OOM point %+v, want op 65 with 65000 bytes live and an unreachable trap", e.OOM)
			}
		})
	}
}

// TestShims checks a guest without realloc and reset: realloc is emulated (alloc,
// copy, free, checked to keep the contents) and reset is lowered to frees.
func TestShims(t *testing.T) {
	var b trace.Builder
	a := b.Alloc(100, 8)
	b.Realloc(a, 5000)
	c := b.Alloc(300, 16)
	b.Realloc(a, 50)
	b.Realloc(c, 7000)
	b.Reset()
	b.Alloc(10, 8)
	trace := b.Trace()
	lab := newLab(t)
	g := loadFixture(t, "minimal")
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			p, err := lab.Run(context.Background(), g, "shims", trace, Config{Mode: mode, Check: true})
			if err != nil {
				t.Fatal(err)
			}
			// The reset became two frees.
			if p.Ops != len(trace.Ops)+1 {
				t.Errorf("ran %d ops, want %d", p.Ops, len(trace.Ops)+1)
			}
		})
	}
}

// sameExact compares every exact metric of a and b.
func sameExact(a, b *Exact) bool {
	return reflect.DeepEqual(a, b)
}

func TestNewGuestRefusesBadModules(t *testing.T) {
	bad, err := os.ReadFile("testdata/badabi.wasm")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("testdata/minimal.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"badabi", bad, "guest badabi does not keep the allocator ABI (nor the C or wasm-bindgen convention): alloc has type (i32) -> (i32), want (i32, i32) -> (i32); exports no free"},
		{"truncated", good[:len(good)/2], "guest truncated: not a valid WebAssembly module"},
		{"magic", []byte("\x7fELF\x02\x01\x01\x00"), "guest magic: not a valid WebAssembly module"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewGuest(tc.name, tc.wasm)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOneLiveInstance checks a Lab refuses a second live instance with
// ErrInstanceLive, a lab error and not a guest's Fault, and runs again once the
// first is closed.
func TestOneLiveInstance(t *testing.T) {
	lab := newLab(t)
	g := labGuest(t, "pool")
	inst, err := lab.Instantiate(context.Background(), g, Config{})
	if err != nil {
		t.Fatal(err)
	}
	tr := blocksTrace(10, 100)
	_, err = lab.Run(context.Background(), g, "blocks", tr, Config{})
	if !errors.Is(err, ErrInstanceLive) {
		t.Fatalf("Run beside a live instance: got %v, want ErrInstanceLive", err)
	}
	if _, ok := err.(*Fault); ok {
		t.Errorf("the error is a guest Fault: %v", err)
	}
	if _, err := lab.Instantiate(context.Background(), g, Config{Engine: Interpreter}); !errors.Is(err, ErrInstanceLive) {
		t.Fatalf("Instantiate beside a live instance: got %v, want ErrInstanceLive", err)
	}
	inst.Close(context.Background())
	if _, err := lab.Run(context.Background(), g, "blocks", tr, Config{}); err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
}

// TestInstanceFaults checks an Instance's calls say what went wrong as a pass
// does, in one line: the trap, or the time limit.
func TestInstanceFaults(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		want    string
	}{
		{"trap", "guest trap: alloc(16, 8): trapped: wasm error: unreachable"},
		{"hang", "guest hang: alloc(16, 8): did not finish within the time limit of 1s"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			lab := newLab(t)
			cfg := Config{Timeout: time.Second}
			ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
			defer cancel()
			inst, err := lab.Instantiate(ctx, loadFixture(t, tc.fixture), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close(context.Background())
			for range 99 {
				if _, err := inst.Alloc(ctx, 16, 8); err != nil {
					t.Fatalf("alloc before the fault: %v", err)
				}
			}
			_, err = inst.Alloc(ctx, 16, 8)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if tc.fixture == "hang" && !errors.As(err, new(*TimeLimitError)) {
				t.Errorf("%v is not a TimeLimitError", err)
			}
		})
	}
}
