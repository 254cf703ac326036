package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/alloclab/alloclab/internal/compare"
)

// compareCmd runs alloclab compare OLD [NEW] [-- run flags]: the suite on both
// sides, interleaved, then benchstat's comparison of them.
func compareCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	o := compare.Options{Stdout: stdout, Stderr: stderr}
	fs := newFlagSet("alloclab compare", stderr)
	fs.IntVar(&o.Count, "count", 5, "rounds: each runs the suite once (-count 1) on every side that runs, alternating which goes first")
	fs.StringVar(&o.Out, "o", "", "keep the results (OLD.txt, NEW.txt) and benchstat's table (benchstat.txt) in this folder")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: alloclab compare [-count n] [-o dir] OLD [NEW] [-- alloclab run flags]\n"+
			"OLD and NEW are results files or git refs; NEW defaults to the working tree (\".\").")
		fs.PrintDefaults()
	}
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 1:
		o.Old, o.New = fs.Arg(0), "."
	case 2:
		o.Old, o.New = fs.Arg(0), fs.Arg(1)
	default:
		return usagef("compare: want OLD [NEW], got %d arguments (run flags go after --)", fs.NArg())
	}
	if o.Count < 1 {
		return usagef("compare: -count %d: want 1 or more", o.Count)
	}
	o.RunArgs = rest
	var re *compare.RefError
	switch err := compare.Run(ctx, o); {
	case errors.As(err, &re):
		return usagef("compare: %v", err)
	case errors.Is(err, compare.ErrFailed):
		return errFailed
	default:
		return err
	}
}
