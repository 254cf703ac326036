package boundary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// goid returns the current goroutine's id, from its stack header.
func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// ownerGoroutine is a Guest that fails any call made from a goroutine other
// than the one that made it: a cleanup calling into the guest would be caught.
type ownerGoroutine struct {
	Guest
	id    string
	calls int
}

func (o *ownerGoroutine) check(call string) error {
	o.calls++
	if g := goid(); g != o.id {
		return fmt.Errorf("%s called on goroutine %s, not the owner's %s", call, g, o.id)
	}
	return nil
}

func (o *ownerGoroutine) Alloc(ctx context.Context, size, align uint32) (uint32, error) {
	if err := o.check("alloc"); err != nil {
		return 0, err
	}
	return o.Guest.Alloc(ctx, size, align)
}

func (o *ownerGoroutine) Free(ctx context.Context, ptr, size, align uint32) error {
	if err := o.check("free"); err != nil {
		return err
	}
	return o.Guest.Free(ctx, ptr, size, align)
}

func instantiate(t *testing.T, lab *harness.Lab, g *harness.Guest) *harness.Instance {
	t.Helper()
	inst, err := lab.Instantiate(context.Background(), g, harness.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(context.Background()) })
	return inst
}

// collectUntil runs collections, draining after each, until done or maxGCs.
func collectUntil(t *testing.T, o *Owner, maxGCs int, done func() bool) int {
	t.Helper()
	gcs := 0
	for ; !done() && gcs < maxGCs; gcs++ {
		runtime.GC()
		runtime.Gosched()
		if _, err := o.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !done() {
		t.Fatalf("not done after %d collections: %d collectable blocks still owned", gcs, o.AutoLive())
	}
	return gcs
}

// TestCleanupFreesCollectedHandles checks the cleanup path on every lab guest:
// handles that became unreachable have their blocks freed, each exactly once
// (the checker refuses a double free), on the owner's goroutine, within a
// bounded number of collections; handles still reachable keep their blocks
// live and intact (no use after free); closing a handle cancels its cleanup.
func TestCleanupFreesCollectedHandles(t *testing.T) {
	ctx := context.Background()
	lab := labtest.Lab(t)
	for _, bg := range guests.All {
		t.Run(bg.Name, func(t *testing.T) {
			c := NewChecker(instantiate(t, lab, labtest.Guest(t, bg.Name)))
			guard := &ownerGoroutine{Guest: c, id: goid()}
			o := NewOwner(guard)
			verified := 0
			o.BeforeFree = func(id uint64, b []byte) error {
				verified++
				if !bytes.Equal(b, fill(id, uint32(len(b)))) {
					return errors.New("fill changed")
				}
				return nil
			}
			freedBy := map[uint64]bool{} // id -> by cleanup
			o.OnFree = func(id uint64, byCleanup bool) {
				if _, ok := freedBy[id]; ok {
					t.Errorf("handle %d freed twice", id)
				}
				freedBy[id] = byCleanup
			}

			const n = 600
			var kept []*Handle
			closed := map[uint64]bool{}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := 0; i < n; i++ {
				size := uint32(16 + rng.IntN(2048))
				h, err := o.New(ctx, size, 8, true)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Use(func(b []byte) error { copy(b, fill(h.ID(), size)); return nil }); err != nil {
					t.Fatal(err)
				}
				switch i % 3 {
				case 0:
					kept = append(kept, h) // stays reachable
				case 1:
					if err := h.Close(ctx); err != nil { // closed: its cleanup must not run
						t.Fatal(err)
					}
					closed[h.ID()] = true
				}
				// i%3 == 2: dropped, left to its cleanup
				if i%50 == 0 {
					runtime.GC()
				}
			}
			gcs := collectUntil(t, o, 50, func() bool { return o.AutoLive() == len(kept) })
			t.Logf("%d collections after the last handle was dropped", gcs)

			if o.LiveBlocks != len(kept) || c.LiveBlocks != len(kept) {
				t.Fatalf("owner has %d live blocks, checker %d, want the %d kept", o.LiveBlocks, c.LiveBlocks, len(kept))
			}
			for _, h := range kept {
				if !c.IsLive(h.Ptr(), h.Size()) {
					t.Fatalf("handle %d is reachable but its block was freed", h.ID())
				}
				if err := h.Use(func(b []byte) error {
					if !bytes.Equal(b, fill(h.ID(), h.Size())) {
						return fmt.Errorf("handle %d: block changed", h.ID())
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			byCleanup := 0
			for id, bc := range freedBy {
				if bc {
					byCleanup++
					if closed[id] {
						t.Errorf("handle %d was closed, yet its cleanup freed it", id)
					}
				}
			}
			if want := n / 3; byCleanup != want || o.ByCleanup != want {
				t.Errorf("%d (owner: %d) blocks freed by cleanup, want the %d dropped", byCleanup, o.ByCleanup, want)
			}

			for _, h := range kept {
				if err := h.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if err := h.Close(ctx); !errors.Is(err, ErrClosed) {
					t.Fatalf("second Close: %v, want ErrClosed", err)
				}
				if err := h.Use(func([]byte) error { return nil }); !errors.Is(err, ErrClosed) {
					t.Fatalf("Use after Close: %v, want ErrClosed", err)
				}
			}
			kept = nil
			runtime.GC()
			runtime.Gosched()
			if _, err := o.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if c.LiveBlocks != 0 || c.LiveBytes != 0 || c.Allocs != n || c.Frees != n || verified != n {
				t.Errorf("checker: %d blocks, %d bytes live, %d allocs, %d frees, %d verified; want 0, 0, %d, %d, %d",
					c.LiveBlocks, c.LiveBytes, c.Allocs, c.Frees, verified, n, n, n)
			}
			if guard.calls != 2*n {
				t.Errorf("%d guest calls, want %d", guard.calls, 2*n)
			}
		})
	}
}

// TestOwnerRefusesSecondFree delivers a handle's id twice, as a buggy cleanup
// would: the second is refused with an error and never reaches the guest.
func TestOwnerRefusesSecondFree(t *testing.T) {
	ctx := context.Background()
	lab := labtest.Lab(t)
	c := NewChecker(instantiate(t, lab, labtest.Guest(t, "pool")))
	o := NewOwner(c)
	h, err := o.New(ctx, 100, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	o.q.push(h.ID())
	o.q.push(h.ID())
	n, err := o.Drain(ctx)
	if n != 1 || err == nil || !strings.Contains(err.Error(), "already freed") {
		t.Fatalf("Drain = %d, %v; want 1 freed and an already-freed error", n, err)
	}
	if c.Frees != 1 {
		t.Errorf("guest saw %d frees, want 1", c.Frees)
	}
	// Its block is no longer live in the shadow set, and the owner no longer has
	// it: using the handle is caught.
	if c.IsLive(h.Ptr(), h.Size()) {
		t.Errorf("the checker still has the freed block live")
	}
	if err := h.Use(func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "use after free") {
		t.Errorf("Use of a freed handle: %v, want use after free", err)
	}
	if err := h.Close(ctx); err == nil {
		t.Errorf("Close of a freed handle succeeded")
	}
}

// TestRunHandlesLeaks runs host-handles on every lab guest under the checker: the
// close and cleanup ways leak nothing; never leaks every block, exactly the sum
// of the sizes the scenario drew.
func TestRunHandlesLeaks(t *testing.T) {
	ctx := context.Background()
	lab := labtest.Lab(t)
	const objects = 1000
	rng := rand.New(rand.NewPCG(handleSeed, handleSeedHigh))
	logLo, logHi := math.Log(HandleMinSize), math.Log(HandleMaxSize+1)
	var all uint64
	for i := 0; i < objects; i++ {
		all += uint64(min(uint32(math.Exp(logLo+rng.Float64()*(logHi-logLo))), HandleMaxSize))
		rng.IntN(min(i+1, HandleWindow))
	}
	for _, bg := range guests.All {
		for _, way := range HandleWays {
			t.Run(bg.Name+"/"+string(way), func(t *testing.T) {
				c := NewChecker(instantiate(t, lab, labtest.Guest(t, bg.Name)))
				r, err := RunHandles(ctx, c, way, objects)
				if err != nil {
					t.Fatal(err)
				}
				want := uint64(0)
				if way == WayNever {
					want = all
				}
				if r.LeakedBytes != want || c.LiveBytes != want {
					t.Errorf("leaked %d bytes (checker: %d live), want %d", r.LeakedBytes, c.LiveBytes, want)
				}
				if r.ForcedGCs != objects/GCEvery {
					t.Errorf("%d forced collections, want %d", r.ForcedGCs, objects/GCEvery)
				}
				if len(r.Samples) != HandleSamples {
					t.Errorf("%d samples", len(r.Samples))
				}
				switch way {
				case WayCleanup:
					if r.FreeDelayGC.N == 0 || r.FreeDelayGC.Max > MaxEndGCs {
						t.Errorf("free delays: %+v", r.FreeDelayGC)
					}
				case WayClose:
					if r.FreeDelayGC.Max != 0 || r.FreeDelayObj.Max != 0 {
						t.Errorf("close frees at once, yet delays %+v %+v", r.FreeDelayGC, r.FreeDelayObj)
					}
				}
			})
		}
	}
}

// fakeGuest hands out the blocks in ptrs, in order, from a 64 KiB memory.
type fakeGuest struct {
	ptrs  []uint32
	frees int
	mem   api.Memory
}

func (f *fakeGuest) Alloc(context.Context, uint32, uint32) (uint32, error) {
	p := f.ptrs[0]
	f.ptrs = f.ptrs[1:]
	return p, nil
}

func (f *fakeGuest) Free(context.Context, uint32, uint32, uint32) error { f.frees++; return nil }
func (f *fakeGuest) Memory() api.Memory                                 { return f.mem }

// TestCheckerCatches gives the checker bad blocks and bad frees.
func TestCheckerCatches(t *testing.T) {
	ctx := context.Background()
	mem, _ := growable(t, wazero.NewRuntimeConfig())
	tests := []struct {
		name string
		ptrs []uint32
		run  func(c *Checker) error
		want string
	}{
		{"overlap", []uint32{64, 96}, func(c *Checker) error {
			c.Alloc(ctx, 64, 8)
			_, err := c.Alloc(ctx, 64, 8)
			return err
		}, "overlaps the live block [0x40, 0x80)"},
		{"misaligned", []uint32{68}, func(c *Checker) error { _, err := c.Alloc(ctx, 8, 8); return err }, "not aligned to 8"},
		{"out of bounds", []uint32{harness.PageSize - 8}, func(c *Checker) error { _, err := c.Alloc(ctx, 16, 8); return err }, "out of bounds"},
		{"double free", []uint32{64}, func(c *Checker) error {
			p, _ := c.Alloc(ctx, 16, 8)
			if err := c.Free(ctx, p, 16, 8); err != nil {
				return err
			}
			return c.Free(ctx, p, 16, 8)
		}, "double free of 0x40"},
		{"invalid free", nil, func(c *Checker) error { return c.Free(ctx, 128, 16, 8) }, "invalid free of 0x80"},
		{"size mismatch", []uint32{64}, func(c *Checker) error {
			p, _ := c.Alloc(ctx, 16, 8)
			return c.Free(ctx, p, 32, 8)
		}, "free(0x40, 32, 8) of a block allocated as alloc(16, 8)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGuest{ptrs: tc.ptrs, mem: mem}
			err := tc.run(NewChecker(f))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(tc.name, "free") && f.frees > 1 {
				t.Errorf("a refused free reached the guest")
			}
		})
	}
}
