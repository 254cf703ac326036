// Package codec is the byte-level encoder and decoder of alloclab's trace file
// format, which scenarios/traces/README.md documents.
//
// It imports nothing of the lab, so package scenarios can decode its embedded
// traces with it; most code wants package tracefile, which reads and writes
// trace.Trace values with it.
//
// A trace file is one gzip member. Its uncompressed content is
//
//	magic     "alloclab-trace\n"
//	version   uvarint (1)
//	source    string   (uvarint length, then UTF-8 bytes)
//	command   string
//	notes     string
//	ops       uvarint  number of ops
//	allocs    uvarint  ops of each kind
//	frees     uvarint
//	reallocs  uvarint
//	resets    uvarint
//	slots     uvarint  size of the slot table: every op's slot is below it
//	peak      uvarint  peak live bytes
//	allocated uvarint  bytes allocated: alloc sizes plus realloc growth
//	ops...
//
// and nothing after the last op. Each op starts with a tag, uvarint kind + 8*k:
// kind is 1 alloc, 2 free, 3 realloc, 4 reset, 5 mark (trace.Kind's values),
// and k is log2 of the alignment for alloc and 0 for every other kind. Then
//
//	alloc    slot, size      (uvarints)
//	free     slot            size and alignment are the live block's
//	realloc  slot, new size  old size and alignment are the live block's
//	reset    nothing         every live block dies
//	mark     nothing
//
// Slots are not written as they are but as the zigzag-encoded difference
// (0, -1, 1, -2... as 0, 1, 2, 3...) from a prediction both sides make from the
// ops so far: an alloc's from the slot most recently emptied by a free that is
// still empty (else the lowest slot never used), as trace.Builder reuses
// slots; a free's or realloc's from the slot of the previous free or realloc,
// as programs often free neighbours in turn. Most slots become a 0 byte, and
// files of real programs' traces shrink 1.6 to 6 times.
//
// Decode checks everything: the magic, the version, every count, every slot
// reference (alloc into an empty slot, free and realloc of a live one), every
// size (1 to MaxSize) and alignment (1 to 4096), the header's totals against the
// ops, the gzip checksum, and that nothing follows. It returns an error, never
// panics, on any input.
package codec

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"unicode/utf8"

	"github.com/alloclab/alloclab/trace"
)

// Magic opens every trace file's uncompressed content.
const Magic = "alloclab-trace\n"

// Version is the format version this package writes and the only one it reads.
const Version = 1

// Limits of the format. A file beyond them is refused.
const (
	// MaxSize is the largest block: wasm32's PTRDIFF_MAX and Rust's isize::MAX, so
	// no C or Rust allocation on wasm32 can be larger.
	MaxSize = 1<<31 - 1
	// MaxAlign is the largest alignment, as the guest ABI allows.
	MaxAlign = 4096
	// MaxOps bounds a trace: the replay driver holds 16 bytes per op in a wasm32
	// memory, and 2^26 ops (1 GiB of it) is more than any trace worth replaying.
	MaxOps = 1 << 26
	// MaxSlots bounds the slot table: four million blocks live at once.
	MaxSlots = 1 << 22
	// MaxString bounds the header's strings.
	MaxString = 1 << 16
)

// Header describes a trace file. The counts and totals are facts of the ops: Encode
// computes them and Decode checks them.
type Header struct {
	Version int    // format version: Encode writes Version, Decode reports the file's
	Source  string // the program the trace came from, and how it was recorded
	Command string // the command line that recorded it
	Notes   string // free text: what the recorder left out, and why

	Ops                             int
	Allocs, Frees, Reallocs, Resets int // Marks are the rest
	Slots                           int
	PeakLiveBytes                   uint64
	AllocatedBytes                  uint64 // alloc sizes plus realloc growth
}

// tracker keeps the live block of each slot and the running totals, and checks
// each op against them.
type tracker struct {
	h     Header // counts so far
	live  uint64
	sizes []uint32 // per slot: live block's size, 0 when empty; grown on demand
	align []uint8  // per slot: log2 of its alignment
	slots int      // the slot table's size: every slot must be below it
	liveN int      // live blocks

	// The slot predictions (see the package doc).
	empty []uint32 // slots emptied by frees, most recent last; stale ones popped lazily
	next  uint32   // one more than the largest slot used
	last  uint32   // the slot of the previous free or realloc
}

