package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// testRuns are the report's committed runs, two small results files.
func testRuns(t *testing.T) (old, new string) {
	t.Helper()
	runs, err := filepath.Glob("../../report/testdata/runs/*.txt")
	if err != nil || len(runs) < 2 {
		t.Fatalf("want two runs in report/testdata/runs, got %v (%v)", runs, err)
	}
	sort.Strings(runs)
	return runs[0], runs[len(runs)-1]
}

// TestCompareFiles compares two results files: nothing runs, benchstat prints
// the table with a column per file, and -o keeps it.
func TestCompareFiles(t *testing.T) {
	old, new := testRuns(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := compareCmd(context.Background(), &stdout, &stderr, []string{"-o", out, old, new}); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	table := stdout.String()
	for _, want := range []string{"sec/op", "vs base", filepath.Base(strings.TrimSuffix(old, ".txt")), filepath.Base(strings.TrimSuffix(new, ".txt")), "scenario=churn"} {
		if !strings.Contains(table, want) {
			t.Errorf("benchstat's table lacks %q:\n%s", want, table)
		}
	}
	kept, err := os.ReadFile(filepath.Join(out, "benchstat.txt"))
	if err != nil || string(kept) != table {
		t.Errorf("benchstat.txt is not the table printed (%v)", err)
	}
	if strings.Contains(stderr.String(), "round") {
		t.Errorf("ran the suite for results files:\n%s", stderr.String())
	}
}

func TestCompareUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"a", "b", "c"},
		{"-count", "0", "x.txt"},
		{"no-such-file-or-ref-xyz"},
	} {
		var stdout, stderr bytes.Buffer
		err := compareCmd(context.Background(), &stdout, &stderr, args)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("compare %q: got %v, want a usage error", args, err)
		}
	}
}
