package boundary

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
)

// growable instantiates testdata/growable.wasm (memory of 1 page, max 16) on a
// plain wazero runtime with rc, with no allocator hook of the lab's.
func growable(t testing.TB, rc wazero.RuntimeConfig) (api.Memory, func(pages uint32)) {
	t.Helper()
	ctx := context.Background()
	wasm, err := os.ReadFile("testdata/growable.wasm")
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	grow := mod.ExportedFunction("grow")
	return mod.ExportedMemory("memory"), func(pages uint32) {
		t.Helper()
		res, err := grow.Call(ctx, uint64(pages))
		if err != nil || int32(res[0]) == -1 {
			t.Fatalf("memory.grow(%d): %v %v", pages, res, err)
		}
	}
}

// TestStaleViewPlainWazero shows, on wazero itself, that a slice Memory.Read
// returned before a memory.grow (run by the guest) is stale afterwards under the
// default runtime config and not with WithMemoryCapacityFromMax on a module
// with a declared maximum, and that View tells the two apart.
func TestStaleViewPlainWazero(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rc    wazero.RuntimeConfig
		stale bool
	}{
		{"default", wazero.NewRuntimeConfig(), true},
		{"capacity-from-max", wazero.NewRuntimeConfig().WithMemoryCapacityFromMax(true), false},
		{"interpreter-default", wazero.NewRuntimeConfigInterpreter(), true},
		{"interpreter-capacity-from-max", wazero.NewRuntimeConfigInterpreter().WithMemoryCapacityFromMax(true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, grow := growable(t, tc.rc)
			raw, ok := mem.Read(100, 64)
			if !ok {
				t.Fatal("Read failed")
			}
			v, err := NewView(mem, 100, 64)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Bytes(); err != nil {
				t.Fatalf("fresh view refused: %v", err)
			}
			grow(1)
			if got := mem.Size(); got != 2*harness.PageSize {
				t.Fatalf("memory is %d bytes after the grow, want 2 pages", got)
			}

			for i := range raw {
				raw[i] = 0xA5
			}
			now, _ := mem.Read(100, 64)
			seen := now[0] == 0xA5 && now[63] == 0xA5
			if seen == tc.stale {
				t.Errorf("write through a slice taken before memory.grow seen by the guest: %v, want %v", seen, !tc.stale)
			}
			if SameBuffer(now, raw) == tc.stale {
				t.Errorf("SameBuffer = %v, want %v", !tc.stale, !tc.stale)
			}

			_, err = v.Bytes()
			if got := errors.Is(err, ErrStale); got != tc.stale {
				t.Fatalf("View.Bytes after grow: %v; want stale %v", err, tc.stale)
			}
			if v.Stale() != tc.stale {
				t.Errorf("Stale() = %v", v.Stale())
			}
			// Re-slicing always sees the guest's memory.
			b, err := v.Fresh()
			if err != nil {
				t.Fatal(err)
			}
			b[0] = 0x5A
			if now, _ := mem.Read(100, 1); now[0] != 0x5A {
				t.Errorf("write through a refreshed view not seen")
			}
			if _, err := v.Bytes(); err != nil {
				t.Errorf("refreshed view refused: %v", err)
			}
		})
	}
}

// TestViewGuardArguments checks NewView refuses an empty or out-of-range view.
func TestViewGuardArguments(t *testing.T) {
	mem, _ := growable(t, wazero.NewRuntimeConfig())
	if _, err := NewView(mem, 0, 0); err == nil {
		t.Error("empty view accepted")
	}
	if _, err := NewView(mem, harness.PageSize-8, 16); err == nil {
		t.Error("view past the end of memory accepted")
	}
	if _, err := NewView(mem, harness.PageSize-16, 16); err != nil {
		t.Errorf("view of the last 16 bytes refused: %v", err)
	}
}

// TestStaleViewLabPolicies runs view-across-grow on every lab guest under each of
// the lab's memory policies: under the default policy every view is stale after
// the grow and every byte written through it is lost; under capacity-from-max
// and mmap none is.
func TestStaleViewLabPolicies(t *testing.T) {
	ctx := context.Background()
	lab := labtest.Lab(t)
	var total uint64
	for _, s := range Sizes {
		total += uint64(s)
	}
	for _, bg := range guests.All {
		g := labtest.Guest(t, bg.Name)
		for _, policy := range StaleViewPolicies {
			t.Run(bg.Name+"/"+string(policy), func(t *testing.T) {
				inst, err := lab.Instantiate(ctx, g, harness.Config{Policy: policy, MemoryLimitPages: StaleViewLimitPages})
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close(ctx)
				r, err := RunViewAcrossGrow(ctx, NewChecker(inst), Sizes)
				if err != nil {
					t.Fatal(err)
				}
				want := StaleRun{Trials: len(Sizes), Grows: len(Sizes)}
				if policy == harness.PolicyDefault {
					want.Stale, want.Refused, want.LostWriteBytes = len(Sizes), len(Sizes), total
				}
				if *r != want {
					t.Errorf("got %+v, want %+v", *r, want)
				}
			})
		}
	}
}

// BenchmarkViewBytes is the guard's price: one Memory.Read and a comparison.
func BenchmarkViewBytes(b *testing.B) {
	mem, _ := growable(b, wazero.NewRuntimeConfig())
	v, err := NewView(mem, 64, 4096)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := v.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
