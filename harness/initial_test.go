package harness

import (
	"testing"

	"github.com/alloclab/alloclab/guests"
)

// TestInitialPagesCompilesOnce checks a pass's starting size is reached by growing
// the memory before the guest runs, not by a rewritten module: the memory starts
// that large, no grow is counted for it, and every size shares one compiled module.
func TestInitialPagesCompilesOnce(t *testing.T) {
	lab := newLab(t)
	g, err := NewGuest(guests.All[0].Name, guests.All[0].Wasm)
	if err != nil {
		t.Fatal(err)
	}
	tr := blocksTrace(10, 100)
	compiled := func() int {
		n := 0
		for _, r := range lab.runtimes {
			n += len(r.compiled)
		}
		return n
	}
	first := -1
	for _, pages := range []uint32{0, 40, 90} {
		for _, check := range []bool{false, true} {
			p, err := lab.Run(t.Context(), g, "blocks", tr, Config{InitialPages: pages, Check: check})
			if err != nil {
				t.Fatal(err)
			}
			if pages > 0 && (p.InitialPages != pages || p.Grows.Grows != 0) {
				t.Errorf("InitialPages %d, check %v: started at %d pages with %d grows counted", pages, check, p.InitialPages, p.Grows.Grows)
			}
		}
		if first < 0 {
			first = compiled()
		} else if n := compiled(); n != first {
			t.Errorf("InitialPages %d: %d modules compiled, %d at the guest's own size", pages, n, first)
		}
	}
}
