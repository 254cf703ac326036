package main

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/alloclab/alloclab/results"
)

// noiseCmd runs 'alloclab noise RUN.txt...'.
func noiseCmd(stdout io.Writer, args []string) error {
	if len(args) == 0 {
		return usagef("usage: alloclab noise RUN.txt...")
	}
	for _, path := range args {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		n, err := results.MeasureNoise(f, path, "sec/op")
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: sec/op ± over %d benchmarks: median %s, p90 %s; noisiest %s ±%s\n",
			path, n.Cells, pct(n.Median, 1), pct(n.P90, 1), n.Worst, pct(n.WorstPct, 0))
	}
	return nil
}

// pct formats a percentage as benchstat does, ∞ when the counts are too few for
// a 95% interval.
func pct(v float64, digits int) string {
	if math.IsInf(v, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.*f%%", digits, v)
}