// predictAlloc returns the slot an alloc is expected to fill.
func (t *tracker) predictAlloc() uint32 {
	for n := len(t.empty); n > 0; n = len(t.empty) {
		s := t.empty[n-1]
		if int(s) < len(t.sizes) && t.sizes[s] == 0 {
			return s
		}
		t.empty = t.empty[:n-1] // filled since it was freed
	}
	return t.next
}

// predicted records which slot an op used, after apply accepted it.
func (t *tracker) predicted(op trace.Op) {
	switch op.Kind {
	case trace.Alloc:
		if n := len(t.empty); n > 0 && t.empty[n-1] == op.Slot {
			t.empty = t.empty[:n-1]
		}
		if op.Slot >= t.next {
			t.next = op.Slot + 1
		}
	case trace.Free:
		t.empty = append(t.empty, op.Slot)
		t.last = op.Slot
	case trace.Realloc:
		t.last = op.Slot
	}
}

// zigzag maps a signed difference to an unsigned one: 0, -1, 1, -2... to 0, 1, 2, 3...
func zigzag(d int64) uint64 { return uint64(d<<1) ^ uint64(d>>63) }

func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

func (t *tracker) slot(s uint32) error {
	if uint64(s) >= uint64(t.slots) {
		return fmt.Errorf("slot %d outside the slot table of %d", s, t.slots)
	}
	if int(s) >= len(t.sizes) {
		n := max(int(s)+1, 2*len(t.sizes), 64)
		n = min(n, t.slots)
		t.sizes = append(t.sizes, make([]uint32, n-len(t.sizes))...)
		t.align = append(t.align, make([]uint8, n-len(t.align))...)
	}
	return nil
}

func checkSize(size uint32) error {
	if size == 0 || size > MaxSize {
		return fmt.Errorf("size %d outside 1 to %d", size, MaxSize)
	}
	return nil
}

func alignLog(align uint32) (uint8, error) {
	if align == 0 || align > MaxAlign || align&(align-1) != 0 {
		return 0, fmt.Errorf("alignment %d is not a power of two from 1 to %d", align, MaxAlign)
	}
	k := uint8(0)
	for align > 1 {
		align >>= 1
		k++
	}
	return k, nil
}

