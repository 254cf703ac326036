package check

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// TestRun checks a sound guest pass by pass, and stops a corrupting one at its
// first fault with one line.
func TestRun(t *testing.T) {
	lab := labtest.Lab(t)
	ctx := context.Background()

	var lines []string
	_, err := Run(ctx, lab, labtest.Guest(t, "freelist"), Options{Traces: Quick()},
		func(s string) { lines = append(lines, s) })
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		"checker: churn, replay mode: 20548 ops, every block sound",
		"checker: churn, host mode: 20548 ops, every block sound",
		"checker: alignments, replay mode: 4487 ops, every block sound",
		"checker: alignments, host mode: 4487 ops, every block sound",
		"oom probe: under a 256-page limit, alloc of 300000 bytes (op 199) returned 0",
		"reuse probe: reuses freed blocks of 16, 256, 4096, 65536, 1048576 bytes",
	} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d: got %q, want %q...", i, lines, want)
		}
	}

	_, err = Run(ctx, lab, labtest.File(t, "../testdata/corrupt.wasm", false, ""), Options{Traces: Quick(), Modes: []harness.Mode{harness.Host}}, nil)
	var f *harness.Fault
	const want = "guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live"
	if !errors.As(err, &f) || err.Error() != want {
		t.Errorf("corrupt: %v, want the fault %q", err, want)
	}
}

// TestRunProbes checks the probes end a check with a fault at the memory limit
// and give a warning for a guest that never reuses large blocks.
func TestRunProbes(t *testing.T) {
	lab := labtest.Lab(t)
	ctx := context.Background()
	o := Options{Modes: []harness.Mode{harness.Replay}}

	warnings, err := Run(ctx, lab, labtest.File(t, "../testdata/noreuse.wasm", false, ""), o, nil)
	if err != nil || len(warnings) != 1 || warnings[0] != "it never reuses freed blocks of 65536, 1048576 bytes" {
		t.Errorf("noreuse: warnings %q, error %v; want the one warning for 65536 and 1048576 bytes", warnings, err)
	}
	_, err = Run(ctx, lab, labtest.File(t, "../testdata/oobatlimit.wasm", false, ""), o, nil)
	var f *harness.Fault
	if !errors.As(err, &f) || f.Scenario != "oom-probe" || f.Op != 199 {
		t.Errorf("oobatlimit: %v, want a fault of the oom-probe at op 199", err)
	}
}

func TestConvention(t *testing.T) {
	for _, tc := range []struct{ module, want string }{
		{"cmalloc", "C (malloc, free, aligned_alloc, realloc), through the lab's C adapter"},
		{"cmallocmin", "C (malloc, free, no aligned_alloc, no realloc), through the lab's C adapter; without aligned_alloc, alignments above 16 fail"},
		{"bindgenmod", "wasm-bindgen (__wbindgen_malloc, __wbindgen_free, no __wbindgen_realloc), through the lab's wasm-bindgen adapter"},
		{"corrupt", "the lab's ABI (alloc, free, no realloc, no reset, no _initialize)"},
	} {
		t.Run(tc.module, func(t *testing.T) {
			if got := Convention(labtest.File(t, "../testdata/"+tc.module+".wasm", false, "")); got != tc.want {
				t.Errorf("Convention = %q, want %q", got, tc.want)
			}
		})
	}
}
