package alloclabtest

import (
	"os"
	"testing"
)

// TestBenchmarkFault checks that Benchmark fails a faulty module with the line
// Check prints, and names a scenario it does not know.
func TestBenchmarkFault(t *testing.T) {
	corrupt, err := os.ReadFile("../harness/testdata/corrupt.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scenario string
		want     string
	}{
		{"churn", "guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live"},
		{"nope", `alloclabtest: Benchmark: unknown scenario "nope"`},
	}
	for _, tc := range tests {
		var got error
		testing.Benchmark(func(b *testing.B) { got = bench1(b, corrupt, tc.scenario, []Option{Name("corrupt")}) })
		if got == nil || got.Error() != tc.want {
			t.Errorf("%s: Benchmark failed with %v, want %q", tc.scenario, got, tc.want)
		}
	}
}
