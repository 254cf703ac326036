package harness

import (
	"context"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/trace"
)

// TestAdapters runs modules of the C and wasm-bindgen conventions through their
// adapters under the checker, in both modes, on a trace with every alignment and
// reallocs.
func TestAdapters(t *testing.T) {
	var b trace.Builder
	for i := 0; i < 300; i++ {
		s := b.Alloc(uint32(1+i*37%5000), 1<<(i%13))
		if i%3 == 0 {
			b.Realloc(s, uint32(1+i*53%9000))
		}
		if i%4 == 0 {
			b.Free(s)
		}
	}
	for b.Live() > 0 {
		b.Free(b.LiveSlot(0))
	}
	trace := b.Trace()
	lab := newLab(t)
	tests := []struct {
		guest string
		conv  Convention
		fault string // expected, or "" for none
	}{
		{"cmalloc", ConventionC, ""},
		{"bindgenmod", ConventionBindgen, ""},
		// Without aligned_alloc the adapter cannot honour alignments above 16.
		{"cmallocmin", ConventionC, "op 9: alloc of 186 bytes aligned to 32 failed with 273 bytes live and memory at 1 of its 65535-page limit"},
	}
	for _, tc := range tests {
		for _, mode := range modes {
			t.Run(tc.guest+"/"+string(mode), func(t *testing.T) {
				g := loadFixture(t, tc.guest)
				if g.Convention != tc.conv {
					t.Fatalf("convention %q, want %q", g.Convention, tc.conv)
				}
				_, err := lab.MeasureExact(context.Background(), g, "adapt", trace, Config{Mode: mode}, 0)
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
