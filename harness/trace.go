package harness

import "github.com/alloclab/alloclab/trace"

// liveBefore returns the bytes live just before op i of t.
func liveBefore(t *trace.Trace, i int) uint64 {
	var live uint64
	for _, op := range t.Ops[:i] {
		live = trace.LiveAfter(live, op)
	}
	return live
}
