// Package wasmbin reads and rewrites the few parts of a WebAssembly binary the
// harness needs before it compiles a guest: the limits of its memory
// (MemoryLimits, SetLimits); a walk of the section headers that refuses modules
// which would cost wazero seconds and gigabytes to reject (Precheck); and the
// tree's one LEB128 and section reader (Reader, Sections), which the metering
// rewrite builds on.
//
// See https://webassembly.github.io/spec/core/binary/modules.html
package wasmbin

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var header = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

const memorySection = 5

// Limits are a memory's page limits; HasMax says whether Max is declared.
type Limits struct {
	Min, Max uint32
	HasMax   bool
}

// MemoryLimits returns the limits of the module's own (not imported) memory.
func MemoryLimits(wasm []byte) (Limits, error) {
	_, lim, _, err := findMemory(wasm)
	return lim, err
}

// SetLimits returns a copy of wasm whose memory starts with minPages pages (0 keeps
// the module's own) and may grow to at most maxPages (0 keeps the module's own
// maximum; a declared maximum below maxPages is kept).
func SetLimits(wasm []byte, minPages, maxPages uint32) ([]byte, error) {
	sec, lim, limStart, err := findMemory(wasm)
	if err != nil {
		return nil, err
	}
	if minPages != 0 {
		lim.Min = minPages
	}
	if maxPages != 0 && (!lim.HasMax || lim.Max > maxPages) {
		lim.Max, lim.HasMax = maxPages, true
	}
	if lim.HasMax && lim.Min > lim.Max {
		return nil, fmt.Errorf("initial memory of %d pages is above the limit of %d pages", lim.Min, lim.Max)
	}
	var body []byte
	body = append(body, wasm[sec.start:limStart]...) // section body up to the limits
	if lim.HasMax {
		body = append(body, 1)
		body = binary.AppendUvarint(body, uint64(lim.Min))
		body = binary.AppendUvarint(body, uint64(lim.Max))
	} else {
		body = append(body, 0)
		body = binary.AppendUvarint(body, uint64(lim.Min))
	}
	body = append(body, wasm[sec.limEnd:sec.end]...)
	out := append([]byte(nil), wasm[:sec.idStart+1]...)
	out = binary.AppendUvarint(out, uint64(len(body)))
	out = append(out, body...)
	return append(out, wasm[sec.end:]...), nil
}

type section struct {
	idStart, start, end int // offsets: id byte, body start, body end
	limEnd              int // memory section: end of the first memory's limits
}

// findMemory locates the memory section and decodes its first memory's limits.
func findMemory(wasm []byte) (sec section, lim Limits, limStart int, err error) {
	secs, err := Sections(wasm)
	if err != nil {
		return sec, lim, 0, err
	}
	for _, s := range secs {
		if s.ID != memorySection {
			continue
		}
		start, end := s.Body, s.End
		sec = section{idStart: s.Start, start: start, end: end}
		count, n := binary.Uvarint(wasm[start:end])
		if n <= 0 || count == 0 {
			return sec, lim, 0, errors.New("memory section declares no memory")
		}
		limStart = start + n
		p := limStart
		if p >= end {
			return sec, lim, 0, errors.New("truncated memory limits")
		}
		flags := wasm[p]
		p++
		if flags&^1 != 0 {
			return sec, lim, 0, fmt.Errorf("unsupported memory flags %#x (shared or 64-bit memory)", flags)
		}
		v, n := binary.Uvarint(wasm[p:end])
		if n <= 0 || v > 1<<16 {
			return sec, lim, 0, errors.New("bad memory minimum")
		}
		lim.Min, p = uint32(v), p+n
		if flags&1 != 0 {
			v, n := binary.Uvarint(wasm[p:end])
			if n <= 0 || v > 1<<16 {
				return sec, lim, 0, errors.New("bad memory maximum")
			}
			lim.Max, lim.HasMax, p = uint32(v), true, p+n
		}
		sec.limEnd = p
		return sec, lim, limStart, nil
	}
	return sec, lim, 0, errors.New("module defines no memory of its own (an imported memory is not supported)")
}

// vectorSections are the sections whose body starts with a count of entries.
var vectorSections = map[byte]string{
	1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
	7: "export", 9: "element", 10: "code", 11: "data",
}

