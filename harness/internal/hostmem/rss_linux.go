package hostmem

import (
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
)

// PeakRSS starts measuring the process's peak resident memory: it returns the
// garbage to the OS, resets the kernel's high-water mark (clear_refs 5) and notes
// the resident size. The returned function reports how far the peak rose above it,
// or 0 if the kernel would not reset the mark.
func PeakRSS() func() uint64 {
	debug.FreeOSMemory()
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) != nil {
		return func() uint64 { return 0 }
	}
	start := status("VmRSS:")
	return func() uint64 {
		if peak := status("VmHWM:"); peak > start {
			return peak - start
		}
		return 0
	}
}

// RSS returns the process's resident memory now, and false where the kernel does
// not say.
func RSS() (uint64, bool) {
	n := status("VmRSS:")
	return n, n > 0
}

// status returns a /proc/self/status field in bytes.
func status(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte(field))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+len(field):])
	if len(f) < 1 {
		return 0
	}
	kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
	return kb << 10
}
