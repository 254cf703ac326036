package boundary

import (
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// ErrStale says a View's slice no longer aliases the guest's memory: memory.grow
// moved the memory since the slice was taken, so writes through it would be lost
// and reads would return what the memory held before the move.
var ErrStale = errors.New("stale view: guest memory moved since the view was taken")

// View is the guest block [Ptr, Ptr+Len) seen through a slice of the guest's
// memory, with a guard against the slice going stale.
//
// Memory.Read returns a slice of the memory's current buffer. Under wazero's
// default memory, a memory.grow past the buffer's capacity (which starts at the
// memory's initial size) appends to it, so the memory moves to a new buffer and
// every slice taken before still points at the old one: writing through it is
// lost, reading from it returns old contents, and nothing fails. With
// RuntimeConfig.WithMemoryCapacityFromMax and a declared maximum (or an
// experimental.MemoryAllocator that never moves) the buffer stays put.
//
// Bytes checks, at the cost of one Memory.Read, that the held slice still is the
// memory's and returns ErrStale if it is not; Refresh re-slices it. A View is not
// safe for concurrent use, like the module it reads.
type View struct {
	mem      api.Memory
	Ptr, Len uint32
	buf      []byte
}

// NewView returns a view of [ptr, ptr+n) in mem; n must be 1 or more.
func NewView(mem api.Memory, ptr, n uint32) (*View, error) {
	v := &View{mem: mem, Ptr: ptr, Len: n}
	if err := v.Refresh(); err != nil {
		return nil, err
	}
	return v, nil
}

// Refresh re-slices the view from the memory as it is now.
func (v *View) Refresh() error {
	if v.Len == 0 {
		return fmt.Errorf("view of [%#x, +0): empty views are not allowed", v.Ptr)
	}
	b, ok := v.mem.Read(v.Ptr, v.Len)
	if !ok {
		return fmt.Errorf("view of [%#x, +%d): out of range of the %d-byte memory", v.Ptr, v.Len, v.mem.Size())
	}
	v.buf = b
	return nil
}

// Bytes returns the held slice if it still aliases the guest's memory, and an
// error wrapping ErrStale if memory moved since it was taken.
func (v *View) Bytes() ([]byte, error) {
	cur, ok := v.mem.Read(v.Ptr, v.Len)
	if !ok || !SameBuffer(cur, v.buf) {
		return nil, fmt.Errorf("view of [%#x, +%d): %w", v.Ptr, v.Len, ErrStale)
	}
	return v.buf, nil
}

// Fresh returns the block re-sliced from the memory as it is now, refreshing the
// held slice: the re-slicing guard, for callers that do not want the error.
func (v *View) Fresh() ([]byte, error) {
	if err := v.Refresh(); err != nil {
		return nil, err
	}
	return v.buf, nil
}

// Stale reports whether the held slice no longer aliases the guest's memory.
func (v *View) Stale() bool {
	_, err := v.Bytes()
	return err != nil
}

// SameBuffer reports whether a and b, both non-empty, start at the same address:
// whether a slice taken earlier (b) still aliases what Memory.Read returns now (a).
func SameBuffer(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}
