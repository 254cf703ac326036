package main

import (
	"strings"
	"testing"
)

// TestCheck runs alloclab check on modules that fit (through the C adapter, or
// with a warning for never reusing large blocks) and on ones that do not, one of
// them only at its memory limit: the last line is the verdict.
func TestCheck(t *testing.T) {
	tests := []struct {
		module  string
		code    int
		lines   []string
		verdict string
	}{
		{"cmalloc", 0, []string{"convention: C (malloc, free, aligned_alloc, realloc), through the lab's C adapter", "imports: none",
			"checker: churn, replay mode: 20548 ops, every block sound", "checker: alignments, host mode: 4487 ops, every block sound",
			// cmalloc's own code; the C adapter is not counted.
			"heap/live 12.8; 16.53 instrs/op (p99 32, max 46), 0 mem-ops/op, 0 bulk-bytes/op",
			"reuse probe: warning: never reuses freed blocks of 16, 256, 4096, 65536, 1048576 bytes"},
			"verdict: ok: the harness can run ../../harness/testdata/cmalloc.wasm (c convention) and it passed the checker"},
		{"bindgenmod", 0, []string{"convention: wasm-bindgen (__wbindgen_malloc, __wbindgen_free, no __wbindgen_realloc), through the lab's wasm-bindgen adapter"},
			"verdict: ok:"},
		{"cmallocmin", 1, []string{"without aligned_alloc, alignments above 16 fail"},
			"verdict: FAIL: guest cmallocmin, scenario churn, op 7: alloc of 23 bytes aligned to 64 failed with 1825 bytes live and memory at 1 of its 65535-page limit"},
		{"badabi", 1, nil, "verdict: FAIL: the harness cannot run it: guest badabi does not keep the allocator ABI"},
		{"oobatlimit", 1, []string{"checker: alignments, host mode: 4487 ops, every block sound"},
			"verdict: FAIL: guest oobatlimit, scenario oom-probe, op 199: alloc of 300000 bytes aligned to 64 under a 256-page limit: block [0xffa100, 0x10434e0) is out of bounds: memory is 16777216 bytes"},
		{"noreuse", 0, []string{"oom probe: under a 256-page limit, alloc of 300000 bytes (op 199) returned 0 with 16751200 bytes live",
			"reuse probe: warning: never reuses freed blocks of 65536, 1048576 bytes",
			"reuse probe: pages grown at each size: 16 B: 0, 256 B: 0, 4096 B: 0, 65536 B: 256, 1048576 B: 1024"},
			"verdict: ok: the harness can run ../../harness/testdata/noreuse.wasm (abi convention) and it passed the checker (warning: it never reuses freed blocks of 65536, 1048576 bytes): alloclab run -guest"},
		{"../../guests/freelist/freelist", 0, []string{"oom probe: under a 256-page limit, alloc of 300000 bytes (op 199) returned 0",
			"reuse probe: reuses freed blocks of 16, 256, 4096, 65536, 1048576 bytes"},
			"verdict: ok: the harness can run ../../harness/testdata/../../guests/freelist/freelist.wasm (abi convention) and it passed the checker: alloclab run -guest"},
		{"trapoom", 0, []string{"oom probe: under a 256-page limit, alloc of 300000 bytes (op 199) trapped after a refused memory.grow (wasm error: unreachable)"},
			"verdict: ok:"},
		{"corrupt", 1, []string{"convention: the lab's ABI (alloc, free, no realloc, no reset, no _initialize)"},
			"verdict: FAIL: guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted"},
	}
	for _, tc := range tests {
		t.Run(tc.module, func(t *testing.T) {
			code, stdout, stderr := runAlloclab(t, "check", "../../harness/testdata/"+tc.module+".wasm")
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if code != tc.code || !strings.HasPrefix(lines[len(lines)-1], tc.verdict) {
				t.Fatalf("exit %d, last line %q; want %d and %q\n%s", code, lines[len(lines)-1], tc.code, tc.verdict, stderr)
			}
			for _, want := range tc.lines {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}
