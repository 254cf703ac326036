package compare

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRunGitRef runs the real thing in a clone of this repository: both sides
// at HEAD (or $ALLOCLAB_COMPARE_REF), each checked out in a git worktree, built,
// and run twice, interleaved, on one small benchmark.
func TestRunGitRef(t *testing.T) {
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
	err = Run(ctx, Options{
		Old: ref, New: ref, Count: 2, Out: out, Dir: clone, Stdout: &stdout, Stderr: &stderr,
		RunArgs: []string{"-short", "-scenario", "^fragmentation-alternating$", "-guest", "bump", "-mode", "replay", "-latency=false"},
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
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if got := withBaselines("/repo", tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("withBaselines(%q) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

// TestRunRefError: a side that is neither a file nor a ref is a RefError, before
// anything runs.
func TestRunRefError(t *testing.T) {
	var stderr bytes.Buffer
	err := Run(context.Background(), Options{Old: "no-such-file-or-ref-xyz", New: ".", Count: 1, Stdout: io.Discard, Stderr: &stderr})
	var re *RefError
	if !errors.As(err, &re) || re.Ref != "no-such-file-or-ref-xyz" {
		t.Errorf("error %v, want a RefError naming the ref", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("something ran:\n%s", stderr.String())
	}
}
