package tracefile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/trace"
)

// FuzzRead: any input gives an error or a valid trace whose header matches it and
// which survives Write and Read again; nothing panics. The seed corpus is in
// testdata/fuzz/FuzzRead: valid files of every op kind, and damaged ones.
func FuzzRead(f *testing.F) {
	f.Add(encode(f, Header{Source: "s", Command: "c", Notes: "n"}, randomTrace(7, 60)))
	f.Add(encode(f, Header{}, &trace.Trace{}))
	f.Add(gz(head(2, 1, 1, 0, 0, 1, 10, 10).u(25, zz(0), 10).u(2, zz(0))))
	f.Add(gz(head(1, 1, 0, 0, 0, 1, 0, 0).u(1+8*13, zz(0), 10)))
	f.Add([]byte("not a trace"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, tr, err := Read(bytes.NewReader(data))
		if _, _, perr := ReadPrefix(bytes.NewReader(data), 3); err == nil && perr != nil {
			t.Fatalf("Read succeeded but ReadPrefix failed: %v", perr)
		}
		if err != nil {
			if tr != nil {
				t.Fatalf("Read returned a trace with error %v", err)
			}
			return
		}
		v, verr := Validate(tr)
		if verr != nil {
			t.Fatalf("Read accepted an invalid trace: %v", verr)
		}
		v.Version, v.Source, v.Command, v.Notes = h.Version, h.Source, h.Command, h.Notes
		if v != h {
			t.Fatalf("header %+v, but the ops give %+v", h, v)
		}
		h2, tr2, err := Read(bytes.NewReader(encode(t, h, tr)))
		if err != nil || h2 != h || !sameOps(tr2.Ops, tr.Ops) || tr2.Slots != tr.Slots {
			t.Fatalf("Write and Read again: %v", err)
		}
	})
}

// FuzzImportMtrace: any log gives an error naming the file, or a valid trace;
// nothing panics. The seed corpus is in testdata/fuzz/FuzzImportMtrace: excerpts
// of the real log testdata/allocs.mtrace, and hand-made logs. (Seeds are kept
// short: the fuzzer minimises each new input, which takes long on large ones.)
func FuzzImportMtrace(f *testing.F) {
	f.Add([]byte("= Start\n+ 0x10 0x20\n< 0x10\n> 0x30 0x40\n! 0x30 0x50\n- 0x30\n- 0x99\n+ (nil) 0x1\n= End\n"), 0)
	f.Add([]byte("+ 0x10 0x80000000\n< 0x10\n> 0x20 0x10\n- 0x20\n"), 2)
	f.Add([]byte("@ /a b/c:(f+0x1)[0x2] + 0x10 0x20\n@ [0x3] - 0x10\n@ ./x:[0x4"), 1)
	f.Fuzz(func(t *testing.T, log []byte, maxOps int) {
		ev := &Events{MaxOps: max(0, maxOps%1000)}
		m, err := ImportMtrace(bytes.NewReader(log), "fuzz.mtrace", ev)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.mtrace") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := Validate(m.Trace); err != nil {
			t.Fatalf("invalid trace: %v", err)
		}
		if _, _, err := Read(bytes.NewReader(encode(t, Header{}, m.Trace))); err != nil {
			t.Fatalf("the imported trace does not survive the format: %v", err)
		}
	})
}
