//go:build !unix

package harness_test

// cpu returns 0: the process's CPU time is read on unix only.
func cpu() int64 { return 0 }
