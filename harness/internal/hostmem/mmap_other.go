//go:build !unix

package hostmem

// newMmapMemory falls back to a slice with its whole capacity where mmap is missing.
func newMmapMemory(maxBytes uint64, _ bool) *sliceMemory { return &sliceMemory{capacity: maxBytes} }