// apply checks op and updates the state. op must carry every field (as a
// trace.Op does); decode fills the implied ones before calling it.
func (t *tracker) apply(op trace.Op) error {
	t.h.Ops++
	switch op.Kind {
	case trace.Alloc:
		k, err := alignLog(op.Align)
		if err != nil {
			return err
		}
		if op.OldSize != 0 {
			return fmt.Errorf("alloc with an old size")
		}
		if err := t.slot(op.Slot); err != nil {
			return err
		}
		if err := checkSize(op.Size); err != nil {
			return err
		}
		if t.sizes[op.Slot] != 0 {
			return fmt.Errorf("alloc into slot %d, which holds a live block", op.Slot)
		}
		t.sizes[op.Slot], t.align[op.Slot] = op.Size, k
		t.live += uint64(op.Size)
		t.liveN++
		t.h.Allocs++
		t.h.AllocatedBytes += uint64(op.Size)
	case trace.Free, trace.Realloc:
		if err := t.slot(op.Slot); err != nil {
			return err
		}
		cur := t.sizes[op.Slot]
		if cur == 0 {
			return fmt.Errorf("%s of slot %d, which is empty", op.Kind, op.Slot)
		}
		if op.Align != 1<<t.align[op.Slot] {
			return fmt.Errorf("%s of slot %d with alignment %d; the block has %d", op.Kind, op.Slot, op.Align, 1<<t.align[op.Slot])
		}
		if op.Kind == trace.Free {
			if op.Size != cur || op.OldSize != 0 {
				return fmt.Errorf("free of slot %d with size %d; the block has %d", op.Slot, op.Size, cur)
			}
			t.sizes[op.Slot] = 0
			t.live -= uint64(cur)
			t.liveN--
			t.h.Frees++
			break
		}
		if op.OldSize != cur {
			return fmt.Errorf("realloc of slot %d from size %d; the block has %d", op.Slot, op.OldSize, cur)
		}
		if err := checkSize(op.Size); err != nil {
			return err
		}
		t.sizes[op.Slot] = op.Size
		t.live = t.live - uint64(cur) + uint64(op.Size)
		if op.Size > cur {
			t.h.AllocatedBytes += uint64(op.Size - cur)
		}
		t.h.Reallocs++
	case trace.Reset, trace.Mark:
		if op.Slot != 0 || op.Size != 0 || op.Align != 0 || op.OldSize != 0 {
			return fmt.Errorf("%s with operands", op.Kind)
		}
		if op.Kind == trace.Reset {
			clear(t.sizes)
			t.live, t.liveN = 0, 0
			t.h.Resets++
		}
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
	t.h.PeakLiveBytes = max(t.h.PeakLiveBytes, t.live)
	return nil
}

// Check validates a sequence of ops against a slot table of slots and returns the
// header totals they give. Encode calls it; it is exported for tests and tools.
func Check(slots int, ops iter.Seq[trace.Op]) (Header, error) {
	if slots < 0 || slots > MaxSlots {
		return Header{}, fmt.Errorf("%d slots: the format holds 0 to %d", slots, MaxSlots)
	}
	t := tracker{slots: slots}
	for op := range ops {
		if t.h.Ops >= MaxOps {
			return Header{}, fmt.Errorf("more than %d ops: the format holds at most %d", MaxOps, MaxOps)
		}
		if err := t.apply(op); err != nil {
			return Header{}, fmt.Errorf("op %d: %v", t.h.Ops-1, err)
		}
	}
	t.h.Slots = slots
	return t.h, nil
}

// Encode writes a trace file of ops, with a slot table of slots, to w. It checks
// the ops first and writes nothing if they are invalid, so it ranges over ops
// twice. h gives the source, command and notes; Encode computes every other field.
func Encode(w io.Writer, h Header, slots int, ops iter.Seq[trace.Op]) error {
	for _, s := range []string{h.Source, h.Command, h.Notes} {
		if len(s) > MaxString || !utf8.ValidString(s) {
			return fmt.Errorf("header string of %d bytes: want valid UTF-8 of at most %d", len(s), MaxString)
		}
	}
	totals, err := Check(slots, ops)
	if err != nil {
		return err
	}
	totals.Source, totals.Command, totals.Notes = h.Source, h.Command, h.Notes
	totals.Version = Version

	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	var buf [3 * binary.MaxVarintLen64]byte
	put := func(vs ...uint64) {
		n := 0
		for _, v := range vs {
			n += binary.PutUvarint(buf[n:], v)
		}
		bw.Write(buf[:n])
	}
	bw.WriteString(Magic)
	put(Version)
	for _, s := range []string{totals.Source, totals.Command, totals.Notes} {
		put(uint64(len(s)))
		bw.WriteString(s)
	}
	put(uint64(totals.Ops), uint64(totals.Allocs), uint64(totals.Frees))
	put(uint64(totals.Reallocs), uint64(totals.Resets), uint64(totals.Slots))
	put(totals.PeakLiveBytes, totals.AllocatedBytes)
	t := tracker{slots: slots}
	for op := range ops {
		switch op.Kind {
		case trace.Alloc:
			k, _ := alignLog(op.Align)
			put(uint64(op.Kind)+8*uint64(k), zigzag(int64(op.Slot)-int64(t.predictAlloc())), uint64(op.Size))
		case trace.Free:
			put(uint64(op.Kind), zigzag(int64(op.Slot)-int64(t.last)))
		case trace.Realloc:
			put(uint64(op.Kind), zigzag(int64(op.Slot)-int64(t.last)), uint64(op.Size))
		default:
			put(uint64(op.Kind))
		}
		if err := t.apply(op); err != nil { // cannot fail: Check passed
			return fmt.Errorf("op %d: %v (the ops changed between passes)", t.h.Ops-1, err)
		}
		t.predicted(op)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// Decoder reads a trace file: first its header, then its ops.
type Decoder struct {
	in     *bufio.Reader // compressed
	zr     *gzip.Reader
	r      *bufio.Reader // uncompressed
	h      Header
	t      tracker
	n      int // ops read
	err    error
	header bool // the header was read
	done   bool // Next returned false
}

// NewDecoder returns a decoder of the trace file r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{in: bufio.NewReader(r)}
}

var errTruncated = errors.New("file ends early")

// Header reads and checks the header.
func (d *Decoder) Header() (Header, error) {
	if d.header || d.err != nil {
		return d.h, d.err
	}
	d.header = true
	d.err = d.readHeader()
	if d.err != nil {
		d.err = fmt.Errorf("trace file: %w", d.err)
	}
	return d.h, d.err
}

func (d *Decoder) readHeader() error {
	zr, err := gzip.NewReader(d.in)
	if err != nil {
		return fmt.Errorf("not a trace file (gzip: %v)", err)
	}
	zr.Multistream(false)
	d.zr = zr
	d.r = bufio.NewReader(zr)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(d.r, magic); err != nil || string(magic) != Magic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		return errors.New("not a trace file (bad magic)")
	}
	v, err := d.uvarint()
	if err != nil {
		return err
	}
	if v != Version {
		if v > Version {
			return fmt.Errorf("format version %d is newer than this alloclab reads (%d)", v, Version)
		}
		return fmt.Errorf("unknown format version %d", v)
	}
	d.h.Version = int(v)
	for _, s := range []*string{&d.h.Source, &d.h.Command, &d.h.Notes} {
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if n > MaxString {
			return fmt.Errorf("header string of %d bytes: at most %d", n, MaxString)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(d.r, b); err != nil {
			return d.eof(err)
		}
		if !utf8.Valid(b) {
			return errors.New("header string is not UTF-8")
		}
		*s = string(b)
	}
	var counts [6]uint64
	for i := range counts {
		if counts[i], err = d.uvarint(); err != nil {
			return err
		}
	}
	if counts[0] > MaxOps {
		return fmt.Errorf("%d ops: the format holds at most %d", counts[0], MaxOps)
	}
	if counts[5] > MaxSlots {
		return fmt.Errorf("%d slots: the format holds at most %d", counts[5], MaxSlots)
	}
	sum := uint64(0)
	for _, c := range counts[1:5] {
		sum += min(c, MaxOps+1) // no overflow
	}
	if sum > counts[0] {
		return fmt.Errorf("op counts (%d allocs, %d frees, %d reallocs, %d resets) exceed the %d ops", counts[1], counts[2], counts[3], counts[4], counts[0])
	}
	d.h.Ops, d.h.Allocs, d.h.Frees = int(counts[0]), int(counts[1]), int(counts[2])
	d.h.Reallocs, d.h.Resets, d.h.Slots = int(counts[3]), int(counts[4]), int(counts[5])
	if d.h.PeakLiveBytes, err = d.uvarint(); err != nil {
		return err
	}
	if d.h.AllocatedBytes, err = d.uvarint(); err != nil {
		return err
	}
	d.t.slots = d.h.Slots
	return nil
}

func (d *Decoder) eof(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return err
}

func (d *Decoder) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, d.eof(err)
	}
	return v, nil
}

