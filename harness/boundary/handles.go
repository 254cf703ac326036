package boundary

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ErrClosed is returned by a Handle's methods once it was closed.
var ErrClosed = errors.New("handle already closed")

// ErrOutOfMemory says the guest's alloc returned 0.
var ErrOutOfMemory = errors.New("guest out of memory: alloc returned 0")

// Owner owns guest blocks on behalf of Go objects (Handles) on one guest
// instance. Everything but the cleanups' deliveries runs on the goroutine that
// drives the instance: wazero module calls are not safe concurrently on one
// instance, and a cleanup runs on a goroutine of the runtime's. So a cleanup
// never calls the guest: it pushes the handle's id onto a queue, and the owner
// frees the queued blocks at its safe points: Drain, which New calls before it
// allocates.
//
// Blocks are named by handle id, not by pointer, so a delivery can never free a
// block that was freed and handed out again; the owner frees an id at most once
// and refuses any second free with an error.
type Owner struct {
	g Guest
	// BeforeFree, if set, is called with each block's bytes just before the
	// owner frees it (a checker verifies the block's fill there); an error stops
	// the free.
	BeforeFree func(id uint64, b []byte) error
	// OnFree, if set, is called after each block is freed, with whether a
	// cleanup released it.
	OnFree func(id uint64, byCleanup bool)

	q    *cleanupQueue
	recs map[uint64]record // the live blocks, by handle id
	next uint64

	LiveBytes  uint64
	LiveBlocks int
	autoLive   int // live blocks whose handle has a cleanup
	Freed      int // blocks freed, by Close or by cleanup
	ByCleanup  int // of those, by cleanup
}

type record struct {
	ptr, size, align uint32
	auto             bool
}

// cleanupQueue is where cleanups deliver the ids of collected handles. A
// cleanup must not block, so the queue is a slice under a mutex, never a full
// channel.
type cleanupQueue struct {
	mu     sync.Mutex
	ids    []uint64
	spare  []uint64
	closed bool
}

func (q *cleanupQueue) push(id uint64) {
	q.mu.Lock()
	if !q.closed {
		q.ids = append(q.ids, id)
	}
	q.mu.Unlock()
}

// take returns the queued ids and empties the queue. The slice is reused by the
// take after next.
func (q *cleanupQueue) take() []uint64 {
	q.mu.Lock()
	ids := q.ids
	q.ids, q.spare = q.spare[:0], ids
	q.mu.Unlock()
	return ids
}

// NewOwner returns an owner of blocks of g.
func NewOwner(g Guest) *Owner {
	return &Owner{g: g, q: &cleanupQueue{}, recs: map[uint64]record{}}
}

// Handle is a Go object that owns one guest block. Close frees the block; a
// handle made with a cleanup has its block freed once the handle is collected
// if it was never closed. Use runs a function on the block's bytes while keeping
// the handle reachable: a slice of the block used after the last use of its
// handle could be freed under the caller by the cleanup.
type Handle struct {
	o         *Owner
	id        uint64
	ptr, size uint32
	cleanup   runtime.Cleanup
	auto      bool
	closed    bool
}

// New allocates a guest block of size bytes aligned to align and returns the
// handle that owns it. With cleanup, the block is freed after the handle is
// collected unless it was closed first. New first drains the cleanup queue.
func (o *Owner) New(ctx context.Context, size, align uint32, cleanup bool) (*Handle, error) {
	if _, err := o.Drain(ctx); err != nil {
		return nil, err
	}
	p, err := o.g.Alloc(ctx, size, align)
	if err != nil {
		return nil, err
	}
	if p == 0 {
		return nil, fmt.Errorf("alloc(%d, %d): %w", size, align, ErrOutOfMemory)
	}
	o.next++
	h := &Handle{o: o, id: o.next, ptr: p, size: size, auto: cleanup}
	o.recs[h.id] = record{p, size, align, cleanup}
	o.LiveBytes += uint64(size)
	o.LiveBlocks++
	if cleanup {
		o.autoLive++
		// The cleanup holds the queue and the id, never the handle.
		h.cleanup = runtime.AddCleanup(h, o.q.push, h.id)
	}
	return h, nil
}

