package hostmem

import "testing"

// TestTouched: pages written count, pages only read do not (mincore counts both),
// and neither does memory never touched.
func TestTouched(t *testing.T) {
	a := &Allocator{Policy: Mmap, SmallPages: true}
	defer a.Close()
	mem := a.Allocate(0, 16<<20)
	buf := mem.Reallocate(4 << 16)
	if got, err := a.Touched(); err != nil || got != 0 {
		t.Fatalf("fresh memory: Touched() = %d, %v; want 0", got, err)
	}
	sum := byte(0)
	for p := 10; p < 20; p++ {
		sum += buf[p*pageSize+100]
	}
	buf[0] = 1
	buf[5*pageSize+pageSize-1] = 1
	buf = mem.Reallocate(8 << 16) // growing keeps what was written
	buf[7*pageSize*16] = 1
	got, err := a.Touched()
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(3 * pageSize); got != want {
		t.Errorf("Touched() = %d, want %d (3 pages written)", got, want)
	}
	res, err := resident(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(13 * pageSize); res != want || sum != 0 {
		t.Errorf("mincore: %d bytes resident, want %d (3 written, 10 read)", res, want)
	}
}

func TestTouchedNeedsMmap(t *testing.T) {
	for _, p := range []Policy{Default, CapacityFromMax} {
		a := &Allocator{Policy: p}
		a.Allocate(1<<16, 1<<20).Reallocate(1 << 16)
		if _, err := a.Touched(); err == nil {
			t.Errorf("policy %s: Touched() succeeded, want an error", p)
		}
		a.Close()
	}
}