func (d *Decoder) u32(what string) (uint32, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > 1<<32-1 {
		return 0, fmt.Errorf("%s %d does not fit 32 bits", what, v)
	}
	return uint32(v), nil
}

// slot reads a slot written as its difference from the predicted one.
func (d *Decoder) slot(predicted uint32) (uint32, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	diff := unzigzag(v)
	if diff < -int64(predicted) || diff > 1<<32-1-int64(predicted) {
		return 0, fmt.Errorf("slot %d%+d is outside 0 to 2^32-1", predicted, diff)
	}
	return uint32(int64(predicted) + diff), nil
}

// Next returns the next op, with every field filled in, and false after the last
// or at the first error. After false, Err says whether the whole file was valid.
func (d *Decoder) Next() (trace.Op, bool) {
	if _, err := d.Header(); err != nil || d.done {
		return trace.Op{}, false
	}
	if d.n == d.h.Ops {
		d.done = true
		d.err = d.finish()
		return trace.Op{}, false
	}
	op, err := d.next()
	if err == nil {
		err = d.t.apply(op)
	}
	if err != nil {
		d.done = true
		d.err = fmt.Errorf("trace file: op %d: %w", d.n, err)
		return trace.Op{}, false
	}
	d.t.predicted(op)
	d.n++
	return op, true
}

