package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptAndResume interrupts a run with SIGTERM while a guest hangs, checks
// the results file holds every finished benchmark as valid benchfmt, and then
// finishes the run with -resume.
func TestInterruptAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "alloclab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	results := filepath.Join(dir, "run.txt")
	// bump finishes; then the hang guest's checked pass spins until the signal.
	cmd := exec.Command(bin, "run", "-short", "-scenario", "^churn$", "-latency=false",
		"-guest", "^bump$,^pool$,../../harness/testdata/hang.wasm", "-timeout", "1m", "-o", results)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		text, _ := os.ReadFile(results)
		if strings.Count(string(text), "\nBenchmark") == 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no results after a minute:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // into the hang
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "alloclab: interrupted: context canceled") || strings.Contains(stderr.String(), "FAIL") {
		t.Errorf("stderr should say it was interrupted, and blame no guest:\n%s", stderr.String())
	}
	text, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readResults(t, string(text))
	if len(got) != 2 || !strings.Contains(string(got[0].Name), "guest=bump") || !strings.Contains(string(got[1].Name), "guest=pool") {
		t.Fatalf("after the interrupt the file holds %d results, want bump's and pool's:\n%s", len(got), text)
	}

	// Resume with a second count and without the hanging guest: the first count's
	// results are kept, and only the second count runs.
	code, _, errText := runAlloclab(t, "run", "-short", "-scenario", "^churn$", "-latency=false",
		"-guest", "^bump$,^pool$", "-count", "2", "-o", results, "-resume")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, errText)
	}
	text, _ = os.ReadFile(results)
	got, _ = readResults(t, string(text))
	if len(got) != 4 {
		t.Fatalf("after -resume the file holds %d results, want 4:\n%s", len(got), text)
	}
	if strings.Count(errText, "checked") != 2 {
		t.Errorf("resume should run one count of each guest:\n%s", errText)
	}
}
