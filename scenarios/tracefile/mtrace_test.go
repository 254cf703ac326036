package tracefile

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/trace"
)

// Ops in the tests' shorthand.
func alloc(slot, size, align uint32) trace.Op {
	return trace.Op{Kind: trace.Alloc, Slot: slot, Size: size, Align: align}
}

func free(slot, size, align uint32) trace.Op {
	return trace.Op{Kind: trace.Free, Slot: slot, Size: size, Align: align}
}

func realloc(slot, old, size, align uint32) trace.Op {
	return trace.Op{Kind: trace.Realloc, Slot: slot, Size: size, Align: align, OldSize: old}
}

func TestEvents(t *testing.T) {
	type ev struct {
		kind          byte // a alloc, f free, r realloc, L FreeLive
		p, q, size, a uint64
	}
	for _, tc := range []struct {
		name    string
		maxOps  int
		events  []ev
		ops     []trace.Op
		skipped Skipped
	}{
		{
			name:   "alloc free reuse",
			events: []ev{{'a', 0x10, 0, 24, 16}, {'a', 0x20, 0, 8, 8}, {'f', 0x10, 0, 0, 0}, {'a', 0x30, 0, 40, 16}},
			ops:    []trace.Op{alloc(0, 24, 16), alloc(1, 8, 8), free(0, 24, 16), alloc(0, 40, 16)},
		},
		{
			name:   "realloc moves and keeps alignment",
			events: []ev{{'a', 0x10, 0, 8, 8}, {'r', 0x10, 0x40, 100, 0}, {'f', 0x40, 0, 0, 0}},
			ops:    []trace.Op{alloc(0, 8, 8), realloc(0, 8, 100, 8), free(0, 100, 8)},
		},
		{
			name:    "unknown free and realloc",
			events:  []ev{{'f', 0x99, 0, 0, 0}, {'r', 0x98, 0x50, 20, 0}, {'f', 0x50, 0, 0, 0}},
			ops:     []trace.Op{alloc(0, 20, 16), free(0, 20, 16)},
			skipped: Skipped{UnknownFrees: 1, UnknownReallocs: 1},
		},
		{
			name:   "realloc of null is alloc",
			events: []ev{{'r', 0, 0x50, 7, 0}},
			ops:    []trace.Op{alloc(0, 7, 8)},
		},
		{
			name:    "failed alloc and realloc",
			events:  []ev{{'a', 0, 0, 10, 8}, {'a', 0x10, 0, 10, 8}, {'r', 0x10, 0, 1 << 40, 0}, {'f', 0x10, 0, 0, 0}},
			ops:     []trace.Op{alloc(0, 10, 8), free(0, 10, 8)},
			skipped: Skipped{Failed: 2},
		},
		{
			name: "too large: left out with its frees and reallocs",
			events: []ev{{'a', 0x10, 0, 1 << 31, 16}, {'r', 0x10, 0x20, 5, 0}, {'f', 0x20, 0, 0, 0},
				{'a', 0x30, 0, 10, 16}, {'r', 0x30, 0x40, 1 << 32, 0}, {'f', 0x40, 0, 0, 0}},
			ops:     []trace.Op{alloc(0, 10, 16), free(0, 10, 16)},
			skipped: Skipped{TooLarge: 2, TooLargeOps: 3},
		},
		{
			name:   "largest size kept",
			events: []ev{{'a', 0x10, 0, MaxSize, 16}},
			ops:    []trace.Op{alloc(0, MaxSize, 16)},
		},
		{
			name:    "live pointer handed out again",
			events:  []ev{{'a', 0x10, 0, 10, 8}, {'a', 0x10, 0, 20, 16}, {'f', 0x10, 0, 0, 0}, {'f', 0x10, 0, 0, 0}},
			ops:     []trace.Op{alloc(0, 10, 8), free(0, 10, 8), alloc(0, 20, 16), free(0, 20, 16)},
			skipped: Skipped{LiveReused: 1, UnknownFrees: 1},
		},
		{
			name:    "realloc onto another live block",
			events:  []ev{{'a', 0x10, 0, 10, 8}, {'a', 0x20, 0, 10, 8}, {'r', 0x10, 0x20, 30, 0}},
			ops:     []trace.Op{alloc(0, 10, 8), alloc(1, 10, 8), free(1, 10, 8), realloc(0, 10, 30, 8)},
			skipped: Skipped{LiveReused: 1},
		},
		{
			name:    "alignments",
			events:  []ev{{'a', 0x10, 0, 1, 0}, {'a', 0x20, 0, 1, 8192}, {'a', 0x30, 0, 1, 24}, {'a', 0x40, 0, 0, 4}},
			ops:     []trace.Op{alloc(0, 1, 1), alloc(1, 1, 4096), alloc(2, 1, 32), alloc(3, 1, 4)},
			skipped: Skipped{AlignAdjusted: 2},
		},
		{
			name:    "cut at MaxOps frees what is live",
			maxOps:  3,
			events:  []ev{{'a', 0x10, 0, 10, 8}, {'a', 0x20, 0, 20, 8}, {'f', 0x10, 0, 0, 0}, {'a', 0x30, 0, 30, 8}, {'f', 0x20, 0, 0, 0}},
			ops:     []trace.Op{alloc(0, 10, 8), alloc(1, 20, 8), free(0, 10, 8), free(1, 20, 8)},
			skipped: Skipped{AfterCut: 2, FreedAtCut: 1},
		},
		{
			name:   "free live",
			events: []ev{{'a', 0x10, 0, 10, 8}, {'a', 0x20, 0, 20, 8}, {'L', 0, 0, 0, 0}, {'f', 0x10, 0, 0, 0}},
			ops:    []trace.Op{alloc(0, 10, 8), alloc(1, 20, 8), free(1, 20, 8), free(0, 10, 8)},
			// The free after FreeLive is of a pointer no longer known.
			skipped: Skipped{UnknownFrees: 1},
		},
		{
			name:   "free of null",
			events: []ev{{'f', 0, 0, 0, 0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Events{MaxOps: tc.maxOps}
			for _, v := range tc.events {
				switch v.kind {
				case 'a':
					e.Alloc(v.p, v.size, v.a)
				case 'f':
					e.Free(v.p)
				case 'r':
					e.Realloc(v.p, v.q, v.size)
				case 'L':
					e.FreeLive()
				}
			}
			tr := e.Trace()
			if !sameOps(tr.Ops, tc.ops) {
				t.Errorf("ops\n%v\nwant\n%v", tr.Ops, tc.ops)
			}
			if e.Skipped != tc.skipped {
				t.Errorf("skipped %+v, want %+v", e.Skipped, tc.skipped)
			}
			if _, err := Validate(tr); err != nil {
				t.Errorf("invalid trace: %v", err)
			}
		})
	}
}

func TestDefaultAlign(t *testing.T) {
	for size, want := range map[uint64]uint32{0: 8, 1: 8, 8: 8, 15: 8, 16: 16, 1 << 20: 16} {
		if got := DefaultAlign(size); got != want {
			t.Errorf("DefaultAlign(%d) = %d, want %d", size, got, want)
		}
	}
}

func TestImportMtrace(t *testing.T) {
	for _, tc := range []struct {
		name      string
		log       string
		maxOps    int
		ops       []trace.Op
		skipped   Skipped
		ended     bool
		truncated bool
		err       string // the error, if any: it names the file and line
	}{
		{
			name: "all kinds, with and without callers",
			log: "= Start\n" +
				"@ ./prog:[0x1149] + 0x55d0c8a4c2a0 0x10\n" +
				"@ /lib/x86_64-linux-gnu/libc.so.6:(__libc_start_main+0x80)[0x7f0c1a229e40] + 0x55d0c8a4c2c0 0x5\n" +
				"+ 0x55d0c8a4c300 0\n" +
				"@ ./prog:[0x1160] < 0x55d0c8a4c2a0\n" +
				"@ ./prog:[0x1160] > 0x55d0c8a4c400 0x100\n" +
				"@ ./prog:[0x1170] ! 0x55d0c8a4c400 0xffffffffffff\n" +
				"@ [0x1180] - 0x55d0c8a4c2c0\n" +
				"@ ./prog:[0x1190] + (nil) 0x7fffffffffffffff\n" +
				"- 0x55d0c8a4c400\n" +
				"= End\n",
			ops:     []trace.Op{alloc(0, 16, 16), alloc(1, 5, 8), alloc(2, 1, 8), realloc(0, 16, 256, 16), free(1, 5, 8), free(0, 256, 16)},
			skipped: Skipped{Failed: 2},
			ended:   true,
		},
		{
			name:    "no end marker; unknown frees",
			log:     "= Start\n- 0x10\n+ 0x20 0x8\n- 0x30\n",
			ops:     []trace.Op{alloc(0, 8, 8)},
			skipped: Skipped{UnknownFrees: 2},
		},
		{
			name:    "size beyond wasm32: the block and its later ops left out",
			log:     "+ 0x10 0x80000000\n< 0x10\n> 0x20 0x10\n- 0x20\n+ 0x30 0x7fffffff\n",
			ops:     []trace.Op{alloc(0, MaxSize, 16)},
			skipped: Skipped{TooLarge: 1, TooLargeOps: 2},
		},
		{
			name:    "realloc beyond wasm32 frees the block",
			log:     "+ 0x10 0x10\n< 0x10\n> 0x20 0x100000000\n- 0x20\n",
			ops:     []trace.Op{alloc(0, 16, 16), free(0, 16, 16)},
			skipped: Skipped{TooLarge: 1, TooLargeOps: 1},
		},
		{
			name:    "realloc of an unknown pointer",
			log:     "< 0x10\n> 0x20 0x30\n",
			ops:     []trace.Op{alloc(0, 48, 16)},
			skipped: Skipped{UnknownReallocs: 1},
		},
		{
			name: "file names with spaces",
			log:  "@ /opt/my prog/bin/x:(f+0x1)[0x2] + 0x10 0x20\n@ /opt/my prog/bin/x:[0x3] - 0x10\n",
			ops:  []trace.Op{alloc(0, 32, 16), free(0, 32, 16)},
		},
		{
			name:      "last line cut short",
			log:       "+ 0x10 0x20\n@ ./prog:[0x11",
			ops:       []trace.Op{alloc(0, 32, 16)},
			truncated: true,
		},
		{
			name:      "last line cut after the realloc's first half",
			log:       "+ 0x10 0x20\n< 0x10\n",
			ops:       []trace.Op{alloc(0, 32, 16)},
			truncated: true,
		},
		{
			name: "last line without newline but whole",
			log:  "+ 0x10 0x20\n- 0x10",
			ops:  []trace.Op{alloc(0, 32, 16), free(0, 32, 16)},
		},
		{
			name:    "max ops",
			log:     "+ 0x10 0x20\n+ 0x20 0x20\n- 0x10\n+ 0x30 0x30\n",
			maxOps:  2,
			ops:     []trace.Op{alloc(0, 32, 16), alloc(1, 32, 16), free(1, 32, 16), free(0, 32, 16)},
			skipped: Skipped{AfterCut: 2, FreedAtCut: 2},
		},
		{name: "empty log", log: ""},
		{name: "start only", log: "= Start\n"},
		{name: "garbage", log: "= Start\nhello world\n", err: "test.mtrace:2: not an mtrace line"},
		{name: "garbage last line", log: "= Start\nhello world", err: "test.mtrace:2: not an mtrace line"},
		{name: "empty line", log: "+ 0x10 0x20\n\n", err: "test.mtrace:2: not an mtrace line"},
		{name: "bad pointer", log: "+ 0xzz 0x20\n", err: `test.mtrace:1: pointer "0xzz" is not a 64-bit hexadecimal number`},
		{name: "decimal size", log: "+ 0x10 32\n", err: `test.mtrace:1: size "32" is not hexadecimal`},
		{name: "pointer over 64 bits", log: "- 0x10000000000000000\n", err: "test.mtrace:1: pointer"},
		{name: "bad caller", log: "x ./prog:[0x1] + 0x10 0x20\n", err: "test.mtrace:1: not an mtrace line (bad caller)"},
		{name: "caller without address", log: "@ ./prog + 0x10 0x20\n", err: "bad caller"},
		{name: "lone @", log: "@ + 0x10 0x20\n", err: "bad caller"},
		{name: "> without <", log: "> 0x10 0x20\n", err: `test.mtrace:1: "> 0x10 0x20" does not follow a "<" line`},
		{name: "< without >", log: "< 0x10\n+ 0x20 0x10\n", err: `test.mtrace:2: realloc line "+ 0x20 0x10" does not follow the "<" line 1`},
		{name: "missing size", log: "+ 0x10\n", err: "test.mtrace:1: not an mtrace line"},
		{name: "long line", log: "+ 0x10 0x10\n@ " + strings.Repeat("x", MaxLine) + " - 0x10\n", err: "test.mtrace:2: line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &Events{MaxOps: tc.maxOps}
			m, err := ImportMtrace(strings.NewReader(tc.log), "test.mtrace", ev)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameOps(m.Trace.Ops, tc.ops) {
				t.Errorf("ops\n%v\nwant\n%v", m.Trace.Ops, tc.ops)
			}
			if m.Skipped != tc.skipped || m.Ended != tc.ended || m.Truncated != tc.truncated {
				t.Errorf("skipped %+v, ended %v, truncated %v; want %+v, %v, %v", m.Skipped, m.Ended, m.Truncated, tc.skipped, tc.ended, tc.truncated)
			}
			if _, err := Validate(m.Trace); err != nil {
				t.Errorf("invalid trace: %v", err)
			}
			if tc.truncated && len(m.Warnings()) == 0 {
				t.Errorf("no warning of the truncation")
			}
		})
	}
}

