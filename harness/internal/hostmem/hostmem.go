// Package hostmem backs guest linear memory on the host through wazero's
// experimental.MemoryAllocator, so the harness sees every memory.grow: how many,
// how many pages, and how long the host took to provide them.
//
// Three policies: Default does what wazero does with no allocator configured (append
// on each grow, which copies the whole memory); CapacityFromMax reserves the maximum
// up front, as RuntimeConfig.WithMemoryCapacityFromMax does; Mmap reserves the
// maximum as address space with mmap and commits pages as the guest grows.
package hostmem

import (
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// Policy names a way of backing linear memory.
type Policy string

// The policies.
const (
	Default         Policy = "default"
	CapacityFromMax Policy = "capacity-from-max"
	Mmap            Policy = "mmap"
)

// Policies lists every policy, in the order tables show them.
var Policies = []Policy{Default, CapacityFromMax, Mmap}

// ParsePolicy returns the policy named s.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range Policies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown memory policy %q (want default, capacity-from-max or mmap)", s)
}

// Stats count what one memory's growth cost.
type Stats struct {
	Grows    int           // successful memory.grow calls with a non-zero delta
	GrowTime time.Duration // time the host spent providing the new pages
	Failed   int           // grows refused: past the limit, or the backing failed
	// LastFailed says the most recent grow was refused: a guest that traps now
	// has run out of memory.
	LastFailed bool
}

// Allocator is an experimental.MemoryAllocator that counts into Stats and refuses
// to grow the memory past LimitBytes (if non-zero). Enforcing the limit here,
// rather than with the module's declared maximum, lets the harness see a refused
// grow, so it can tell an out-of-memory trap from a bug.
type Allocator struct {
	Policy     Policy
	LimitBytes uint64
	// Prefault touches the initial memory at instantiation, so that the kernel's
	// first-touch faults are not paid inside a timed run.
	Prefault bool
	// SmallPages asks the kernel not to back an mmap memory with transparent huge
	// pages, so that Touched counts 4 KiB pages.
	SmallPages bool
	Stats      Stats
	mem        experimental.LinearMemory
}

// Allocate implements experimental.MemoryAllocator.
func (a *Allocator) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	if a.LimitBytes != 0 {
		maxBytes = min(maxBytes, a.LimitBytes)
	}
	var inner experimental.LinearMemory
	switch a.Policy {
	case CapacityFromMax:
		inner = &sliceMemory{capacity: maxBytes}
	case Mmap:
		inner = newMmapMemory(maxBytes, a.SmallPages)
	default:
		inner = &sliceMemory{capacity: capacity, appendOnGrow: true}
	}
	a.mem = inner
	return &counting{inner: inner, stats: &a.Stats, limit: maxBytes, prefault: a.Prefault}
}

// Touched returns the bytes of the 4 KiB pages of an mmap memory that hold a page
// of their own: those the guest (or wazero, for its data segments) wrote. A page
// only read maps the kernel's shared zero page, costs the host nothing and is not
// counted (mincore would count it). It fails under the other policies and where
// the kernel does not say (Linux only).
func (a *Allocator) Touched() (uint64, error) {
	m, ok := a.mem.(interface{ mapped() []byte })
	if !ok || m.mapped() == nil {
		return 0, fmt.Errorf("touched pages: the memory is not an mmap reservation (policy %s)", a.Policy)
	}
	return written(m.mapped())
}

// Close frees the backing of the memory this allocator made, if any.
func (a *Allocator) Close() {
	if a.mem != nil {
		a.mem.Free()
		a.mem = nil
	}
}

// counting wraps a LinearMemory and counts its grows; the first Reallocate is
// wazero sizing the memory at instantiation, not a grow.
type counting struct {
	inner    experimental.LinearMemory
	stats    *Stats
	limit    uint64
	size     uint64
	sized    bool
	prefault bool
}

func (c *counting) Reallocate(size uint64) []byte {
	if c.sized && size > c.limit {
		c.stats.Failed++
		c.stats.LastFailed = true
		return nil
	}
	start := time.Now()
	buf := c.inner.Reallocate(size)
	if !c.sized {
		for i := 0; c.prefault && i < len(buf); i += 4096 {
			buf[i] = 0
		}
		c.sized = true
	} else if buf == nil {
		c.stats.Failed++
		c.stats.LastFailed = true
	} else if size > c.size {
		c.stats.Grows++
		c.stats.GrowTime += time.Since(start)
		c.stats.LastFailed = false
	}
	if buf != nil {
		c.size = size
	}
	return buf
}

func (c *counting) Free() { c.inner.Free() }

// sliceMemory is a Go slice. With appendOnGrow it grows as wazero's own memory does
// (append, so the runtime reallocates and copies when capacity runs out); otherwise
// it makes its whole capacity at once.
type sliceMemory struct {
	buf          []byte
	capacity     uint64
	appendOnGrow bool
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	switch {
	case m.buf == nil:
		m.buf = make([]byte, size, max(size, m.capacity))
	case size <= uint64(cap(m.buf)):
		m.buf = m.buf[:size]
	case m.appendOnGrow:
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	default:
		return nil
	}
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }
