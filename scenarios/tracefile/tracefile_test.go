package tracefile

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/scenarios/tracefile/codec"
	"github.com/alloclab/alloclab/trace"
)

// The format writes trace.Kind's values (scenarios/traces/README.md): changing
// them would make every trace file read as other ops.
func TestKindValues(t *testing.T) {
	for k, want := range map[trace.Kind]int{
		trace.Alloc: 1, trace.Free: 2, trace.Realloc: 3, trace.Reset: 4, trace.Mark: 5,
	} {
		if int(k) != want {
			t.Errorf("trace.%v = %d, the format has %d", k, k, want)
		}
	}
}

func encode(t testing.TB, h Header, tr *trace.Trace) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, h, tr); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// checkHeader checks the header's totals against the trace's own.
func checkHeader(t testing.TB, h Header, tr *trace.Trace) {
	t.Helper()
	st := tr.Stats()
	marks := len(tr.Ops) - st.Allocs - st.Frees - st.Reallocs - st.Resets
	want := Header{Version: Version, Source: h.Source, Command: h.Command, Notes: h.Notes,
		Ops: len(tr.Ops), Allocs: st.Allocs, Frees: st.Frees, Reallocs: st.Reallocs, Resets: st.Resets,
		Slots: tr.Slots, PeakLiveBytes: st.PeakLiveBytes, AllocatedBytes: st.AllocatedBytes}
	if h != want {
		t.Errorf("header %+v\nwant   %+v (%d marks)", h, want, marks)
	}
}

func sameOps(a, b []trace.Op) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

func roundTrip(t testing.TB, h Header, tr *trace.Trace) []byte {
	t.Helper()
	data := encode(t, h, tr)
	got, back, err := Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !sameOps(back.Ops, tr.Ops) || back.Slots != tr.Slots {
		t.Fatalf("round trip changed the trace: %d ops in %d slots, want %d in %d", len(back.Ops), back.Slots, len(tr.Ops), tr.Slots)
	}
	h.Version = Version
	checkHeader(t, got, tr)
	if got.Source != h.Source || got.Command != h.Command || got.Notes != h.Notes {
		t.Errorf("header strings %q %q %q, want %q %q %q", got.Source, got.Command, got.Notes, h.Source, h.Command, h.Notes)
	}
	return data
}

// randomTrace makes a trace of every kind, with slots not as a Builder picks them.
func randomTrace(seed uint64, n int) *trace.Trace {
	r := rand.New(rand.NewPCG(seed, 1))
	slots := 1 + r.IntN(50)
	tr := &trace.Trace{Slots: slots}
	size := make([]uint32, slots)
	align := make([]uint32, slots)
	for len(tr.Ops) < n {
		s := uint32(r.IntN(slots))
		switch p := r.IntN(100); {
		case p < 2:
			tr.Ops = append(tr.Ops, trace.Op{Kind: trace.Reset})
			clear(size)
		case p < 4:
			tr.Ops = append(tr.Ops, trace.Op{Kind: trace.Mark})
		case size[s] == 0:
			size[s] = 1 + uint32(r.ExpFloat64()*1000)
			if r.IntN(1000) == 0 {
				size[s] = MaxSize
			}
			align[s] = 1 << r.IntN(13)
			tr.Ops = append(tr.Ops, trace.Op{Kind: trace.Alloc, Slot: s, Size: size[s], Align: align[s]})
		case p < 60:
			tr.Ops = append(tr.Ops, trace.Op{Kind: trace.Free, Slot: s, Size: size[s], Align: align[s]})
			size[s] = 0
		default:
			n := 1 + uint32(r.ExpFloat64()*2000)
			tr.Ops = append(tr.Ops, trace.Op{Kind: trace.Realloc, Slot: s, Size: n, Align: align[s], OldSize: size[s]})
			size[s] = n
		}
	}
	return tr
}

