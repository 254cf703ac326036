package meter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

// FuzzRewrite: the rewrite never panics; what it cannot meter is an *Error; and
// for a module wazero accepts, it meters it into a module wazero accepts.
func FuzzRewrite(f *testing.F) {
	for _, g := range append(guests.All, guests.Floor) {
		f.Add(g.Wasm)
	}
	for _, p := range []string{"testdata/counts.wasm", "testdata/features.wasm", "../../testdata/minimal.wasm"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(allFeatures))
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := Rewrite("fuzz", wasm)
		var me *Error
		if err != nil && !errors.As(err, &me) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		// wazero itself may take seconds and gigabytes over a few hostile bytes,
		// or panic: the lab's precheck stands before it, as before every guest.
		if wasmbin.Precheck(wasm) != nil {
			return
		}
		if compile(ctx, rt, wasm) != nil {
			return // not a valid module: an error or anything
		}
		if err != nil {
			// Valid modules meter, unless they hold more locals than the lab allows or
			// export the counters' names already.
			if !strings.Contains(err.Error(), "locals") && !strings.Contains(err.Error(), "already exports") {
				t.Fatalf("valid module not metered: %v", err)
			}
			return
		}
		if err := compile(ctx, rt, out); err != nil {
			t.Fatalf("metered module of a valid one is invalid: %v", err)
		}
	})
}

// compile reports whether wazero accepts wasm, turning its panics into errors.
func compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wazero panicked: %v", r)
		}
	}()
	cm, err := rt.CompileModule(ctx, wasm)
	if err == nil {
		cm.Close(ctx)
	}
	return err
}
