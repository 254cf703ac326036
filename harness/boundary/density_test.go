package boundary

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/results"
)

// TestDensity runs the density lines of bump, short (16 instances), and checks
// there is one per policy with host-bytes/instance and instances/GiB, and that
// an instance costs the host at least half the bytes the workload wrote: bump
// lays the blocks back to back and never reuses them, so every written page stays
// resident (half: the Go heap around them moves too).
func TestDensity(t *testing.T) {
	r := NewRunner(labtest.Lab(t), harness.Compiler, true, 0)
	var lines []*Result
	err := r.Run(context.Background(), ScenarioDensity, labtest.Guest(t, "bump"), false, func(res *Result) error {
		lines = append(lines, res)
		return nil
	})
	if runtime.GOOS != "linux" {
		if !errors.Is(err, ErrDensityUnsupported) {
			t.Fatalf("got %v, want ErrDensityUnsupported", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(DensityPolicies) {
		t.Fatalf("%d lines, want one per policy (%d)", len(lines), len(DensityPolicies))
	}
	written := densityWritten()
	for i, res := range lines {
		want := "Boundary/scenario=density/policy=" + string(DensityPolicies[i]) + "/guest=bump"
		if res.Name() != want {
			t.Errorf("line %d is %s, want %s", i, res.Name(), want)
		}
		if res.Iters != DensityBudgetFor(true).Instances {
			t.Errorf("%s: %d instances, want %d (%s)", want, res.Iters, DensityBudgetFor(true).Instances, res.Note)
		}
		per, ok := res.Value(results.UnitHostBytesInstance)
		if !ok || per < float64(written)/2 {
			t.Errorf("%s: %v host-bytes/instance (reported: %v), want at least half the %d bytes written", want, per, ok, written)
		}
		if n, ok := res.Value(results.UnitInstancesGiB); !ok || math.Abs(n-float64(1<<30)/per) > n/1000 {
			t.Errorf("%s: %v instances/GiB, want 1 GiB over %v", want, n, per)
		}
	}
}

// densityWritten is the bytes DensityWorkload writes, from the same sizes.
func densityWritten() uint64 {
	r := rand.New(rand.NewPCG(17, 0))
	var n uint64
	for range densityBlocks {
		n += uint64(densitySize(r))
	}
	return n
}
