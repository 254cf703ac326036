package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/alloclab/alloclab/report"
)

// reportCmd runs alloclab report: it writes the results site of the files it is
// given.
func reportCmd(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("alloclab report", stderr)
	out := fs.String("o", "", "write the site into this folder (required)")
	base := fs.String("base", "", "compare the latest run with this one (a run's name or path; default the earlier run sharing the most scenarios with it, \"none\" for no comparison)")
	title := fs.String("title", "", "the site's title (default \"alloclab results\")")
	compare := fs.Bool("compare", false, "the two results files are OLD then NEW: compare them in that order (compare.html), whatever their dates")
	oldRun := fs.String("old", "", "with -new: the old run to compare (the same as -compare OLD NEW)")
	newRun := fs.String("new", "", "with -old: the new run to compare")
	rank := fs.String("rank", "", "rank the guests of this run on the index (a run's name or path; default the latest run with at least half the scenarios of the widest)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: alloclab report -o DIR [-base RUN] [-rank RUN] [-title T] results/runs/RUN.txt...\n"+
			"       alloclab report -o DIR -compare OLD.txt NEW.txt\n"+
			"       alloclab report -o DIR -old OLD.txt -new NEW.txt")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("report: -o DIR is required")
	}
	runs := fs.Args()
	switch {
	case (*oldRun == "") != (*newRun == ""):
		return usagef("report: -old and -new go together")
	case *oldRun != "" && (len(runs) > 0 || *compare):
		return usagef("report: -old and -new take no other results files and no -compare")
	case *oldRun != "":
		runs, *compare = []string{*oldRun, *newRun}, true
	case *compare && len(runs) != 2:
		return usagef("report: -compare takes two results files, OLD and NEW; got %d", len(runs))
	case len(runs) == 0:
		return usagef("report: no results files (such as results/runs/*.txt)")
	}
	if *compare && *base != "" {
		return usagef("report: -compare takes no -base: the old run is the base")
	}
	site, err := report.Generate(report.Options{Out: *out, Runs: runs, Base: *base, Title: *title, Rank: *rank, Compare: *compare})
	if err != nil {
		return err
	}
	open := "index.html"
	if *compare {
		open = "compare.html"
	}
	for _, a := range site.Answers {
		fmt.Fprintf(stderr, "# %s\n", a)
	}
	fmt.Fprintf(stderr, "# wrote %d pages and %d files to %s; open %s\n",
		len(site.Pages), len(site.Files), *out, filepath.Join(*out, open))
	return nil
}
