package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCmd(t *testing.T) {
	old, new := testRuns(t)
	out := filepath.Join(t.TempDir(), "site")
	var stdout, stderr bytes.Buffer
	if err := reportCmd(context.Background(), &stdout, &stderr, []string{"-o", out, new, old}); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, f := range []string{"index.html", "style.css", "scenario-churn.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Two runs given old then new, either way: the compare page, in that order
	// even when the old one is the later.
	for _, args := range [][]string{{"-compare", new, old}, {"-old", new, "-new", old}} {
		dir := filepath.Join(t.TempDir(), "cmp")
		stderr.Reset()
		if err := reportCmd(context.Background(), &stdout, &stderr, append([]string{"-o", dir}, args...)); err != nil {
			t.Fatalf("report %q: %v\n%s", args, err, stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, "compare.html"))
		if err != nil {
			t.Fatal(err)
		}
		_, newName := filepath.Split(old)
		if want := "→ " + strings.TrimSuffix(newName, ".txt") + "</h1>"; !strings.Contains(string(b), want) {
			t.Errorf("report %q: compare.html lacks %q", args, want)
		}
		if !strings.Contains(stderr.String(), "compare.html") {
			t.Errorf("report %q: %s does not point at compare.html", args, stderr.String())
		}
	}
	for _, args := range [][]string{{new}, {"-o", out}, {"-o", out, "-compare", new}, {"-o", out, "-old", new},
		{"-o", out, "-old", new, "-new", old, old}, {"-o", out, "-compare", "-base", old, new, old},
		{"-o", out, "-base", "nope", new, old}} {
		err := reportCmd(context.Background(), &stdout, &stderr, args)
		var u usageError
		if len(args) > 2 && args[2] == "-base" && args[3] == "nope" {
			if err == nil || errors.As(err, &u) {
				t.Errorf("report %q: got %v, want an error that is not a usage error", args, err)
			}
			continue
		}
		if !errors.As(err, &u) {
			t.Errorf("report %q: got %v, want a usage error", args, err)
		}
	}
}
