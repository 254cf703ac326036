//go:build !linux

package hostmem

// PeakRSS reports 0 where the kernel offers no resettable peak.
func PeakRSS() func() uint64 { return func() uint64 { return 0 } }
