package baselines

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/scenarios"
)

// names lists every baseline build.sh knows, each built into out/NAME.wasm.
var names = []string{"dlmalloc", "rust-std", "tlsf", "as-stub", "emmalloc", "go-runtime"}

// TestBaselines runs each built baseline through the checker on the churn
// scenario in both modes: no fault, and the peak of live bytes the trace says.
func TestBaselines(t *testing.T) {
	s, err := scenarios.Lookup("churn")
	if err != nil {
		t.Fatal(err)
	}
	trace := s.Trace(true)
	want := trace.Stats().PeakLiveBytes
	lab := harness.NewLab()
	t.Cleanup(func() { lab.Close(context.Background()) })

	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("out", name+".wasm")
			wasm, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s is not built: run guests/baselines/build.sh %s", path, name)
			}
			if err != nil {
				t.Fatal(err)
			}
			g, err := harness.NewGuest(name, wasm)
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []harness.Mode{harness.Replay, harness.Host} {
				t.Run(string(mode), func(t *testing.T) {
					e, err := lab.MeasureExact(context.Background(), g, s.Name, trace, harness.Config{Mode: mode}, 0)
					if err != nil {
						t.Fatal(err)
					}
					if e.PeakLiveBytes != want {
						t.Errorf("peak live bytes %d, want %d from the trace", e.PeakLiveBytes, want)
					}
					t.Logf("%d bytes of wasm, %d pages at the end, heap/live %.3f", e.WasmBytes, e.PeakPages, e.Fragmentation())
				})
			}
		})
	}
}
