package alloclabtest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/alloclab/alloclab/alloclabtest"
	"github.com/alloclab/alloclab/guests"
)

// Check belongs in a test function of the allocator's own module.
func ExampleCheck() {
	var t *testing.T // the test's t: func TestAllocator(t *testing.T) { ... }
	pool, _ := guests.Lookup("pool")
	alloclabtest.Check(t, pool.Wasm, alloclabtest.Name("pool"))
}

// Benchmark belongs in a benchmark function; testing.Benchmark runs one here, and
// the exact metrics it reports are the same on every run.
func ExampleBenchmark() {
	pool, _ := guests.Lookup("pool")
	r := testing.Benchmark(func(b *testing.B) {
		alloclabtest.Benchmark(b, pool.Wasm, "fragmentation-alternating", alloclabtest.Name("pool"))
	})
	for _, unit := range []string{"instrs/op", "p99-instrs", "pages-grown", "peak-live-bytes", "heap/live", "lost-bytes"} {
		fmt.Printf("%s %v\n", unit, r.Extra[unit])
	}
	// Output:
	// instrs/op 85.52985
	// p99-instrs 87
	// pages-grown 1
	// peak-live-bytes 85196
	// heap/live 1.048
	// lost-bytes 0
}

// Verify returns the fault Check fails a test with: here, a guest that writes
// into a live block.
func ExampleVerify() {
	corrupt, err := os.ReadFile("../harness/testdata/corrupt.wasm")
	if err != nil {
		panic(err)
	}
	fmt.Println(alloclabtest.Verify(corrupt, alloclabtest.Name("corrupt"), alloclabtest.Scenarios("churn")))
	// Output:
	// guest corrupt, scenario churn, op 813: block [0x1c608, 0x1c65d) from op 381 was corrupted at byte 0 (0x1c608): its contents changed while it was live
}
