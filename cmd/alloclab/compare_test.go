package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// TestCompareGitRef runs the real thing in a clone of this repository: both sides
// at HEAD (or $ALLOCLAB_COMPARE_REF), each checked out in a git worktree, built,
// and run twice, interleaved, on one small benchmark.
func TestCompareGitRef(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a comparison that builds and runs the suite twice")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	root, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	ref := cmp.Or(os.Getenv("ALLOCLAB_COMPARE_REF"), "HEAD") // a commit whose alloclab builds
	if _, err := git(ctx, root, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		t.Skipf("no commit %s: %v", ref, err)
	}
	clone := filepath.Join(t.TempDir(), "repo")
	if _, err := git(ctx, ".", "clone", "--quiet", root, clone); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err = compare(ctx, &stdout, &stderr, compareOptions{
		old: ref, new: ref, count: 2, out: out, dir: clone,
		runArgs: []string{"-short", "-scenario", "^fragmentation-alternating$", "-guest", "bump", "-mode", "replay", "-latency=false"},
	})
	if err != nil && strings.Contains(err.Error(), "building alloclab at") {
		// Not compare's fault: the commit itself does not build, as when the
		// working tree has files HEAD needs but lacks.
		t.Skipf("%s does not build; commit the working tree or set ALLOCLAB_COMPARE_REF to a commit that builds:\n%v\n%s", ref, err, stderr.String())
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	// Rounds alternate which side goes first.
	log := stderr.String()
	var order []string
	for _, line := range strings.Split(log, "\n") {
		if _, after, ok := strings.Cut(line, "# compare: round "); ok {
			order = append(order, after)
		}
	}
	o, n := "old:"+benchLabel(ref), "new:"+benchLabel(ref)
	want := []string{"1 of 2: " + o, "1 of 2: " + n, "2 of 2: " + n, "2 of 2: " + o}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("rounds ran in the order %q, want %q", order, want)
	}
	for _, side := range []string{"old", "new"} {
		b, err := os.ReadFile(filepath.Join(out, side+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\nBenchmarkAlloc/scenario=fragmentation-alternating/guest=bump/mode=replay "); n != 2 {
			t.Errorf("%s.txt has %d results, want 2 (one per round)", side, n)
		}
	}
	if !strings.Contains(stdout.String(), o) || !strings.Contains(stdout.String(), n) {
		t.Errorf("benchstat's table lacks the sides' labels:\n%s", stdout.String())
	}
	// The worktrees are gone.
	if list, _ := git(ctx, clone, "worktree", "list"); strings.Count(list, "\n") != 0 {
		t.Errorf("worktrees left behind:\n%s", list)
	}
}

// TestWithBaselines: both sides run the working tree's built baselines unless the
// run flags name a folder.
func TestWithBaselines(t *testing.T) {
	tests := []struct {
		args, want []string
	}{
		{nil, []string{"-baselines", "/repo/guests/baselines/out"}},
		{[]string{"-short"}, []string{"-baselines", "/repo/guests/baselines/out", "-short"}},
		{[]string{"-baselines", "x"}, []string{"-baselines", "x"}},
		{[]string{"--baselines=x", "-short"}, []string{"--baselines=x", "-short"}},
	}
	for _, tc := range tests {
		if got := withBaselines("/repo", tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("withBaselines(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
