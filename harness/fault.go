package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/sys"
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

// classify says what an error from a guest call of a pass means, in one line: the
// checker's fault if a hook recorded one (checkerFault), the time limit if the
// pass ran out of it, and otherwise a trap, without the wasm stack trace wazero
// appends on further lines.
func classify(ctx context.Context, err, checkerFault error, timeout time.Duration) error {
	var exit *sys.ExitError
	switch {
	case checkerFault != nil:
		return checkerFault
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		return &TimeLimitError{Limit: timeout}
	}
	return fmt.Errorf("trapped: %s", firstLine(err.Error()))
}

// TimeLimitError says a guest did not finish within its time limit.
type TimeLimitError struct{ Limit time.Duration }

func (e *TimeLimitError) Error() string {
	return fmt.Sprintf("did not finish within the time limit of %v", e.Limit)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
