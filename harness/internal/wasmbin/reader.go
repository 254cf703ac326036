package wasmbin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Reader reads LEB128 values and byte strings from part of a module, remembering
// the first error and where it happened. It is the tree's one LEB128 reader.
type Reader struct {
	b    []byte
	base int // offset of b[0] in the module
	n    int // len(b) at the start
	err  error
	at   int // offset of the first error
}

// NewReader reads b, which starts at byte base of its module (for error offsets).
func NewReader(b []byte, base int) *Reader { return &Reader{b: b, base: base, n: len(b)} }

// Offset returns the offset in the module of the next byte to read.
func (c *Reader) Offset() int { return c.base + c.n - len(c.b) }

// Err returns the first error.
func (c *Reader) Err() error { return c.err }

// ErrOffset returns the offset in the module where the first error happened.
func (c *Reader) ErrOffset() int { return c.at }

// More reports whether bytes remain.
func (c *Reader) More() bool { return len(c.b) > 0 }

// Rest returns the bytes not read yet.
func (c *Reader) Rest() []byte { return c.b }

// Byte reads one byte.
func (c *Reader) Byte() byte {
	if c.err != nil || len(c.b) == 0 {
		c.Fail("truncated")
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

// Uvarint reads an unsigned LEB128 value of up to 64 bits.
func (c *Reader) Uvarint() uint64 {
	if c.err != nil {
		return 0
	}
	v, n := binary.Uvarint(c.b)
	if n <= 0 {
		c.Fail("bad LEB128 value")
		return 0
	}
	c.b = c.b[n:]
	return v
}

// U32 reads an unsigned LEB128 value that must fit in 32 bits: an index or a count.
func (c *Reader) U32() uint32 {
	v := c.Uvarint()
	if v > 1<<32-1 {
		c.Fail("LEB128 value out of 32-bit range")
		return 0
	}
	return uint32(v)
}

// Varint reads a signed LEB128 value of up to bits bits (32, 33 or 64).
func (c *Reader) Varint(bits uint) int64 {
	var v int64
	var shift uint
	for i := 0; ; i++ {
		if c.err != nil {
			return 0
		}
		if i >= (int(bits)+6)/7 {
			c.Fail("bad signed LEB128 value")
			return 0
		}
		b := c.Byte()
		v |= int64(b&0x7f) << shift
		shift += 7
		if b&0x80 == 0 {
			if shift < 64 && b&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

// Bytes reads n bytes.
func (c *Reader) Bytes(n uint64) []byte {
	if c.err != nil || n > uint64(len(c.b)) {
		c.Fail("truncated")
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

// Count reads a vector's count, which cannot exceed the bytes left.
func (c *Reader) Count() uint64 {
	n := c.Uvarint()
	if n > uint64(len(c.b)) {
		c.Fail(fmt.Sprintf("declares %d entries in %d bytes", n, len(c.b)))
		return 0
	}
	return n
}

// Fail records msg as the error at the current offset, unless there is one.
func (c *Reader) Fail(msg string) {
	if c.err == nil {
		c.err, c.at = errors.New(msg), c.Offset()
	}
}

// AppendVarint appends v as a signed LEB128 value; binary.AppendUvarint is the
// unsigned one.
func AppendVarint(dst []byte, v int64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(dst, b)
		}
		dst = append(dst, b|0x80)
	}
}

// Section is one section of a module: its id and where it lies.
type Section struct {
	ID         byte
	Start, End int // offsets of the id byte and of the end of the body
	Body       int // offset of the body
}

// Sections splits wasm into its sections after checking the header.
func Sections(wasm []byte) ([]Section, error) {
	if len(wasm) < len(header) || !bytes.Equal(wasm[:4], header[:4]) {
		return nil, errors.New("not a WebAssembly module (bad magic)")
	}
	if !bytes.Equal(wasm[4:8], header[4:]) {
		return nil, fmt.Errorf("unsupported WebAssembly version % x", wasm[4:8])
	}
	var out []Section
	for off := len(header); off < len(wasm); {
		size, n := binary.Uvarint(wasm[off+1:])
		if n <= 0 || uint64(len(wasm)-off-1-n) < size {
			return nil, fmt.Errorf("truncated section at byte %d", off)
		}
		s := Section{ID: wasm[off], Start: off, Body: off + 1 + n, End: off + 1 + n + int(size)}
		out = append(out, s)
		off = s.End
	}
	return out, nil
}
