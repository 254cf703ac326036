//go:build !linux

package hostmem

import (
	"errors"
	"runtime"
)

func noHugePages([]byte) {}

var errNoPagemap = errors.New("touched pages: measured on Linux only, not " + runtime.GOOS)

func written([]byte) (uint64, error)  { return 0, errNoPagemap }
func resident([]byte) (uint64, error) { return 0, errNoPagemap }
