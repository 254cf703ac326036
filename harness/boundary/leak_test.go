package boundary

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// leaky loads testdata/leaky.wasm: an allocator whose free loses every 10th block.
func leaky(t *testing.T) *harness.Guest {
	t.Helper()
	wasm, err := os.ReadFile("testdata/leaky.wasm")
	if err != nil {
		t.Fatal(err)
	}
	g, err := harness.NewGuest("leaky", wasm)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// leakWorkloads fill the leaky guest's one page exactly: its heap runs from 4 KiB
// to 64 KiB (61440 bytes), so a block it loses can only come back from memory it
// must grow. Every block is freed, in allocation order, so the fixture loses the
// 10th, 20th, ... block freed.
var leakWorkloads = []struct {
	name  string
	sizes []uint32 // allocated in this order, then freed in it
	lost  uint64   // what the leaky guest loses
}{
	// 60 blocks of 1 KiB: it loses blocks 10, 20, ... 60.
	{"60x1KiB", repeat([]uint32{1024}, 60), 6 * 1024},
	// 15 x (512, 1024, 2560): it loses blocks 10, 20, 30 and 40, which are the
	// 9th, 19th, 29th and 39th allocated: 512, 1024, 2560 and 512 bytes.
	{"15x(512,1KiB,2.5KiB)", repeat([]uint32{512, 1024, 2560}, 15), 512 + 1024 + 2560 + 512},
}

func repeat(s []uint32, n int) []uint32 {
	var out []uint32
	for range n {
		out = append(out, s...)
	}
	return out
}

func runLeakWorkload(t *testing.T, c *Checker, sizes []uint32) {
	t.Helper()
	ctx := context.Background()
	ptrs := make([]uint32, len(sizes))
	for i, s := range sizes {
		p, err := c.Alloc(ctx, s, 8)
		if err != nil || p == 0 {
			t.Fatalf("alloc %d: %#x %v", i, p, err)
		}
		ptrs[i] = p
	}
	for i, p := range ptrs {
		if err := c.Free(ctx, p, sizes[i], 8); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLeakCheckFindsWhatLeakyLost runs each workload on the leaky fixture and
// checks LeakCheck finds exactly the bytes it lost, with the page it holds.
func TestLeakCheckFindsWhatLeakyLost(t *testing.T) {
	lab := labtest.Lab(t)
	g := leaky(t)
	for _, w := range leakWorkloads {
		t.Run(w.name, func(t *testing.T) {
			inst := instantiate(t, lab, g)
			c := NewChecker(inst)
			runLeakWorkload(t, c, w.sizes)
			if pages := inst.Memory().Size() / harness.PageSize; pages != 1 {
				t.Fatalf("the workload grew the fixture to %d pages; it should fill exactly 1", pages)
			}
			l, err := c.LeakCheck(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var all uint64
			for _, s := range w.sizes {
				all += uint64(s)
			}
			if l.LostBytes != w.lost || l.ProbeBytes != all || l.ProbeBlocks != len(w.sizes) || l.HeldPages != 1 || l.ProbeGrownPages != 1 {
				t.Errorf("got %+v; want %d bytes lost of %d probed in %d blocks, 1 page held and 1 grown", *l, w.lost, all, len(w.sizes))
			}
			if c.LiveBlocks != 0 {
				t.Errorf("the probe left %d blocks live", c.LiveBlocks)
			}
		})
	}
}

// TestLeakCheckLabGuests runs the same workloads on the lab's guests: those that
// reuse freed memory lose nothing; bump, whose free does nothing, loses what
// does not fit in the slack of its memory.
func TestLeakCheckLabGuests(t *testing.T) {
	lab := labtest.Lab(t)
	for _, bg := range guests.All {
		for _, w := range leakWorkloads {
			t.Run(bg.Name+"/"+w.name, func(t *testing.T) {
				inst := instantiate(t, lab, labtest.Guest(t, bg.Name))
				c := NewChecker(inst)
				runLeakWorkload(t, c, w.sizes)
				l, err := c.LeakCheck(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%+v", *l)
				switch bg.Name {
				case "freelist", "pool":
					if l.LostBytes != 0 || l.ProbeGrownPages != 0 {
						t.Errorf("a reusing allocator lost %d bytes (grew %d pages)", l.LostBytes, l.ProbeGrownPages)
					}
				case "bump", "arena":
					if l.LostBytes == 0 {
						t.Errorf("an allocator whose free does nothing lost nothing")
					}
				}
			})
		}
	}
}

// TestLeakCheckNeedsEverythingFreed refuses to probe while blocks are live.
func TestLeakCheckNeedsEverythingFreed(t *testing.T) {
	lab := labtest.Lab(t)
	c := NewChecker(instantiate(t, lab, labtest.Guest(t, "pool")))
	if _, err := c.Alloc(context.Background(), 64, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LeakCheck(context.Background()); err == nil || !strings.Contains(err.Error(), "still live") {
		t.Errorf("LeakCheck with a live block: %v", err)
	}
}