// testdata/allocs.mtrace is a real log: cmd/alloclab/testdata/trace/allocs.c built
// with cc -O1 and run on Debian 12 (glibc 2.36) with
//
//	MALLOC_TRACE=allocs.mtrace LD_PRELOAD="libc_malloc_debug.so.0 ./shim.so" ./allocs
//
// where shim.so is the two-line constructor
//
//	#include <mcheck.h>
//	__attribute__((constructor)) static void init(void) { mtrace(); }
func TestImportMtraceReal(t *testing.T) {
	data, err := os.ReadFile("testdata/allocs.mtrace")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ImportMtrace(bytes.NewReader(data), "testdata/allocs.mtrace", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Lines != 301 || m.Ended || m.Truncated || m.Skipped != (Skipped{}) {
		t.Errorf("%d lines, ended %v, truncated %v, skipped %+v; want 301, false, false, none", m.Lines, m.Ended, m.Truncated, m.Skipped)
	}
	count := map[string]int{}
	for _, op := range m.Trace.Ops {
		count[fmt.Sprintf("%v %d", op.Kind, op.Size)]++
	}
	want := map[string]int{
		"alloc 48": 100, "free 48": 100, // the list's nodes
		"alloc 24": 1, "free 24576": 1, // the growing buffer...
		"alloc 1200": 1, "alloc 192": 1, "alloc 1000": 1, // calloc, aligned_alloc, posix_memalign
		"alloc 777": 35, "free 777": 35, // churn
		"alloc 4096": 1, "free 4096": 1, // stdout's buffer, freed by glibc at exit
	}
	for size := 48; size <= 24<<10; size *= 2 {
		want[fmt.Sprintf("realloc %d", size)] = 1 // ...doubling ten times
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d ops, want %d", k, count[k], n)
		}
	}
	if len(m.Trace.Ops) != 290 || m.Trace.Slots != 100 {
		t.Errorf("%d ops in %d slots, want 290 in 100", len(m.Trace.Ops), m.Trace.Slots)
	}
	h, tr, err := Read(bytes.NewReader(encode(t, Header{Source: "allocs"}, m.Trace)))
	if err != nil || !reflect.DeepEqual(tr.Ops, m.Trace.Ops) {
		t.Fatalf("round trip: %v", err)
	}
	if h.PeakLiveBytes != 24576 {
		t.Errorf("peak live %d, want 24576 (the buffer at its largest)", h.PeakLiveBytes)
	}
}
