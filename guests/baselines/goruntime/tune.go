//go:build tuned

package main

import (
	"runtime/debug"
	"strconv"
)

// gcPercent and memLimit tune the collector as the GOGC and GOMEMLIMIT
// environment variables would: a guest gets no environment, so build.sh sets
// them with -ldflags=-X under the tuned build tag (empty keeps Go's default).
// memLimit is in bytes.
var gcPercent, memLimit string

// init runs in _initialize, before any export: main.main never runs in a
// c-shared (reactor) module.
func init() {
	if gcPercent != "" {
		debug.SetGCPercent(mustInt("gcPercent", gcPercent))
	}
	if memLimit != "" {
		debug.SetMemoryLimit(int64(mustInt("memLimit", memLimit)))
	}
}

func mustInt(name, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic("goruntime: bad -X main." + name + ": " + s)
	}
	return n
}
