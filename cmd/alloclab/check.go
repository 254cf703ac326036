package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/check"
)

// checkCmd says which allocator convention a module uses, what it imports, whether
// the harness can run it, and runs package check's quick traces and probes (out
// of memory, reuse), ending with a one-line verdict: FAIL on a fault, ok with a
// warning for a guest that never reuses freed blocks.
func checkCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("alloclab check", stderr)
	timeout := fs.Duration("timeout", 30*time.Second, "time limit of each checked pass")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("check: want one module: alloclab check module.wasm")
	}
	path := fs.Arg(0)
	wasm, err := os.ReadFile(path)
	if err != nil {
		return usagef("check: %v", err)
	}
	verdict := func(ok bool, format string, a ...any) error {
		word := "ok"
		if !ok {
			word = "FAIL"
		}
		fmt.Fprintf(stdout, "verdict: %s: %s\n", word, fmt.Sprintf(format, a...))
		if !ok {
			return errFailed
		}
		return nil
	}
	fmt.Fprintf(stdout, "module: %s (%d bytes)\n", path, len(wasm))
	g, err := harness.NewGuest(strings.TrimSuffix(filepath.Base(path), ".wasm"), wasm)
	if err != nil {
		return verdict(false, "the harness cannot run it: %v", err)
	}
	fmt.Fprintf(stdout, "convention: %s\n", check.Convention(g))
	if len(g.Imports) == 0 {
		fmt.Fprintln(stdout, "imports: none")
	} else {
		fmt.Fprintf(stdout, "imports: %s (given WASI without files, arguments, environment or network)\n", strings.Join(g.Imports, ", "))
	}

	if _, err := g.Metered(); err != nil {
		fmt.Fprintf(stdout, "counts: none, it runs without instruction counts: %v\n", err)
	}

	lab := harness.NewLab()
	defer lab.Close(context.WithoutCancel(ctx))
	log := func(line string) { fmt.Fprintln(stdout, line) }
	warnings, err := check.Run(ctx, lab, g, check.Options{Traces: check.Quick(), Config: harness.Config{Timeout: *timeout}}, log)
	if err != nil {
		return verdict(false, "%v", err)
	}
	warning := ""
	if len(warnings) > 0 {
		warning = " (warning: " + strings.Join(warnings, "; ") + ")"
	}
	return verdict(true, "the harness can run %s (%s convention) and it passed the checker%s: alloclab run -guest %s", path, g.Convention, warning, path)
}
