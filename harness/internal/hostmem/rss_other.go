//go:build !linux

package hostmem

// PeakRSS reports 0 where the kernel offers no resettable peak.
func PeakRSS() func() uint64 { return func() uint64 { return 0 } }

// RSS reports false: the process's resident memory is read on Linux only.
func RSS() (uint64, bool) { return 0, false }
