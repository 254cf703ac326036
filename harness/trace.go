package harness

import (
	"sync"

	"github.com/alloclab/alloclab/trace"
)

var lowerings sync.Map // *trace.Trace -> *trace.Trace

// lowered returns t with resets lowered to frees, computed once per trace.
func lowered(t *trace.Trace) *trace.Trace {
	if v, ok := lowerings.Load(t); ok {
		return v.(*trace.Trace)
	}
	has := false
	for _, op := range t.Ops {
		if op.Kind == trace.Reset {
			has = true
			break
		}
	}
	out := t
	if has {
		out = t.LowerResets()
	}
	v, _ := lowerings.LoadOrStore(t, out)
	return v.(*trace.Trace)
}

// liveBefore returns the bytes live just before op i of t.
func liveBefore(t *trace.Trace, i int) uint64 {
	var live uint64
	for _, op := range t.Ops[:i] {
		live = trace.LiveAfter(live, op)
	}
	return live
}
