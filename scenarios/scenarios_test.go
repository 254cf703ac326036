package scenarios

import (
	"reflect"
	"testing"
)

// TestDeterministic checks every scenario gives the same trace twice and that its
// trace is well formed: every slot filled before use, everything freed at the end.
func TestDeterministic(t *testing.T) {
	for _, s := range All {
		t.Run(s.Name, func(t *testing.T) {
			a, b := s.Generate(true), s.Generate(true)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("two traces differ")
			}
			live := make([]bool, a.Slots)
			n := 0
			for i, op := range a.Ops {
				switch op.Kind {
				case Alloc:
					if live[op.Slot] {
						t.Fatalf("op %d: alloc into live slot %d", i, op.Slot)
					}
					live[op.Slot], n = true, n+1
				case Free, Realloc:
					if !live[op.Slot] {
						t.Fatalf("op %d: %v of empty slot %d", i, op.Kind, op.Slot)
					}
					if op.Kind == Free {
						live[op.Slot], n = false, n-1
					}
				case Reset:
					clear(live)
					n = 0
				}
				if op.Kind != Reset && op.Kind != Mark && (op.Align == 0 || op.Align&(op.Align-1) != 0 || op.Align > 4096) {
					t.Fatalf("op %d: alignment %d", i, op.Align)
				}
			}
			if n != 0 {
				t.Errorf("%d blocks still live at the end", n)
			}
		})
	}
}

func TestLowerResets(t *testing.T) {
	var b Builder
	x := b.Alloc(10, 8)
	y := b.Alloc(20, 16)
	b.Realloc(x, 30)
	b.Free(y)
	b.Alloc(40, 8)
	b.Reset()
	b.Mark()
	got := b.Trace().LowerResets().Ops
	want := []Op{
		{Kind: Alloc, Slot: 0, Size: 10, Align: 8},
		{Kind: Alloc, Slot: 1, Size: 20, Align: 16},
		{Kind: Realloc, Slot: 0, Size: 30, Align: 8, OldSize: 10},
		{Kind: Free, Slot: 1, Size: 20, Align: 16},
		{Kind: Alloc, Slot: 1, Size: 40, Align: 8},
		{Kind: Free, Slot: 1, Size: 40, Align: 8}, // newest first
		{Kind: Free, Slot: 0, Size: 30, Align: 8},
		{Kind: Mark},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if st := b.Trace().Stats(); st.PeakLiveBytes != 70 || st.Allocs != 3 || st.Resets != 1 {
		t.Errorf("stats %+v, want peak 70, 3 allocs, 1 reset", st)
	}
}
