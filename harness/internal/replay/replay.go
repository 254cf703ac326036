// Package replay holds the WebAssembly driver that replays a trace inside wazero,
// the shims that give it realloc and reset for any guest and the metered guest's
// counters, and the trace encoding the driver reads.
package replay

import (
	_ "embed"
	"encoding/binary"
	"math/bits"

	"github.com/alloclab/alloclab/trace"
)

// Driver replays ops by calling the guest's exports directly; see driver.wat.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names driver.wat
//
//go:embed driver.wasm
var Driver []byte

// ReallocReexport is the "abi.realloc" shim for a guest with realloc.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names realloc_reexport.wat
//
//go:embed realloc_reexport.wasm
var ReallocReexport []byte

// ReallocEmulated is the "abi.realloc" shim for a guest without realloc: alloc,
// copy, free.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names realloc_emulated.wat
//
//go:embed realloc_emulated.wasm
var ReallocEmulated []byte

// ResetReexport is the "abi.reset" shim for a guest with reset.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names reset_reexport.wat
//
//go:embed reset_reexport.wasm
var ResetReexport []byte

// ResetAbsent is the "abi.reset" shim for a guest without reset; it traps.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names reset_absent.wat
//
//go:embed reset_absent.wasm
var ResetAbsent []byte

// MeterAbsent is the "meter" module for a guest that is not metered: counters
// that stay 0.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names meter_absent.wat
//
//go:embed meter_absent.wasm
var MeterAbsent []byte

// MeterReexport is the "meter" module for a metered guest instantiated as "guest".
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names meter_reexport.wat
//
//go:embed meter_reexport.wasm
var MeterReexport []byte

// MeterReexportRaw is the "meter" module for a metered guest instantiated as
// "guest.raw", behind an adapter.
//
// Rebuild: cd harness/internal/replay && wat2wasm --debug-names meter_reexport_raw.wat
//
//go:embed meter_reexport_raw.wasm
var MeterReexportRaw []byte

// CountBytes is the size of one op's counts, as the driver writes them: the
// instructions, memory ops and bulk bytes, each a little-endian i64.
const CountBytes = 24

// OpBytes is the size of one encoded op.
const OpBytes = 16

// Encode appends the driver's encoding of ops to dst (see driver.wat).
func Encode(dst []byte, ops []trace.Op) []byte {
	for _, op := range ops {
		var rec [OpBytes]byte
		rec[0] = byte(op.Kind)
		if op.Align > 0 {
			rec[1] = byte(bits.TrailingZeros32(op.Align))
		}
		binary.LittleEndian.PutUint32(rec[4:], op.Slot)
		binary.LittleEndian.PutUint32(rec[8:], op.Size)
		binary.LittleEndian.PutUint32(rec[12:], op.OldSize)
		dst = append(dst, rec[:]...)
	}
	return dst
}
