package results

import (
	"fmt"
	"io"
	"math"
	"slices"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Noise is how much a results file's timings vary: benchstat's ± over each
// benchmark's sec/op values (the 95% confidence interval of the median, as a
// percentage of it), summarised over the benchmarks.
type Noise struct {
	Cells       int     // benchmarks with two or more counts
	Median, P90 float64 // of their ±%, in percent
	Worst       string  // the benchmark with the largest ±
	WorstPct    float64
}

// MeasureNoise reads benchfmt results and returns the noise of their unit
// (tidied, such as "sec/op").
func MeasureNoise(r io.Reader, file, unit string) (Noise, error) {
	rd := benchfmt.NewReader(r, file)
	cells := map[string][]float64{}
	var order []string
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return Noise{}, rec
		case *benchfmt.Result:
			if v, ok := rec.Value(unit); ok {
				name := string(rec.Name.Full())
				if cells[name] == nil {
					order = append(order, name)
				}
				cells[name] = append(cells[name], v)
			}
		}
	}
	if err := rd.Err(); err != nil {
		return Noise{}, err
	}
	var n Noise
	var pcts []float64
	for _, name := range order {
		vs := cells[name]
		if len(vs) < 2 {
			continue
		}
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(vs, &benchmath.DefaultThresholds), 0.95)
		pct := 0.0
		switch {
		case math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0):
			pct = math.Inf(1) // too few counts for a 95% interval: benchstat prints ± ∞
		case s.Center != 0:
			pct = 100 * math.Max(s.Hi/s.Center-1, 1-s.Lo/s.Center)
		}
		pcts = append(pcts, pct)
		if pct > n.WorstPct || n.Worst == "" {
			n.Worst, n.WorstPct = name, pct
		}
	}
	if len(pcts) == 0 {
		return Noise{}, fmt.Errorf("%s: no benchmark has two or more %s values", file, unit)
	}
	slices.Sort(pcts)
	n.Cells = len(pcts)
	n.Median = pcts[(len(pcts)-1)/2]
	n.P90 = pcts[int(math.Ceil(0.9*float64(len(pcts))))-1]
	return n, nil
}
