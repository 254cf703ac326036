package harness_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/scenarios"
	"github.com/alloclab/alloclab/trace"
)

// PageSize is wasm's page.
const PageSize = harness.PageSize

const osPage = 4096

// bumpDiscardable works out bump's discardable bytes at the peak of t and at its
// end from bump's rule alone (guests/bump/bump.wat): blocks are laid out back to
// back from byte 64, each aligned up; free does nothing; memory is one page to
// start with and grows to the pages the highest block needs.
func bumpDiscardable(t *trace.Trace) (peak, end uint64) {
	type block struct{ ptr, size uint64 }
	live := map[uint32]block{}
	top, memPages := uint64(64), uint64(1)
	empty := func() uint64 {
		used := map[uint64]bool{}
		for _, b := range live {
			for p := b.ptr / osPage; p <= (b.ptr+b.size-1)/osPage; p++ {
				used[p] = true
			}
		}
		return (memPages*PageSize/osPage - uint64(len(used))) * osPage
	}
	// The peak is the op after which live bytes first reach their most.
	peakAt, most, bytes := -1, uint64(0), uint64(0)
	for i, op := range t.Ops {
		if bytes = trace.LiveAfter(bytes, op); bytes > most {
			peakAt, most = i, bytes
		}
	}
	for i, op := range t.Ops {
		switch op.Kind {
		case trace.Alloc:
			ptr := (top + uint64(op.Align) - 1) &^ (uint64(op.Align) - 1)
			top = ptr + uint64(op.Size)
			memPages = max(memPages, (top+PageSize-1)/PageSize)
			live[op.Slot] = block{ptr, uint64(op.Size)}
		case trace.Free:
			delete(live, op.Slot)
		default:
			panic("bumpDiscardable: only alloc and free")
		}
		if i == peakAt {
			peak = empty()
		}
	}
	return peak, empty()
}

// TestDiscardable checks discardable-bytes and peak-discardable-bytes exactly, on
// traces whose layout can be worked out by hand.
func TestDiscardable(t *testing.T) {
	lab := labtest.Lab(t)
	measure := func(t *testing.T, guest, scenario string) *harness.Exact {
		t.Helper()
		g := labtest.Guest(t, guest)
		sc, err := scenarios.Lookup(scenario)
		if err != nil {
			t.Fatal(err)
		}
		e, err := lab.MeasureExact(context.Background(), g, scenario, sc.Trace(true), harness.Config{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	t.Run("bump on churn", func(t *testing.T) {
		// bump reuses nothing it is given back: at the end of churn, which frees
		// everything, no page holds a live byte, and at the peak the pages free are
		// those between the scattered survivors, worked out by bumpDiscardable.
		sc, _ := scenarios.Lookup("churn")
		peak, end := bumpDiscardable(sc.Trace(true))
		e := measure(t, "bump", "churn")
		if end != uint64(e.PeakPages)*PageSize {
			t.Fatalf("worked out %d discardable bytes at the end, not bump's whole memory of %d pages", end, e.PeakPages)
		}
		if e.DiscardableBytes != end || e.PeakDiscardableBytes != peak {
			t.Errorf("discardable %d, peak %d; want %d, %d", e.DiscardableBytes, e.PeakDiscardableBytes, end, peak)
		}
	})
	t.Run("freelist on fragmentation-swiss", func(t *testing.T) {
		// freelist (guests/freelist/freelist.wat): a block costs its size + 8 bytes of
		// tags, first fit, LIFO free list; the first block's header is at 76, its
		// payload at 80. On the short trace (100 rounds):
		//   round 1: the 100 KiB temporary is [76, 102484); memory grows to 2 pages;
		//     the 1 KiB anchor is the block [102484, 103516), payload at 102488.
		//   rounds 2-100: the temporary reuses the hole at 76 exactly, each anchor
		//     takes the next 1032 bytes of the top free block (extended when
		//     memory grows): anchor j's payload is [102488+1032j, +1024), the last
		//     ending at 205680, its block at 205684.
		//   big block: fits neither the 102408-byte hole nor the top free block, so
		//     memory grows by 16 pages to 20 (320 OS pages) and its payload is
		//     [205688, 1254264).
		// The peak is that alloc. OS pages 25 (from 102400) to 306 (to 1257472) hold
		// live bytes; the gaps between payloads are 8 bytes. Pages 0-24 (the hole
		// and the prologue) and 307-319 (the top of memory) hold none: 38 pages.
		// At the end everything is freed: all 320 pages.
		e := measure(t, "freelist", "fragmentation-swiss")
		if want := uint64(38 * osPage); e.PeakDiscardableBytes != want {
			t.Errorf("peak-discardable-bytes %d, want %d", e.PeakDiscardableBytes, want)
		}
		if want := uint64(320 * osPage); e.DiscardableBytes != want || e.PeakPages != 20 {
			t.Errorf("discardable-bytes %d with %d pages, want %d with 20", e.DiscardableBytes, e.PeakPages, want)
		}
	})
}

// TestTouched: touched-bytes is the same on every run and in both modes (the
// driver's memory is not the guest's), so it is exact; bump writes no memory at
// all (its state is in globals and nobody writes the blocks in an unchecked pass).
func TestTouched(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("touched pages are measured on Linux only")
	}
	lab := labtest.Lab(t)
	for _, scenario := range []string{"churn", "fragmentation-swiss"} {
		sc, err := scenarios.Lookup(scenario)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range labtest.Guests(t) {
			t.Run(scenario+"/"+g.Name, func(t *testing.T) {
				e, err := lab.MeasureExact(context.Background(), g, scenario, sc.Trace(true), harness.Config{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := lab.MeasureTouched(context.Background(), g, scenario, sc.Trace(true), harness.Config{}, e); err != nil {
					t.Fatal(err)
				}
				if !e.Touched {
					t.Fatalf("not measured: %v", e.TouchedErr)
				}
				if e.TouchedBytes > uint64(e.PeakPages)*PageSize || e.TouchedBytes%osPage != 0 {
					t.Errorf("touched %d bytes of %d pages", e.TouchedBytes, e.PeakPages)
				}
				for _, mode := range labtest.Modes {
					p, err := lab.Run(context.Background(), g, scenario, sc.Trace(true), harness.Config{Mode: mode, Touched: true})
					if err != nil {
						t.Fatal(err)
					}
					if p.TouchedBytes != e.TouchedBytes || p.TouchedErr != nil {
						t.Errorf("%s: touched %d bytes (%v), an earlier run %d", mode, p.TouchedBytes, p.TouchedErr, e.TouchedBytes)
					}
				}
				if g.Name == "bump" && e.TouchedBytes != 0 {
					t.Errorf("bump touched %d bytes, want 0", e.TouchedBytes)
				}
			})
		}
	}
}
