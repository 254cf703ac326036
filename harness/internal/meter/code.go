package meter

import (
	"encoding/binary"
	"fmt"

	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

// Opcodes the rewrite emits.
const (
	opLocalGet  = 0x20
	opLocalTee  = 0x22
	opGlobalGet = 0x23
	opGlobalSet = 0x24
	opI64Const  = 0x42
	opI64Add    = 0x7c
	opI64ExtU   = 0xad // i64.extend_i32_u
)

// unsupported names the proposals whose opcodes the rewrite refuses.
var unsupported = map[byte]string{
	0x06: "exception handling", 0x07: "exception handling", 0x08: "exception handling",
	0x09: "exception handling", 0x0a: "exception handling", 0x18: "exception handling",
	0x19: "exception handling", 0x1f: "exception handling",
	0x14: "typed function references", 0x15: "typed function references",
	0xd3: "typed function references", 0xd4: "typed function references",
	0xd5: "typed function references", 0xd6: "typed function references",
	0xfb: "garbage collection",
}

// code rewrites the instructions of a function body, up to its final end, into
// f.out; tmp is the index of the local a bulk instruction's length goes through.
func (f *fnWriter) code(r *wasmbin.Reader, tmp uint32) *codeError {
	depth := 1
	for {
		if !r.More() {
			return &codeError{r.Offset(), "function body ends before its final end"}
		}
		start, rest := r.Offset(), r.Rest()
		op := r.Byte()
		boundary, mem, bulk := false, false, false
		switch {
		case op == 0x00 || op == 0x01: // unreachable, nop
		case op >= 0x02 && op <= 0x04: // block, loop, if
			blockType(r)
			depth++
			boundary = true
		case op == 0x05: // else
			boundary = true
		case op == 0x0b: // end
			depth--
			boundary = true
		case op == 0x0c || op == 0x0d: // br, br_if
			r.U32()
			boundary = true
		case op == 0x0e: // br_table
			for n := r.Count(); n > 0 && r.Err() == nil; n-- {
				r.U32()
			}
			r.U32()
			boundary = true
		case op == 0x0f: // return
			boundary = true
		case op == 0x10 || op == 0x12: // call, return_call
			r.U32()
			boundary = true
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.U32()
			r.U32()
			boundary = true
		case op == 0x1a || op == 0x1b: // drop, select
		case op == 0x1c: // select t*
			for n := r.Count(); n > 0 && r.Err() == nil; n-- {
				r.ValType()
			}
		case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get, table.set
			r.U32()
		case op >= 0x28 && op <= 0x3e: // loads and stores
			memarg(r)
			mem = true
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			r.U32()
		case op == 0x41:
			r.Varint(32)
		case op == 0x42:
			r.Varint(64)
		case op == 0x43:
			r.Bytes(4)
		case op == 0x44:
			r.Bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, sign extension
		case op == 0xd0: // ref.null
			r.HeapType()
		case op == 0xd1: // ref.is_null
		case op == 0xd2: // ref.func
			r.U32()
		case op == 0xfc:
			bulk = misc(r)
		case op == 0xfd:
			mem = simd(r)
		case op == 0xfe:
			mem = atomic(r)
		default:
			if p, ok := unsupported[op]; ok {
				return &codeError{start, fmt.Sprintf("unsupported opcode %#02x (%s)", op, p)}
			}
			return &codeError{start, fmt.Sprintf("unknown opcode %#02x", op)}
		}
		if r.Err() != nil {
			return &codeError{start, fmt.Sprintf("opcode %#02x: %v", op, r.Err())}
		}
		if bulk {
			// The length is on top of the stack: add it to the counter and keep it.
			f.run = append(f.run, opLocalTee)
			f.run = appendU32(f.run, tmp)
			f.run = append(f.run, opGlobalGet)
			f.run = appendU32(f.run, f.bulk)
			f.run = append(f.run, opLocalGet)
			f.run = appendU32(f.run, tmp)
			f.run = append(f.run, opI64ExtU, opI64Add, opGlobalSet)
			f.run = appendU32(f.run, f.bulk)
			f.usesTmp = true
		}
		f.run = append(f.run, rest[:r.Offset()-start]...)
		f.count++
		if mem {
			f.mem++
		}
		if boundary {
			f.flush()
		}
		if depth == 0 {
			if r.More() {
				return &codeError{r.Offset(), "bytes after the function's final end"}
			}
			return nil
		}
	}
}

// flush writes the current run behind its prologue.
func (f *fnWriter) flush() {
	add := func(global uint32, n int64) {
		if n == 0 {
			return
		}
		f.out = append(f.out, opGlobalGet)
		f.out = appendU32(f.out, global)
		f.out = append(f.out, opI64Const)
		f.out = wasmbin.AppendVarint(f.out, n)
		f.out = append(f.out, opI64Add, opGlobalSet)
		f.out = appendU32(f.out, global)
	}
	add(f.instrs, f.count)
	add(f.memOps, f.mem)
	f.out = append(f.out, f.run...)
	f.run, f.count, f.mem = f.run[:0], 0, 0
}

func appendU32(dst []byte, v uint32) []byte { return binary.AppendUvarint(dst, uint64(v)) }

// blockType reads a block type: empty, a value type or a type index (s33).
func blockType(r *wasmbin.Reader) {
	switch v := r.Varint(33); {
	case v >= 0:
	case v == -64: // 0x40: empty
	case v >= -5 || v == -16 || v == -17 || v == -23: // i32 i64 f32 f64 v128, funcref, externref, exnref
	case v == -29 || v == -28: // (ref null ht), (ref ht)
		r.HeapType()
	default:
		if r.Err() == nil {
			r.Fail(fmt.Sprintf("unsupported block type %d", v))
		}
	}
}

// memarg reads a memory argument: alignment (with a memory index when bit 6 is
// set, as multiple memories encode it) and offset.
func memarg(r *wasmbin.Reader) {
	if align := r.U32(); align&0x40 != 0 {
		r.U32()
	}
	r.Uvarint()
}

// misc reads a 0xFC instruction and reports whether it moves bytes in bulk.
func misc(r *wasmbin.Reader) (bulk bool) {
	switch sub := r.U32(); {
	case sub <= 7: // saturating conversions
	case sub == 8: // memory.init data memory
		r.U32()
		r.U32()
		return true
	case sub == 9 || sub == 13: // data.drop, elem.drop
		r.U32()
	case sub == 10: // memory.copy dst src
		r.U32()
		r.U32()
		return true
	case sub == 11: // memory.fill
		r.U32()
		return true
	case sub == 12 || sub == 14: // table.init, table.copy
		r.U32()
		r.U32()
	case sub >= 15 && sub <= 17: // table.grow, table.size, table.fill
		r.U32()
	default:
		if r.Err() == nil {
			r.Fail(fmt.Sprintf("unknown sub-opcode %d", sub))
		}
	}
	return false
}

// simd reads a 0xFD instruction and reports whether it accesses memory.
func simd(r *wasmbin.Reader) (mem bool) {
	switch sub := r.U32(); {
	case sub <= 11: // v128.load*, v128.store
		memarg(r)
		return true
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.Bytes(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		r.Byte()
	case sub >= 84 && sub <= 91: // v128.load*_lane, v128.store*_lane
		memarg(r)
		r.Byte()
		return true
	case sub == 92 || sub == 93: // v128.load32_zero, v128.load64_zero
		memarg(r)
		return true
	case sub <= 0xff:
	default:
		if r.Err() == nil {
			r.Fail(fmt.Sprintf("unknown sub-opcode %d", sub))
		}
	}
	return false
}

// atomic reads a 0xFE instruction and reports whether it accesses memory: all
// but atomic.fence do.
func atomic(r *wasmbin.Reader) (mem bool) {
	switch sub := r.U32(); {
	case sub <= 2 || (sub >= 0x10 && sub <= 0x4e): // notify, wait, loads, stores, rmw
		memarg(r)
		return true
	case sub == 3: // atomic.fence
		r.Byte()
	default:
		if r.Err() == nil {
			r.Fail(fmt.Sprintf("unknown sub-opcode %d", sub))
		}
	}
	return false
}
