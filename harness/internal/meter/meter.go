// Package meter rewrites a WebAssembly module so that it counts what it executes,
// exactly, in three exported mutable i64 globals:
//
//   - InstrsExport: instructions executed. Every instruction of the module's own
//     code counts one when it runs: nop, block, loop and if count one each when
//     control reaches them; else counts one when the then-branch falls into it
//     (it jumps to the end); end counts one when control falls through it, and a
//     branch out of a block does not count the block's end. A call counts one in
//     the caller; the callee's instructions count in the callee. Imported (host)
//     functions count nothing inside.
//   - MemOpsExport: loads and stores to linear memory: every instruction with a
//     memory address immediate (loads, stores, SIMD and atomic accesses) counts
//     one.
//   - BulkBytesExport: the bytes memory.copy, memory.fill and memory.init are
//     asked to move (their length operand).
//
// The rewrite is the one paritytech's wasm-instrument and wasmer's metering use:
// the code is cut into straight-line runs, each starting at a function's entry
// or just after block, loop, if, else, end, br, br_if, br_table, return, a call
// or a return call; each run gets a prologue that adds its instruction and
// memory-op counts to the globals. The bulk counter is dynamic: just before a bulk
// instruction, its length is saved in a new local (local.tee) and added.
//
// Nothing else changes, so the metered module behaves as the original: the new
// globals go at the end of the global section and their exports at the end of
// the export section, and the new local (i32, in functions with bulk
// instructions only) at the end of the function's locals, so no index of the
// module shifts; no function is added. The prologues only touch the new globals.
//
// Rewrite decodes every instruction of the MVP, sign extension, saturating
// conversions, bulk memory and table operations, multi-value block types,
// reference types, SIMD, atomics and tail calls. Anything else (exception
// handling, typed function references, GC) is an *Error naming the module and
// the byte offset.
package meter

import (
	"encoding/binary"
	"fmt"

	"github.com/alloclab/alloclab/harness/internal/wasmbin"
)

// The exports of the counters in a metered module.
const (
	InstrsExport    = "alloclab.meter.instrs"
	MemOpsExport    = "alloclab.meter.mem_ops"
	BulkBytesExport = "alloclab.meter.bulk_bytes"
)

// Exports lists the counters' exports in the order of the new globals.
var Exports = []string{InstrsExport, MemOpsExport, BulkBytesExport}

// Error is a module the rewrite cannot meter.
type Error struct {
	Module string
	Offset int // in the module's bytes
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("cannot meter module %s: byte %d: %s", e.Module, e.Offset, e.Msg)
}

// Section ids and their order in a module (custom sections aside).
const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secCode     = 10
)

var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// module is what the rewrite needs to know of a module.
type module struct {
	name       string
	wasm       []byte
	params     []uint32 // parameter count of each type
	funcTypes  []uint32 // type of each defined function
	globals    uint32   // imported and defined
	exportSec  *wasmbin.Section
	globalSec  *wasmbin.Section
	codeSec    *wasmbin.Section
	exportName map[string]int // offset of each export
}

