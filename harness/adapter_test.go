package harness

import (
	"context"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/trace"
)

// TestAdapters runs modules of the C and wasm-bindgen conventions through their
// adapters under the checker, in both modes, on the trace with every alignment
// (trace.Alignments).
func TestAdapters(t *testing.T) {
	tr := trace.Alignments()
	lab := newLab(t)
	tests := []struct {
		guest string
		conv  Convention
		fault string // expected, or "" for none
	}{
		{"cmalloc", ConventionC, ""},
		{"bindgenmod", ConventionBindgen, ""},
		// Without aligned_alloc the adapter cannot honour alignments above 16.
		{"cmallocmin", ConventionC, "op 3: alloc of 1691 bytes aligned to 64 failed with 5760 bytes live and memory at 1 of its 65535-page limit"},
	}
	for _, tc := range tests {
		for _, mode := range modes {
			t.Run(tc.guest+"/"+string(mode), func(t *testing.T) {
				g := loadFixture(t, tc.guest)
				if g.Convention != tc.conv {
					t.Fatalf("convention %q, want %q", g.Convention, tc.conv)
				}
				_, err := lab.MeasureExact(context.Background(), g, "adapt", tr, Config{Mode: mode}, 0)
				switch {
				case tc.fault == "" && err != nil:
					t.Fatal(err)
				case tc.fault != "" && (err == nil || !strings.Contains(err.Error(), tc.fault)):
					t.Fatalf("got %v, want %q", err, tc.fault)
				}
			})
		}
	}
}
