package scenarios

import (
	"reflect"
	"testing"

	"github.com/alloclab/alloclab/trace"
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
				case trace.Alloc:
					if live[op.Slot] {
						t.Fatalf("op %d: alloc into live slot %d", i, op.Slot)
					}
					live[op.Slot], n = true, n+1
				case trace.Free, trace.Realloc:
					if !live[op.Slot] {
						t.Fatalf("op %d: %v of empty slot %d", i, op.Kind, op.Slot)
					}
					if op.Kind == trace.Free {
						live[op.Slot], n = false, n-1
					}
				case trace.Reset:
					clear(live)
					n = 0
				}
				if op.Kind != trace.Reset && op.Kind != trace.Mark && (op.Align == 0 || op.Align&(op.Align-1) != 0 || op.Align > 4096) {
					t.Fatalf("op %d: alignment %d", i, op.Align)
				}
			}
			if n != 0 {
				t.Errorf("%d blocks still live at the end", n)
			}
		})
	}
}