// Rewrite returns a metered copy of wasm; name names the module in errors.
func Rewrite(name string, wasm []byte) ([]byte, error) {
	secs, err := wasmbin.Sections(wasm)
	if err != nil {
		return nil, &Error{Module: name, Offset: 0, Msg: err.Error()}
	}
	m := &module{name: name, wasm: wasm, exportName: map[string]int{}}
	for i := range secs {
		s := &secs[i]
		if s.ID != 0 {
			if _, ok := sectionRank[s.ID]; !ok {
				return nil, m.errf(s.Start, "unknown section id %d", s.ID)
			}
		}
		r := wasmbin.NewReader(wasm[s.Body:s.End], s.Body)
		switch s.ID {
		case secType:
			m.readTypes(r)
		case secImport:
			m.readImports(r)
		case secFunction:
			for n := r.Count(); n > 0 && r.Err() == nil; n-- {
				m.funcTypes = append(m.funcTypes, r.U32())
			}
		case secGlobal:
			m.globalSec = s
			m.globals += r.U32()
		case secExport:
			m.exportSec = s
			m.readExports(r)
		case secCode:
			m.codeSec = s
		}
		if r.Err() != nil {
			return nil, m.errf(r.ErrOffset(), "%v", r.Err())
		}
	}
	for _, e := range Exports {
		if off, ok := m.exportName[e]; ok {
			return nil, m.errf(off, "it already exports %q", e)
		}
	}
	first := m.globals // index of the instruction counter

	var code []byte
	if m.codeSec != nil {
		if code, err = m.rewriteCode(first); err != nil {
			return nil, err
		}
	}

	// The new globals: mutable i64, starting at 0.
	newGlobals := func(dst []byte) []byte {
		for range Exports {
			dst = append(dst, 0x7e, 0x01, 0x42, 0x00, 0x0b)
		}
		return dst
	}
	var globalBody []byte
	if m.globalSec != nil {
		r := wasmbin.NewReader(wasm[m.globalSec.Body:m.globalSec.End], m.globalSec.Body)
		n := r.U32()
		globalBody = binary.AppendUvarint(nil, uint64(n)+uint64(len(Exports)))
		globalBody = append(globalBody, r.Rest()...)
	} else {
		globalBody = binary.AppendUvarint(nil, uint64(len(Exports)))
	}
	globalBody = newGlobals(globalBody)

	newExports := func(dst []byte) []byte {
		for i, e := range Exports {
			dst = binary.AppendUvarint(dst, uint64(len(e)))
			dst = append(dst, e...)
			dst = append(dst, 0x03) // global
			dst = binary.AppendUvarint(dst, uint64(first)+uint64(i))
		}
		return dst
	}
	var exportBody []byte
	if m.exportSec != nil {
		r := wasmbin.NewReader(wasm[m.exportSec.Body:m.exportSec.End], m.exportSec.Body)
		n := r.U32()
		exportBody = binary.AppendUvarint(nil, uint64(n)+uint64(len(Exports)))
		exportBody = append(exportBody, r.Rest()...)
	} else {
		exportBody = binary.AppendUvarint(nil, uint64(len(Exports)))
	}
	exportBody = newExports(exportBody)

	out := append(make([]byte, 0, len(wasm)+len(wasm)/2), wasm[:8]...)
	section := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	// A missing global or export section goes just after the last section that
	// must precede it, so custom sections that followed that one still do.
	after := func(id byte) int {
		at := 0
		for i, s := range secs {
			if s.ID != 0 && sectionRank[s.ID] < sectionRank[id] {
				at = i + 1
			}
		}
		return at
	}
	globalAt, exportAt := -1, -1
	if m.globalSec == nil {
		globalAt = after(secGlobal)
	}
	if m.exportSec == nil {
		exportAt = after(secExport)
	}
	for i := 0; i <= len(secs); i++ {
		if i == globalAt {
			section(secGlobal, globalBody)
		}
		if i == exportAt {
			section(secExport, exportBody)
		}
		if i == len(secs) {
			break
		}
		switch s := secs[i]; s.ID {
		case secGlobal:
			section(secGlobal, globalBody)
		case secExport:
			section(secExport, exportBody)
		case secCode:
			section(secCode, code)
		default:
			out = append(out, wasm[s.Start:s.End]...)
		}
	}
	return out, nil
}

func (m *module) errf(off int, format string, a ...any) *Error {
	return &Error{Module: m.name, Offset: off, Msg: fmt.Sprintf(format, a...)}
}

func (m *module) readTypes(r *wasmbin.Reader) {
	for n := r.Count(); n > 0 && r.Err() == nil; n-- {
		if r.Byte() != 0x60 {
			r.Fail("a type that is not a function type")
			return
		}
		params := r.Count()
		for i := uint64(0); i < params; i++ {
			r.ValType()
		}
		for results := r.Count(); results > 0; results-- {
			r.ValType()
		}
		m.params = append(m.params, uint32(params))
	}
}