// Precheck walks the sections of wasm and refuses a module whose sections run
// past its end or declare more entries than their bytes can hold. wazero v1.12.0
// sizes its tables by the declared count before reading the entries, so a few
// bytes claiming millions of exports cost seconds and gigabytes before the
// decoder fails; this check costs a pass over the section headers.
func Precheck(wasm []byte) error {
	secs, err := Sections(wasm)
	if err != nil {
		return err
	}
	for _, s := range secs {
		id, off, start, end := s.ID, s.Start, s.Body, s.End
		if name, ok := vectorSections[id]; ok {
			count, n := binary.Uvarint(wasm[start:end])
			if n <= 0 || count > uint64(end-start-n) {
				return fmt.Errorf("%s section at byte %d declares %d entries in %d bytes", name, off, count, end-start)
			}
		}
		if id == 1 {
			if err := precheckTypes(wasm[start:end]); err != nil {
				return fmt.Errorf("type section at byte %d: %w", off, err)
			}
		}
		if id == 10 {
			if err := precheckCode(wasm[start:end]); err != nil {
				return fmt.Errorf("code section at byte %d: %w", off, err)
			}
		}
		if id == 0 {
			if err := precheckCustom(wasm[start:end]); err != nil {
				return fmt.Errorf("custom section at byte %d: %w", off, err)
			}
		}
	}
	return nil
}

// precheckCustom checks the counts in a "name" section, which wazero decodes
// (sizing its maps by them) even though names are only for debugging.
func precheckCustom(body []byte) error {
	c := NewReader(body, 0)
	nameLen := c.Uvarint()
	name := c.Bytes(nameLen)
	if c.Err() != nil || string(name) != "name" {
		return c.Err() // another custom section: wazero skips it
	}
	for c.More() && c.Err() == nil {
		id := c.Byte()
		sub := NewReader(c.Bytes(c.Uvarint()), 0)
		switch id {
		case 1: // function names: a name map
			nameMap(sub)
		case 2: // local names: an indirect name map
			for n := sub.Count(); n > 0 && sub.Err() == nil; n-- {
				sub.Uvarint() // function index
				nameMap(sub)
			}
		}
		if sub.Err() != nil {
			return fmt.Errorf("name subsection %d: %w", id, sub.Err())
		}
	}
	return c.Err()
}

// precheckTypes checks each function type's parameter and result counts, which
// wazero sizes its slices by.
func precheckTypes(body []byte) error {
	c := NewReader(body, 0)
	for n := c.Count(); n > 0 && c.Err() == nil; n-- {
		if c.Byte() != 0x60 {
			c.Fail("a type that is not a function type")
		}
		for i := 0; i < 2; i++ { // parameters, then results
			for m := c.Count(); m > 0 && c.Err() == nil; m-- {
				c.ValType()
			}
		}
	}
	return c.Err()
}

// MaxLocals is the most locals a function may declare, V8's limit: wazero
// accepts hundreds of millions, and compiling them costs seconds and gigabytes.
const MaxLocals = 50000

// MaxModuleLocals is the most locals all of a module's functions may declare
// together. wazero v1.12.0's interpreter spends about 60 bytes per declared local
// at compilation, so 1000 functions of MaxLocals each, 8 KB of module, cost 3 GiB
// and 3.5 s, and ten times as many run out of memory; the lab's largest guest,
// go-runtime, declares 6230.
const MaxModuleLocals = 1_000_000

// precheckCode checks each function body's local declarations.
func precheckCode(body []byte) error {
	c := NewReader(body, 0)
	var total uint64
	for n := c.Count(); n > 0 && c.Err() == nil; n-- {
		fn := NewReader(c.Bytes(c.Uvarint()), 0)
		var locals uint64
		for d := fn.Count(); d > 0 && fn.Err() == nil; d-- {
			locals += fn.Uvarint()
			fn.ValType()
			if locals > MaxLocals {
				fn.Fail(fmt.Sprintf("a function declares more than %d locals", MaxLocals))
			}
		}
		if fn.Err() != nil {
			return fn.Err()
		}
		if total += locals; total > MaxModuleLocals {
			return fmt.Errorf("the functions declare more than %d locals in all", MaxModuleLocals)
		}
	}
	return c.Err()
}

// nameMap reads a vector of (index, name).
func nameMap(c *Reader) {
	for n := c.Count(); n > 0 && c.Err() == nil; n-- {
		c.Uvarint()
		c.Bytes(c.Uvarint())
	}
}
