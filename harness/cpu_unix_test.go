//go:build unix

package harness_test

import "syscall"

// cpu returns the user and system CPU time the process has used, in ns.
func cpu() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