func (m *module) readImports(r *wasmbin.Reader) {
	for n := r.Count(); n > 0 && r.Err() == nil; n-- {
		r.Bytes(r.Uvarint()) // module
		r.Bytes(r.Uvarint()) // name
		switch kind := r.Byte(); kind {
		case 0x00: // function
			r.U32()
		case 0x01: // table
			r.RefType()
			limits(r)
		case 0x02: // memory
			limits(r)
		case 0x03: // global
			r.ValType()
			r.Byte()
			m.globals++
		case 0x04: // tag
			r.Byte()
			r.U32()
		default:
			r.Fail(fmt.Sprintf("unknown import kind %#x", kind))
		}
	}
}

func (m *module) readExports(r *wasmbin.Reader) {
	for n := r.Count(); n > 0 && r.Err() == nil; n-- {
		off := r.Offset()
		name := r.Bytes(r.Uvarint())
		r.Byte()
		r.U32()
		m.exportName[string(name)] = off
	}
}

func limits(r *wasmbin.Reader) {
	flags := r.Byte()
	if flags > 7 {
		r.Fail(fmt.Sprintf("unknown limits flags %#x", flags))
	}
	r.Uvarint()
	if flags&1 != 0 {
		r.Uvarint()
	}
}

// rewriteCode returns the new code section body; the counters are globals
// first, first+1 and first+2.
func (m *module) rewriteCode(first uint32) ([]byte, error) {
	s := m.codeSec
	r := wasmbin.NewReader(m.wasm[s.Body:s.End], s.Body)
	n := r.Count()
	if r.Err() == nil && n != uint64(len(m.funcTypes)) {
		return nil, m.errf(s.Body, "%d function bodies for %d functions", n, len(m.funcTypes))
	}
	out := binary.AppendUvarint(nil, n)
	f := &fnWriter{instrs: first, memOps: first + 1, bulk: first + 2}
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		size := r.Uvarint()
		start := r.Offset()
		body := r.Bytes(size)
		if r.Err() != nil {
			break
		}
		t := m.funcTypes[i]
		if uint64(t) >= uint64(len(m.params)) {
			return nil, m.errf(start, "function %d has unknown type %d", i, t)
		}
		nb, err := f.body(body, start, m.params[t])
		if err != nil {
			return nil, &Error{Module: m.name, Offset: err.off, Msg: err.msg}
		}
		out = binary.AppendUvarint(out, uint64(len(nb)))
		out = append(out, nb...)
	}
	if r.Err() != nil {
		return nil, m.errf(r.ErrOffset(), "code section: %v", r.Err())
	}
	if r.More() {
		return nil, m.errf(r.Offset(), "code section: bytes after the last function body")
	}
	return out, nil
}

type codeError struct {
	off int
	msg string
}

// fnWriter rewrites function bodies.
type fnWriter struct {
	instrs, memOps, bulk uint32 // global indices
	run                  []byte // the current run's instructions, prologue pending
	count, mem           int64  // the current run's instructions and memory ops
	out                  []byte
	usesTmp              bool
}

// body rewrites one function body, which starts at byte base of the module, of a
// function with params parameters.
func (f *fnWriter) body(body []byte, base int, params uint32) ([]byte, *codeError) {
	r := wasmbin.NewReader(body, base)
	decls := r.Count()
	declsFrom := r.Offset() - base
	locals := uint64(params)
	for d := decls; d > 0 && r.Err() == nil; d-- {
		locals += r.Uvarint()
		r.ValType()
	}
	if r.Err() != nil {
		return nil, &codeError{r.ErrOffset(), r.Err().Error()}
	}
	if locals > wasmbin.MaxLocals {
		return nil, &codeError{base, fmt.Sprintf("more than %d locals", wasmbin.MaxLocals)}
	}
	declsTo := r.Offset() - base
	// The new local goes after the others, so it is numbered after them.
	tmp := uint32(locals)
	f.out, f.run, f.usesTmp = f.out[:0], f.run[:0], false
	if err := f.code(r, tmp); err != nil {
		return nil, err
	}
	var nb []byte
	if f.usesTmp {
		nb = binary.AppendUvarint(nb, decls+1)
		nb = append(nb, body[declsFrom:declsTo]...)
		nb = append(nb, 0x01, 0x7f) // one i32
	} else {
		nb = append(nb, body[:declsTo]...)
	}
	return append(nb, f.out...), nil
}