func TestRoundTripRandom(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		roundTrip(t, Header{Source: "random"}, randomTrace(seed, int(seed)*37))
	}
	roundTrip(t, Header{}, &trace.Trace{})
}

func TestReadPrefix(t *testing.T) {
	var b trace.Builder
	a := b.Alloc(100, 8)
	c := b.Alloc(200, 16)
	b.Realloc(a, 300)
	b.Free(c)
	b.Alloc(50, 4)
	b.Free(a)
	full := b.Trace()
	data := encode(t, Header{}, full)

	h, tr, err := ReadPrefix(bytes.NewReader(data), 3)
	if err != nil {
		t.Fatal(err)
	}
	if h.Ops != 6 {
		t.Errorf("prefix header says %d ops, want the file's 6", h.Ops)
	}
	want := append(append([]trace.Op{}, full.Ops[:3]...),
		trace.Op{Kind: trace.Free, Slot: 0, Size: 300, Align: 8},
		trace.Op{Kind: trace.Free, Slot: 1, Size: 200, Align: 16})
	if !reflect.DeepEqual(tr.Ops, want) {
		t.Errorf("prefix ops\n%v\nwant\n%v", tr.Ops, want)
	}
	if _, err := Validate(tr); err != nil {
		t.Errorf("prefix invalid: %v", err)
	}
	for _, n := range []int{6, 7, 100} {
		_, tr, err := ReadPrefix(bytes.NewReader(data), n)
		if err != nil || !reflect.DeepEqual(tr.Ops, full.Ops) {
			t.Errorf("ReadPrefix(%d): %v, %d ops; want the whole trace", n, err, len(tr.Ops))
		}
	}
	// A prefix as long as the file still checks its end.
	bad := append(bytes.Clone(data), 0)
	if _, _, err := ReadPrefix(bytes.NewReader(bad), 6); err == nil {
		t.Errorf("ReadPrefix of a file with trailing data: no error")
	}
}

func TestReadHeader(t *testing.T) {
	data := encode(t, Header{Source: "s", Command: "c"}, &trace.Trace{})
	h, err := ReadHeader(bytes.NewReader(data))
	if err != nil || h.Source != "s" || h.Command != "c" || h.Version != Version {
		t.Errorf("ReadHeader: %+v, %v", h, err)
	}
}

func TestValidateRejects(t *testing.T) {
	alloc := trace.Op{Kind: trace.Alloc, Slot: 0, Size: 10, Align: 8}
	for _, tc := range []struct {
		name string
		tr   trace.Trace
		want string
	}{
		{"free size", trace.Trace{Slots: 1, Ops: []trace.Op{alloc, {Kind: trace.Free, Size: 11, Align: 8}}}, "free of slot 0 with size 11"},
		{"free align", trace.Trace{Slots: 1, Ops: []trace.Op{alloc, {Kind: trace.Free, Size: 10, Align: 16}}}, "alignment 16"},
		{"realloc old size", trace.Trace{Slots: 1, Ops: []trace.Op{alloc, {Kind: trace.Realloc, Size: 20, OldSize: 9, Align: 8}}}, "from size 9"},
		{"realloc to 0", trace.Trace{Slots: 1, Ops: []trace.Op{alloc, {Kind: trace.Realloc, Size: 0, OldSize: 10, Align: 8}}}, "size 0"},
		{"free empty", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Free, Size: 10, Align: 8}}}, "empty"},
		{"double alloc", trace.Trace{Slots: 1, Ops: []trace.Op{alloc, alloc}}, "holds a live block"},
		{"slot", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Slot: 1, Size: 10, Align: 8}}}, "outside the slot table"},
		{"align 3", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Size: 10, Align: 3}}}, "power of two"},
		{"align 8192", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Size: 10, Align: 8192}}}, "power of two"},
		{"align 0", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Size: 10}}}, "power of two"},
		{"size 0", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Size: 0, Align: 8}}}, "size 0"},
		{"size big", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Size: MaxSize + 1, Align: 8}}}, "outside 1 to"},
		{"kind", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: 9}}}, "unknown op kind 9"},
		{"kind 0", trace.Trace{Slots: 1, Ops: []trace.Op{{}}}, "unknown op kind 0"},
		{"mark operands", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Mark, Size: 1}}}, "mark with operands"},
		{"alloc old size", trace.Trace{Slots: 1, Ops: []trace.Op{{Kind: trace.Alloc, Size: 1, Align: 1, OldSize: 3}}}, "old size"},
		{"slots", trace.Trace{Slots: codec.MaxSlots + 1}, "slots"},
		{"negative slots", trace.Trace{Slots: -1}, "slots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(&tc.tr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an error containing %q", err, tc.want)
			}
			var buf bytes.Buffer
			if err := Write(&buf, Header{}, &tc.tr); err == nil || buf.Len() != 0 {
				t.Errorf("Write: %v, wrote %d bytes; want an error and nothing written", err, buf.Len())
			}
		})
	}
	var buf bytes.Buffer
	if err := Write(&buf, Header{Source: "\xff"}, &trace.Trace{}); err == nil {
		t.Errorf("Write with a non-UTF-8 source: no error")
	}
}

