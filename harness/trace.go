package harness

import (
	"sync"

	"github.com/alloclab/alloclab/scenarios"
)

var lowerings sync.Map // *scenarios.Trace -> *scenarios.Trace

// lowered returns t with resets lowered to frees, computed once per trace.
func lowered(t *scenarios.Trace) *scenarios.Trace {
	if v, ok := lowerings.Load(t); ok {
		return v.(*scenarios.Trace)
	}
	has := false
	for _, op := range t.Ops {
		if op.Kind == scenarios.Reset {
			has = true
			break
		}
	}
	out := t
	if has {
		out = t.LowerResets()
	}
	v, _ := lowerings.LoadOrStore(t, out)
	return v.(*scenarios.Trace)
}

// liveBefore returns the bytes live just before op i of t.
func liveBefore(t *scenarios.Trace, i int) uint64 {
	var live uint64
	for _, op := range t.Ops[:i] {
		live = scenarios.LiveAfter(live, op)
	}
	return live
}
