package harness

import (
	"errors"
	"fmt"
	"strings"
)

// Fault is a guest's failure: a trap, a hang, or a block the checker refused.
type Fault struct {
	Guest, Scenario string
	Op              int // -1 when the guest failed before the first op
	Err             error
}

func (f *Fault) Error() string {
	if f.Op < 0 {
		return fmt.Sprintf("guest %s, scenario %s: %v", f.Guest, f.Scenario, f.Err)
	}
	return fmt.Sprintf("guest %s, scenario %s, op %d: %v", f.Guest, f.Scenario, f.Op, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

// errFault unwinds a guest call after a checker hook recorded a fault.
var errFault = errors.New("checker fault")

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
