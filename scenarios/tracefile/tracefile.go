// Package tracefile reads and writes allocation traces: trace.Trace values
// recorded from real programs, in a compact, versioned, gzip-compressed file that
// every guest can replay (the format is documented in scenarios/traces/README.md
// and implemented by package codec).
//
// It also turns what recorders see into traces: Events converts a sequence of
// pointer-based allocator events (alloc ptr size align, free ptr, realloc old new
// size) into slot-based ops; ImportMtrace reads glibc's mtrace log; WasmRecorder
// is a wazero function listener factory that records a WebAssembly module's calls
// to its own malloc, free, realloc and friends. Package record runs the programs
// and modules these record.
package tracefile

import (
	"errors"
	"io"
	"slices"

	"github.com/alloclab/alloclab/scenarios/tracefile/codec"
	"github.com/alloclab/alloclab/trace"
)

// Header describes a trace file: where the trace came from and its totals.
type Header = codec.Header

// Version is the format version Write writes.
const Version = codec.Version

// MaxSize is the largest block a trace may hold: wasm32's PTRDIFF_MAX (2 GiB - 1).
const MaxSize = codec.MaxSize

// Write writes t to w as a trace file. h gives the source, command and notes;
// Write computes the version, counts, slots and totals from t. It writes nothing
// if t is not valid (see Validate).
func Write(w io.Writer, h Header, t *trace.Trace) error {
	return codec.Encode(w, h, t.Slots, slices.Values(t.Ops))
}

// Read reads a trace file. It checks everything, returns an error naming what is
// wrong for any invalid input, and never panics.
func Read(r io.Reader) (Header, *trace.Trace, error) {
	d := codec.NewDecoder(r)
	h, err := d.Header()
	if err != nil {
		return h, nil, err
	}
	t := &trace.Trace{Slots: h.Slots, Ops: make([]trace.Op, 0, min(h.Ops, 1<<16))}
	for {
		op, ok := d.Next()
		if !ok {
			break
		}
		t.Ops = append(t.Ops, op)
	}
	if err := d.Err(); err != nil {
		return h, nil, err
	}
	return h, t, nil
}

// ReadPrefix reads the first n ops of a trace file and then frees every block
// live at that point, in slot order, so the prefix is a trace of its own. The
// header is the file's; the ops after the first n are not read or checked. If the
// file has n ops or fewer, ReadPrefix is Read.
func ReadPrefix(r io.Reader, n int) (Header, *trace.Trace, error) {
	d := codec.NewDecoder(r)
	h, err := d.Header()
	if err != nil {
		return h, nil, err
	}
	t := &trace.Trace{Slots: h.Slots, Ops: make([]trace.Op, 0, min(h.Ops, n, 1<<16))}
	for len(t.Ops) < n {
		op, ok := d.Next()
		if !ok {
			if err := d.Err(); err != nil {
				return h, nil, err
			}
			return h, t, nil
		}
		t.Ops = append(t.Ops, op)
	}
	if n >= h.Ops { // check the end of the file too
		if _, more := d.Next(); more {
			return h, nil, errors.New("trace file: more ops than the header declares")
		}
		if err := d.Err(); err != nil {
			return h, nil, err
		}
		return h, t, nil
	}
	t.Ops = append(t.Ops, d.Live()...)
	return h, t, nil
}

// ReadHeader reads only the header of a trace file.
func ReadHeader(r io.Reader) (Header, error) {
	return codec.NewDecoder(r).Header()
}

// Validate checks that t is a trace the format can hold: every op's kind known;
// allocs into empty slots and frees and reallocs of live ones, with the live
// block's size and alignment; sizes from 1 to MaxSize; alignments powers of two
// from 1 to 4096; every slot below t.Slots; and the format's limits on ops and
// slots. It returns the header totals of t.
func Validate(t *trace.Trace) (Header, error) {
	return codec.Check(t.Slots, slices.Values(t.Ops))
}
