package main

import (
	"github.com/alloclab/alloclab/internal/labtest"
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
	logPath := filepath.Join(dir, "stderr.txt")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// Every checked pass finishes before the first timed result is written: bump's
	// and pool's are checked, then the hang guest's spins until the signal, so the
	// run is interrupted inside its checking phase.
	cmd := exec.Command(bin, "run", "-short", "-scenario", "^churn$", "-latency=false", "-cache", "off",
		"-guest", "^bump$,^pool$,../../harness/testdata/hang.wasm", "-timeout", "1m", "-o", results)
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stderr := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	deadline := time.Now().Add(time.Minute)
	for strings.Count(stderr(), ": checked ") < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("bump and pool not checked after a minute:\n%s", stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // into the hang
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, stderr())
	}
	if s := stderr(); !strings.Contains(s, "alloclab: interrupted: context canceled") || strings.Contains(s, "FAIL") {
		t.Errorf("stderr should say it was interrupted, and blame no guest:\n%s", s)
	}
	text, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := labtest.ReadResults(t, string(text)); len(got) != 0 {
		t.Fatalf("interrupted while checking, the file holds %d results, want none:\n%s", len(got), text)
	}

	// Resume without the hanging guest, with two counts: the run finishes, and a
	// second -resume finds nothing left to do. Each count of each benchmark is in
	// the file exactly once.
	args := []string{"run", "-short", "-scenario", "^churn$", "-latency=false", "-cache", "off",
		"-guest", "^bump$,^pool$", "-count", "2", "-o", results, "-resume"}
	for i := range 2 {
		code, _, errText := runAlloclab(t, args...)
		if code != 0 {
			t.Fatalf("resume %d: exit %d\n%s", i+1, code, errText)
		}
		if n := strings.Count(errText, ": checked "); i == 1 && n != 0 {
			t.Errorf("the second -resume checked %d passes, want none:\n%s", n, errText)
		}
		text, _ = os.ReadFile(results)
		got, _ := labtest.ReadResults(t, string(text))
		perGuest := map[string]int{}
		for _, r := range got {
			for _, g := range []string{"bump", "pool"} {
				if strings.Contains(string(r.Name), "guest="+g) {
					perGuest[g]++
				}
			}
		}
		if len(got) != 4 || perGuest["bump"] != 2 || perGuest["pool"] != 2 {
			t.Fatalf("after -resume %d the file holds %d results (%v), want bump's and pool's two counts each:\n%s", i+1, len(got), perGuest, text)
		}
	}
}
