package hostmem

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// pageSize is the OS page that Touched counts in.
const pageSize = 4096

// noHugePages is madvise(MADV_NOHUGEPAGE): with transparent huge pages on, one
// write could otherwise make 2 MiB resident.
func noHugePages(b []byte) { _ = syscall.Madvise(b, 15) }

// pagemap flags (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent   = 1 << 63
	pmExclusive = 1 << 56 // mapped by this process alone: not the shared zero page
)

// written counts the bytes of b's 4 KiB pages that are present and mapped
// exclusively, from /proc/self/pagemap (readable by the process itself; only the
// frame numbers need privilege).
func written(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, fmt.Errorf("touched pages: %w", err)
	}
	defer f.Close()
	first := uintptr(unsafe.Pointer(&b[0])) / pageSize
	pages := (len(b) + pageSize - 1) / pageSize
	buf := make([]byte, 8*min(pages, 1<<14))
	var n uint64
	for done := 0; done < pages; {
		chunk := buf[:8*min(pages-done, len(buf)/8)]
		if _, err := f.ReadAt(chunk, int64(first+uintptr(done))*8); err != nil {
			return 0, fmt.Errorf("touched pages: reading pagemap: %w", err)
		}
		for i := 0; i < len(chunk); i += 8 {
			if e := binary.LittleEndian.Uint64(chunk[i:]); e&pmPresent != 0 && e&pmExclusive != 0 {
				n++
			}
		}
		done += len(chunk) / 8
	}
	return n * pageSize, nil
}

// resident counts the bytes of b's 4 KiB pages that mincore says are resident,
// pages only read (mapped to the zero page) included.
func resident(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	vec := make([]byte, (len(b)+pageSize-1)/pageSize)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, fmt.Errorf("touched pages: mincore: %w", e)
	}
	var n uint64
	for _, v := range vec {
		n += uint64(v & 1)
	}
	return n * pageSize, nil
}
