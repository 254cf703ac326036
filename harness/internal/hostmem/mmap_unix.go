//go:build unix

package hostmem

import "syscall"

// mmapMemory reserves max bytes of address space with no access and makes pages
// readable and writable as the guest grows, so the buffer never moves and the
// kernel supplies zeroed pages only when they are touched.
type mmapMemory struct {
	reserved []byte
	size     uint64
}

func newMmapMemory(maxBytes uint64, smallPages bool) *mmapMemory {
	b, err := syscall.Mmap(-1, 0, int(max(maxBytes, 1<<16)), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return &mmapMemory{}
	}
	if smallPages {
		noHugePages(b)
	}
	return &mmapMemory{reserved: b}
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.reserved)) {
		return nil
	}
	if size > m.size {
		if err := syscall.Mprotect(m.reserved[m.size:size], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.size = size
	}
	return m.reserved[:size:size]
}

func (m *mmapMemory) Free() {
	if m.reserved != nil {
		_ = syscall.Munmap(m.reserved)
		m.reserved = nil
	}
}

// mapped is the memory's current extent, for Touched.
func (m *mmapMemory) mapped() []byte {
	if m.reserved == nil {
		return nil
	}
	return m.reserved[:m.size]
}
