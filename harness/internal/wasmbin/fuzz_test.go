package wasmbin

import (
	"os"
	"testing"
)

// FuzzSetLimits: arbitrary bytes and limits never panic, and a rewrite that
// succeeds reads back as written.
func FuzzSetLimits(f *testing.F) {
	wasm, err := os.ReadFile("../../testdata/minimal.wasm")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wasm, uint32(3), uint32(10))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x01"), uint32(0), uint32(1))
	f.Fuzz(func(t *testing.T, wasm []byte, minPages, maxPages uint32) {
		out, err := SetLimits(wasm, minPages%70000, maxPages%70000)
		if err != nil {
			return
		}
		lim, err := MemoryLimits(out)
		if err != nil {
			t.Fatalf("rewrote into something unreadable: %v", err)
		}
		if minPages%70000 != 0 && lim.Min != minPages%70000 {
			t.Fatalf("min %d, want %d", lim.Min, minPages%70000)
		}
	})
}
