package scenarios

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// TestShortTraceHashes pins the sha256 of every short trace (its slots, then each
// op's kind, slot, size, alignment and old size, little-endian), so a change in
// generation, on this machine or another (math, rand, a Go release), fails here
// before it moves a metric. A new scenario adds its line; a changed hash needs a
// reason in the commit.
func TestShortTraceHashes(t *testing.T) {
	want := []struct{ scenario, sha256 string }{
		{"churn", "42d419fb8eca5855a59917e7e7317e879b2d85809a8e3d2a72c60f3c849e35e6"},
		{"arena-phases", "f4b0450cdda13d6de72368d3e14d29185b52b4b78c8954094759ecb97ba30c43"},
		{"pooled-objects", "876a7c7f12f164effe796e14d0a7f8d86d0d2751d0eca8b4f29b90d6ab4a3b48"},
		{"random-actions", "3414f244cb11eac9156718b40f81eb43315ebfe1a4497052b08f3445fe690825"},
		{"realloc-growth", "6244c65d7a79b8fa464a281e8f0acd21f79317096417a4359805ebfc3b4a453e"},
		{"fragmentation-swiss", "79785c362a4c12919fffc119e8beabdfc3b76e26360ce580e1d673e92a52edc2"},
		{"fragmentation-alternating", "c1e3440018c4ac06ac0c2c89240f3989809a8f90b9f6668f33b3e7b5186eacf7"},
		{"prealloc-vs-grow", "7a4294b6f33d64653015972bf8019ff6d106fbb35cc7ebf1e4fe4c7aeda85629"},
		{"oom-sweep", "a5c61ab905d22f7e4c00d6b5cf7204c79d33721ee5805575cd009be97ed32347"},
		{"trace-sqlite3", "869b65da5b04528842df6f148c8aef913d459059cb0cba2dce0afc14d9e3992f"},
		{"trace-python3", "e22105952957113b03624ac3251da1e12d5599d5adc4b1ab064551dcbf082b04"},
		{"trace-perl", "3b5d3b78bc3db92805ae504f699d692bdbe5725948189aa306f8f2210474639d"},
		{"trace-cc1", "7e600e98347d3c05267cc331e7d542b6dfb9aca2b0566c57ecf601fa74333446"},
	}
	if len(want) != len(All) {
		t.Errorf("%d hashes pinned for %d scenarios", len(want), len(All))
	}
	for _, w := range want {
		t.Run(w.scenario, func(t *testing.T) {
			s, err := Lookup(w.scenario)
			if err != nil {
				t.Fatal(err)
			}
			if got := traceHash(s.Generate(true)); got != w.sha256 {
				t.Errorf("sha256 %s, want %s", got, w.sha256)
			}
		})
	}
}

func traceHash(tr *trace.Trace) string {
	h := sha256.New()
	b := binary.LittleEndian.AppendUint32(nil, uint32(tr.Slots))
	for _, op := range tr.Ops {
		b = append(b, byte(op.Kind))
		for _, v := range []uint32{op.Slot, op.Size, op.Align, op.OldSize} {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		if len(b) > 1<<16 {
			h.Write(b)
			b = b[:0]
		}
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
