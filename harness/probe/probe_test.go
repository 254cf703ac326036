package probe

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// TestOOM runs the out-of-memory probe on guests that return 0, trap after a
// refused grow, and hand out a block past memory at the limit.
func TestOOM(t *testing.T) {
	tests := []struct {
		path string
		want string // the result, or the error
		err  bool
	}{
		{"../testdata/minimal.wasm", "under a 256-page limit, alloc of 300000 bytes (op 199) returned 0 with 16751200 bytes live", false},
		{"../testdata/trapoom.wasm", "under a 256-page limit, alloc of 300000 bytes (op 199) trapped after a refused memory.grow (wasm error: unreachable) with 16751200 bytes live", false},
		{"../testdata/cmalloc.wasm", "under a 256-page limit, alloc of 300000 bytes (op 199) returned 0 with 16751200 bytes live", false},
		{"../../guests/freelist/freelist.wasm", "under a 256-page limit, alloc of 300000 bytes (op 199) returned 0 with 16751200 bytes live", false},
		{"../testdata/oobatlimit.wasm", "guest oobatlimit, scenario oom-probe, op 199: alloc of 300000 bytes aligned to 64 under a 256-page limit: block [0xffa100, 0x10434e0) is out of bounds: memory is 16777216 bytes", true},
	}
	lab := labtest.Lab(t)
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r, err := OOM(context.Background(), lab, labtest.File(t, tc.path, false, ""), harness.Config{Timeout: time.Minute})
			if tc.err {
				var f *harness.Fault
				if !errors.As(err, &f) || err.Error() != tc.want {
					t.Fatalf("got %v, %v; want the fault %q", r, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestOOMTrace checks the trace asks for four times the limit.
func TestOOMTrace(t *testing.T) {
	var sum uint64
	tr := OOMTrace(16)
	for _, op := range tr.Ops {
		sum += uint64(op.Size)
	}
	if want := uint64(4 * 16 * harness.PageSize); sum < want || sum >= want+300_000 {
		t.Errorf("the trace asks for %d bytes, want %d to %d", sum, want, want+300_000)
	}
}

// TestReuse runs the reuse probe on guests that reuse every size, none, and only
// the small ones.
func TestReuse(t *testing.T) {
	tests := []struct {
		path  string
		never []uint32
	}{
		{"../../guests/freelist/freelist.wasm", nil},
		{"../../guests/pool/pool.wasm", nil},
		{"../testdata/oobatlimit.wasm", nil},
		{"../testdata/noreuse.wasm", []uint32{65536, 1 << 20}},
		{"../testdata/minimal.wasm", ReuseSizes},
	}
	lab := labtest.Lab(t)
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r, err := Reuse(context.Background(), lab, labtest.File(t, tc.path, false, ""), harness.Config{Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.NeverReused(); !slices.Equal(got, tc.never) {
				t.Errorf("never reused %v, want %v (%+v)", got, tc.never, r.Sizes)
			}
			t.Logf("%+v", r.Sizes)
		})
	}
}

func TestSizes(t *testing.T) {
	if got := Sizes([]uint32{16, 1 << 20}); got != "16, 1048576 bytes" {
		t.Errorf("got %q", got)
	}
}
