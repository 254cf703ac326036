package harness

import (
	"context"
	"slices"
	"time"

	"github.com/montanaflynn/stats"
	"github.com/tetratelabs/wazero/api"
)

// LatencyBatch is the number of ops a replay-mode latency pass times at once: few
// enough that a memory.grow spike stands out, enough that the clock's cost is small.
const LatencyBatch = 32

// Latency is the distribution of time per op in one pass, in nanoseconds.
//
// In replay mode the ops run inside wazero, where the host cannot time them one by
// one: the pass runs LatencyBatch ops per call and each sample is a batch's time,
// less the median time of an empty batch, over its ops. In host mode each op is one
// call and is timed alone, less the median cost of reading the clock. Either way a
// memory.grow inside an op shows in the tail.
type Latency struct {
	P50, P99, P999, Max float64
	Samples             int
	Method              string
}

type latencies []float64

func (l latencies) summarize(method string) *Latency {
	if len(l) == 0 {
		return nil
	}
	data := stats.Float64Data(l)
	pct := func(p float64) float64 {
		v, _ := stats.PercentileNearestRank(data, p)
		return v
	}
	maximum, _ := stats.Max(data)
	return &Latency{P50: pct(50), P99: pct(99), P999: pct(99.9), Max: maximum, Samples: len(l), Method: method}
}

// median runs f n times and returns the median of what it measured.
func median(n int, f func() time.Duration) time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = f()
	}
	slices.Sort(d)
	return d[n/2]
}

// callCost returns the median time of one call to fn, which takes and returns
// nothing, over batches of calls.
func callCost(ctx context.Context, fn api.Function) float64 {
	const calls = 1000
	stack := make([]uint64, 1)
	d := median(21, func() time.Duration {
		t0 := time.Now()
		for range calls {
			_ = fn.CallWithStack(ctx, stack)
		}
		return time.Since(t0)
	})
	return float64(d.Nanoseconds()) / calls
}
