package harness_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/trace"
)

// TestCountsBump pins bump's counts (guests/bump/bump.wat) on a trace that moves
// a block, by hand: an alloc that does not grow runs [global.get ... i64.gt_u
// if] 23 and [local.get global.set local.get i32.wrap_i64 global.set global.get
// end] 7: 30. free is its [end]: 1. realloc of a block that is not the last
// runs [local.get global.get i32.eq ... i32.and if] 12, [local.get local.get
// call] 3, the alloc's 30, [local.set local.get if] 3, the copy [local.get x6
// i32.lt_u select memory.copy end] 10 and [local.get end] 2: 60, and copies the
// old 16 bytes. So 30 + 30 + 60 + 1 + 1 = 122 over 5 ops.
func TestCountsBump(t *testing.T) {
	var b trace.Builder
	a := b.Alloc(16, 8)
	c := b.Alloc(100, 16)
	b.Realloc(a, 32)
	b.Free(c)
	b.Free(a)
	tr := b.Trace()
	want := &harness.Counts{
		All: harness.OpCounts{Ops: 5, Instrs: 122, BulkBytes: 16, P99Instrs: 60, MaxInstrs: 60},
		Kinds: map[string]harness.OpCounts{
			"alloc":   {Ops: 2, Instrs: 60, P99Instrs: 30, MaxInstrs: 30},
			"realloc": {Ops: 1, Instrs: 60, BulkBytes: 16, P99Instrs: 60, MaxInstrs: 60},
			"free":    {Ops: 2, Instrs: 2, P99Instrs: 1, MaxInstrs: 1},
		},
	}
	lab := labtest.Lab(t)
	g := labtest.Guest(t, "bump")
	for _, engine := range []harness.Engine{harness.Compiler, harness.Interpreter} {
		for _, mode := range labtest.Modes {
			t.Run(string(mode)+"/"+string(engine), func(t *testing.T) {
				p, err := lab.Run(context.Background(), g, "moves", tr, harness.Config{Mode: mode, Engine: engine, Check: true})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(p.Counts, want) {
					t.Errorf("counts %+v, want %+v", p.Counts, want)
				}
				// Without counts, the pass has none.
				p, err = lab.Run(context.Background(), g, "moves", tr, harness.Config{Mode: mode, Engine: engine, Check: true, NoCounts: true})
				if err != nil || p.Counts != nil {
					t.Errorf("NoCounts: counts %+v, error %v", p.Counts, err)
				}
			})
		}
	}
}