// Drain frees the blocks of every handle collected since the last drain; it is
// the owner's safe point. It returns how many it freed.
func (o *Owner) Drain(ctx context.Context) (int, error) {
	ids := o.q.take()
	for i, id := range ids {
		if err := o.free(ctx, id, true); err != nil {
			for _, rest := range ids[i+1:] {
				o.q.push(rest)
			}
			return i, err
		}
	}
	return len(ids), nil
}

// Collect is for after the caller dropped every handle that has a cleanup: it
// runs up to maxGCs collections, draining after each, until all their blocks
// are freed. It returns the collections it ran, and an error if blocks were
// still owned after maxGCs.
func (o *Owner) Collect(ctx context.Context, maxGCs int) (int, error) {
	if _, err := o.Drain(ctx); err != nil {
		return 0, err
	}
	gcs := 0
	for o.autoLive > 0 && gcs < maxGCs {
		runtime.GC()
		gcs++
		// The cleanups run on another goroutine; let it deliver.
		runtime.Gosched()
		if _, err := o.Drain(ctx); err != nil {
			return gcs, err
		}
	}
	if o.autoLive > 0 {
		return gcs, fmt.Errorf("%d blocks owned by collectable handles were still not freed after %d collections", o.autoLive, gcs)
	}
	return gcs, nil
}

// AutoLive returns the number of live blocks whose handles have a cleanup.
func (o *Owner) AutoLive() int { return o.autoLive }

// Close stops the owner: deliveries after it are dropped. The blocks it still
// owns stay allocated; Close returns their count and bytes (a leak, if the
// instance lives on).
func (o *Owner) Close() (blocks int, bytes uint64) {
	o.q.mu.Lock()
	o.q.closed = true
	o.q.ids = nil
	o.q.mu.Unlock()
	return o.LiveBlocks, o.LiveBytes
}

func (o *Owner) free(ctx context.Context, id uint64, byCleanup bool) error {
	rec, ok := o.recs[id]
	if !ok {
		// Close stops the cleanup before it frees, so this is a bug in the owner:
		// refuse rather than free a block twice.
		return fmt.Errorf("handle %d: its block was already freed; refusing to free it again", id)
	}
	if o.BeforeFree != nil {
		b, ok := o.g.Memory().Read(rec.ptr, rec.size)
		if !ok {
			return fmt.Errorf("handle %d: block [%#x, +%d) is outside the guest's memory", id, rec.ptr, rec.size)
		}
		if err := o.BeforeFree(id, b); err != nil {
			return fmt.Errorf("handle %d: %w", id, err)
		}
	}
	delete(o.recs, id)
	o.LiveBytes -= uint64(rec.size)
	o.LiveBlocks--
	if rec.auto {
		o.autoLive--
	}
	o.Freed++
	if byCleanup {
		o.ByCleanup++
	}
	if err := o.g.Free(ctx, rec.ptr, rec.size, rec.align); err != nil {
		return err
	}
	if o.OnFree != nil {
		o.OnFree(id, byCleanup)
	}
	return nil
}

// ID returns the handle's id, unique within its owner.
func (h *Handle) ID() uint64 { return h.id }

// Ptr returns the guest address of the handle's block.
func (h *Handle) Ptr() uint32 { return h.ptr }

// Size returns the size of the handle's block.
func (h *Handle) Size() uint32 { return h.size }

// Use calls fn with the block's bytes, re-sliced from the guest's memory, and
// keeps the handle reachable until fn returns. fn must not keep the slice.
func (h *Handle) Use(fn func(b []byte) error) error {
	defer runtime.KeepAlive(h)
	if h.closed {
		return ErrClosed
	}
	if _, ok := h.o.recs[h.id]; !ok {
		return fmt.Errorf("handle %d: use after free: its block [%#x, +%d) was freed while the handle was reachable", h.id, h.ptr, h.size)
	}
	b, ok := h.o.g.Memory().Read(h.ptr, h.size)
	if !ok {
		return fmt.Errorf("handle %d: block [%#x, +%d) is outside the guest's memory", h.id, h.ptr, h.size)
	}
	return fn(b)
}

// Close frees the handle's block now and cancels its cleanup. A second Close
// returns ErrClosed and frees nothing.
func (h *Handle) Close(ctx context.Context) error {
	defer runtime.KeepAlive(h)
	if h.closed {
		return ErrClosed
	}
	h.closed = true
	if h.auto {
		// h is reachable here, so its cleanup cannot have been queued yet.
		h.cleanup.Stop()
	}
	return h.o.free(ctx, h.id, false)
}