func (d *Decoder) next() (trace.Op, error) {
	tag, err := d.uvarint()
	if err != nil {
		return trace.Op{}, err
	}
	kind, k := trace.Kind(tag%8), tag/8
	op := trace.Op{Kind: kind}
	switch kind {
	case trace.Alloc:
		if k > 12 {
			return op, fmt.Errorf("alloc tag %d: alignment 2^%d above %d", tag, k, MaxAlign)
		}
		op.Align = 1 << k
		if op.Slot, err = d.slot(d.t.predictAlloc()); err != nil {
			return op, err
		}
		if op.Size, err = d.u32("size"); err != nil {
			return op, err
		}
		return op, nil
	case trace.Free, trace.Realloc, trace.Reset, trace.Mark:
		if k != 0 {
			return op, fmt.Errorf("%s tag %d carries an alignment", op.Kind, tag)
		}
	default:
		return op, fmt.Errorf("unknown op tag %d", tag)
	}
	if kind == trace.Reset || kind == trace.Mark {
		return op, nil
	}
	if op.Slot, err = d.slot(d.t.last); err != nil {
		return op, err
	}
	// Fill in what the live block implies; apply checks the slot is live.
	if uint64(op.Slot) < uint64(len(d.t.sizes)) && d.t.sizes[op.Slot] != 0 {
		op.Align = 1 << d.t.align[op.Slot]
		if kind == trace.Free {
			op.Size = d.t.sizes[op.Slot]
		} else {
			op.OldSize = d.t.sizes[op.Slot]
		}
	} else {
		op.Align = 1 // apply refuses the op as a free or realloc of an empty slot
	}
	if kind == trace.Realloc {
		if op.Size, err = d.u32("size"); err != nil {
			return op, err
		}
	}
	return op, nil
}

// finish checks the totals against the header and that the file ends here.
func (d *Decoder) finish() error {
	got, want := d.t.h, d.h
	switch {
	case got.Allocs != want.Allocs || got.Frees != want.Frees || got.Reallocs != want.Reallocs || got.Resets != want.Resets:
		return fmt.Errorf("trace file: header says %d allocs, %d frees, %d reallocs, %d resets; the ops have %d, %d, %d, %d",
			want.Allocs, want.Frees, want.Reallocs, want.Resets, got.Allocs, got.Frees, got.Reallocs, got.Resets)
	case got.PeakLiveBytes != want.PeakLiveBytes:
		return fmt.Errorf("trace file: header says peak live bytes %d; the ops reach %d", want.PeakLiveBytes, got.PeakLiveBytes)
	case got.AllocatedBytes != want.AllocatedBytes:
		return fmt.Errorf("trace file: header says %d bytes allocated; the ops allocate %d", want.AllocatedBytes, got.AllocatedBytes)
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		if err == nil {
			return errors.New("trace file: data after the last op")
		}
		return fmt.Errorf("trace file: %w", d.eof(err)) // includes a bad checksum
	}
	if _, err := d.in.ReadByte(); err != io.EOF {
		if err == nil {
			return errors.New("trace file: data after the gzip stream")
		}
		return fmt.Errorf("trace file: %w", err)
	}
	return nil
}

// Err returns the first error met, or nil once Next has returned every op of a
// valid file.
func (d *Decoder) Err() error {
	if d.err == nil && !d.done {
		return errors.New("trace file: not read to the end")
	}
	return d.err
}

// Live returns the live blocks at this point, as (slot, size, align) in slot order,
// so a caller that stops early can free them.
func (d *Decoder) Live() []trace.Op {
	var out []trace.Op
	for s, size := range d.t.sizes {
		if size != 0 {
			out = append(out, trace.Op{Kind: trace.Free, Slot: uint32(s), Size: size, Align: 1 << d.t.align[s]})
		}
	}
	return out
}

// Decode reads a whole trace file and calls add with each op.
func Decode(r io.Reader, add func(trace.Op)) (Header, error) {
	d := NewDecoder(r)
	h, err := d.Header()
	if err != nil {
		return h, err
	}
	for {
		op, ok := d.Next()
		if !ok {
			break
		}
		add(op)
	}
	return h, d.Err()
}
