package wasmbin

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestSetLimits(t *testing.T) {
	wasm, err := os.ReadFile("../../testdata/minimal.wasm") // memory 1, no max
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		min, max uint32
		want     Limits
		err      string
	}{
		{0, 0, Limits{Min: 1}, ""},
		{300, 0, Limits{Min: 300}, ""},
		{0, 256, Limits{Min: 1, Max: 256, HasMax: true}, ""},
		{200, 65535, Limits{Min: 200, Max: 65535, HasMax: true}, ""},
		{300, 256, Limits{}, "initial memory of 300 pages is above the limit of 256 pages"},
	}
	for _, tc := range tests {
		out, err := SetLimits(wasm, tc.min, tc.max)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("SetLimits(%d, %d): error %v, want %q", tc.min, tc.max, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := MemoryLimits(out)
		if err != nil || got != tc.want {
			t.Errorf("SetLimits(%d, %d): limits %+v (%v), want %+v", tc.min, tc.max, got, err, tc.want)
		}
		// Lowering a declared maximum again keeps the lower one.
		if again, _ := SetLimits(out, 0, 65535); tc.want.HasMax {
			if l, _ := MemoryLimits(again); l.Max != tc.want.Max {
				t.Errorf("re-limiting raised max to %d", l.Max)
			}
		}
	}
}

// TestPrecheck refuses a module that claims more entries than it has bytes, before
// the decoder sizes tables by the claim.
func TestPrecheck(t *testing.T) {
	for _, tc := range []struct{ wasm, err string }{
		{"\x07\x06\xff\xff\xff\xff\x0f\x00", "export section at byte 8 declares 4294967295 entries in 6 bytes"},
		// a function type with 2^28 parameters
		{"\x01\x07\x01\x60\x80\x80\x80\x80\x01", "type section at byte 8: declares 268435456 entries in 0 bytes"},
		// a name section whose local names declare 2^28 locals for a function
		{"\x00\x0e\x04name\x02\x07\x01\x00\x80\x80\x80\x80\x01", "custom section at byte 8: name subsection 2: declares 268435456 entries in 0 bytes"},
		// a function declaring 2^28 i32 locals
		{"\x0a\x09\x01\x07\x01\x80\x80\x80\x80\x01\x7f", "code section at byte 8: a function declares more than 50000 locals"},
		// 21 functions declaring 50000 i32 locals each
		{"\x0a\x94\x01\x15" + strings.Repeat("\x06\x01\xd0\x86\x03\x7f\x0b", 21), "code section at byte 8: the functions declare more than 1000000 locals in all"},
	} {
		if err := Precheck([]byte("\x00asm\x01\x00\x00\x00" + tc.wasm)); err == nil || err.Error() != tc.err {
			t.Errorf("got %v, want %q", err, tc.err)
		}
	}
	wasm, err := os.ReadFile("../../testdata/minimal.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := Precheck(wasm); err != nil {
		t.Errorf("a valid module: %v", err)
	}
}

func TestBadModules(t *testing.T) {
	for _, tc := range []struct{ name, wasm, err string }{
		{"empty", "", "bad magic"},
		{"elf", "\x7fELF\x02\x01\x01\x00", "bad magic"},
		{"version", "\x00asm\x02\x00\x00\x00", "unsupported WebAssembly version"},
		{"truncated section", "\x00asm\x01\x00\x00\x00\x05\x10\x01", "truncated section"},
		{"no memory", "\x00asm\x01\x00\x00\x00", "defines no memory"},
	} {
		_, err := MemoryLimits([]byte(tc.wasm))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestVarint: signed LEB128 values read back as written, at the edges of each
// width, and a value too long for its width is an error.
func TestVarint(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1<<31 - 1, -1 << 31, 1<<32 - 1, 1<<63 - 1, -1 << 63} {
		b := AppendVarint(nil, v)
		r := NewReader(b, 0)
		if got := r.Varint(64); got != v || r.Err() != nil || r.More() {
			t.Errorf("Varint(AppendVarint(%d) = % x) = %d, %v", v, b, got, r.Err())
		}
	}
	r := NewReader([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 10)
	if r.Varint(32); r.Err() == nil || r.ErrOffset() != 15 {
		t.Errorf("six-byte s32: error %v at %d, want one at 15", r.Err(), r.ErrOffset())
	}
}

// TestValType pins the value types the reader takes, as wazero v1.12 decodes
// them: the meter once refused exnref, which wazero accepts in a function type.
func TestValType(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		err  string
	}{
		{"i32", []byte{0x7f}, ""},
		{"v128", []byte{0x7b}, ""},
		{"externref", []byte{0x6f}, ""},
		{"exnref", []byte{0x69}, ""},
		{"ref null func", []byte{0x63, 0x70}, ""},
		{"ref type 3", []byte{0x64, 0x03}, ""},
		{"unknown", []byte{0x6a}, "unsupported value type 0x6a"},
		{"unknown heap type", []byte{0x63, 0x6a}, "unsupported heap type -22"},
		{"truncated ref", []byte{0x64}, "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.b, 0)
			r.ValType()
			if got := fmt.Sprint(r.Err()); tc.err == "" && r.Err() != nil || tc.err != "" && !strings.Contains(got, tc.err) {
				t.Errorf("ValType(% x): error %v, want %q", tc.b, r.Err(), tc.err)
			}
			if tc.err == "" && r.More() {
				t.Errorf("ValType(% x) left %d bytes", tc.b, len(r.Rest()))
			}
		})
	}
}
