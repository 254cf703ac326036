package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/alloclab/alloclab/report"
)

// reportCmd runs alloclab report: it writes the results site of the files it is
// given.
func reportCmd(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("alloclab report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the site into this folder (required)")
	base := fs.String("base", "", "compare the latest run with this one (a run's name or path; default the run before it, \"none\" for no comparison)")
	title := fs.String("title", "", "the site's title (default \"alloclab results\")")
	rank := fs.String("rank", "", "rank the guests of this run on the index (a run's name or path; default the latest run with at least half the scenarios of the widest)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: alloclab report -o DIR [-base RUN] [-rank RUN] [-title T] results/runs/RUN.txt...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if *out == "" {
		return usagef("report: -o DIR is required")
	}
	if fs.NArg() == 0 {
		return usagef("report: no results files (such as results/runs/*.txt)")
	}
	site, err := report.Generate(report.Options{Out: *out, Runs: fs.Args(), Base: *base, Title: *title, Rank: *rank})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "# wrote %d pages and %d files to %s; open %s\n",
		len(site.Pages), len(site.Files), *out, filepath.Join(*out, "index.html"))
	return nil
}
