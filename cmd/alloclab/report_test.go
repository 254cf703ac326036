package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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
	for _, args := range [][]string{{new}, {"-o", out}, {"-o", out, "-base", "nope", new, old}} {
		err := reportCmd(context.Background(), &stdout, &stderr, args)
		var u usageError
		if args[0] == "-o" && len(args) > 2 {
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