// raw builds a file's uncompressed content by hand.
type raw []byte

func (r raw) u(vs ...uint64) raw {
	for _, v := range vs {
		r = binary.AppendUvarint(r, v)
	}
	return r
}

func (r raw) s(s string) raw { return append(r.u(uint64(len(s))), s...) }

func zz(d int64) uint64 { return uint64(d<<1) ^ uint64(d>>63) }

// head is a header with empty strings and the given counts: ops, allocs, frees,
// reallocs, resets, slots, peak, allocated.
func head(counts ...uint64) raw {
	return raw(codec.Magic).u(codec.Version).s("").s("").s("").u(counts...)
}

func gz(content []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(content)
	w.Close()
	return buf.Bytes()
}

func TestReadErrors(t *testing.T) {
	// One alloc of 10 bytes aligned to 8 (tag 1 + 8*3) into slot 0, and its free.
	ok := head(2, 1, 1, 0, 0, 1, 10, 10).u(25, zz(0), 10).u(2, zz(0))
	if _, _, err := Read(bytes.NewReader(gz(ok))); err != nil {
		t.Fatalf("the valid base file: %v", err)
	}
	good := gz(ok)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-6] ^= 1
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a trace file"},
		{"not gzip", []byte("hello, world"), "not a trace file"},
		{"bad magic", gz([]byte("alloclab-trace?")), "bad magic"},
		{"short magic", gz([]byte("alloc")), "bad magic"},
		{"newer version", gz(raw(codec.Magic).u(2)), "version 2 is newer"},
		{"version 0", gz(raw(codec.Magic).u(0)), "unknown format version 0"},
		{"ends in header", gz(raw(codec.Magic).u(1).s("src")), "ends early"},
		{"long string", gz(raw(codec.Magic).u(1).u(codec.MaxString + 1)), "header string"},
		{"string past end", gz(raw(codec.Magic).u(1).u(100).s("ab")), "ends early"},
		{"not utf-8", gz(raw(codec.Magic).u(1).s("\xff\xfe").s("").s("").u(0, 0, 0, 0, 0, 0, 0, 0)), "not UTF-8"},
		{"too many ops", gz(head(codec.MaxOps+1, 0, 0, 0, 0, 0, 0, 0)), "the format holds at most"},
		{"too many slots", gz(head(0, 0, 0, 0, 0, codec.MaxSlots+1, 0, 0)), "slots"},
		{"counts exceed ops", gz(head(1, 1, 1, 0, 0, 1, 0, 0)), "exceed"},
		{"huge counts", gz(head(5, 1<<63, 1<<63, 1<<63, 1<<63, 1, 0, 0)), "exceed"},
		{"varint overflow", gz(append(raw(codec.Magic).u(1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), "overflow"},
		{"no ops", gz(head(2, 1, 1, 0, 0, 1, 10, 10)), "ends early"},
		{"slot outside", gz(head(1, 1, 0, 0, 0, 1, 10, 10).u(25, zz(1), 10)), "outside the slot table"},
		{"slot below 0", gz(head(1, 0, 1, 0, 0, 1, 0, 0).u(2, zz(-1))), "outside 0 to 2^32-1"},
		{"slot above 2^32", gz(head(1, 0, 1, 0, 0, 1, 0, 0).u(2, zz(1<<40))), "outside 0 to 2^32-1"},
		{"free empty", gz(head(1, 0, 1, 0, 0, 1, 0, 0).u(2, zz(0))), "empty"},
		{"realloc empty", gz(head(1, 0, 0, 1, 0, 1, 0, 0).u(3, zz(0), 5)), "empty"},
		{"alloc live", gz(head(2, 2, 0, 0, 0, 2, 20, 20).u(25, zz(0), 10).u(25, zz(-1), 10)), "holds a live block"},
		{"size 0", gz(head(1, 1, 0, 0, 0, 1, 0, 0).u(25, zz(0), 0)), "size 0"},
		{"size too big", gz(head(1, 1, 0, 0, 0, 1, 0, 0).u(25, zz(0), MaxSize+1)), "outside 1 to"},
		{"size over 32 bits", gz(head(1, 1, 0, 0, 0, 1, 0, 0).u(25, zz(0), 1<<33)), "does not fit 32 bits"},
		{"realloc to 0", gz(head(2, 1, 0, 1, 0, 1, 10, 10).u(25, zz(0), 10).u(3, zz(0), 0)), "size 0"},
		{"align 8192", gz(head(1, 1, 0, 0, 0, 1, 0, 0).u(1+8*13, zz(0), 10)), "alignment 2^13"},
		{"free with align", gz(head(2, 1, 1, 0, 0, 1, 10, 10).u(25, zz(0), 10).u(2+8, zz(0))), "carries an alignment"},
		{"kind 0", gz(head(1, 0, 0, 0, 0, 0, 0, 0).u(0)), "unknown op tag 0"},
		{"kind 6", gz(head(1, 0, 0, 0, 0, 0, 0, 0).u(6)), "unknown op tag 6"},
		{"kind 7", gz(head(1, 0, 0, 0, 0, 0, 0, 0).u(7 + 8)), "unknown op tag 15"},
		{"wrong peak", gz(head(2, 1, 1, 0, 0, 1, 11, 10).u(25, zz(0), 10).u(2, zz(0))), "peak live"},
		{"wrong allocated", gz(head(2, 1, 1, 0, 0, 1, 10, 11).u(25, zz(0), 10).u(2, zz(0))), "allocated"},
		{"wrong counts", gz(head(2, 1, 0, 0, 0, 1, 10, 10).u(25, zz(0), 10).u(2, zz(0))), "header says 1 allocs, 0 frees"},
		{"data after ops", gz(append(bytes.Clone(ok), 0)), "data after the last op"},
		{"data after gzip", append(bytes.Clone(good), 0), "after the gzip stream"},
		{"two gzip members", append(bytes.Clone(good), good...), "after the gzip stream"},
		{"bad checksum", badCRC, "checksum"},
		{"cut short", good[:len(good)-4], "ends early"},
		{"cut in the deflate stream", good[:len(good)/2], "ends early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, tr, err := Read(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: %v, want an error containing %q", err, tc.want)
			}
			if err != nil && tr != nil {
				t.Errorf("Read returned a trace with its error")
			}
			_ = h
		})
	}
}

// A reader that fails is reported as such.
func TestReadReaderError(t *testing.T) {
	data := encode(t, Header{}, randomTrace(1, 100))
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{})
	if _, _, err := Read(r); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Read: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errDisk }

var errDisk = &diskError{}

type diskError struct{}

func (*diskError) Error() string { return "disk on fire" }
