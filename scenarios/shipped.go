package scenarios

// The shipped traces: allocation traces recorded from real programs on Debian 12
// with 'alloclab trace record' (traces/README.md gives each exact command).

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

// shortOps is the length of a shipped trace's short version: its first ops, then
// the frees of the blocks live at the cut.
const shortOps = 20000

var (
	//go:embed traces/sqlite3.trace
	sqlite3Trace []byte
	//go:embed traces/python3.trace
	python3Trace []byte
	//go:embed traces/perl.trace
	perlTrace []byte
	//go:embed traces/cc1.trace
	cc1Trace []byte
)

func init() {
	All = append(All,
		shipped("trace-sqlite3", sqlite3Trace,
			"SQLite 3.40.1's shell running traces/sqlite3.sql on an in-memory database: 20000 "+
				"rows with blobs of 16 to 615 B, two indexes, a GROUP BY, an UPDATE doubling a third "+
				"of the blobs, a DELETE of 30% of the rows, a sort. Allocs are 16 B (44%), 40 B (21%), "+
				"1032-byte buffers (15%) and page-sized blocks of 4.1 to 4.5 KiB (10%); the pages hold the "+
				"database and grow to a 20.6 MB peak, while most small blocks live a few ops (median "+
				"8). A fifth of the ops are reallocs, two growing for each one shrinking, up to 1 MiB. "+
				"Everything is freed at exit.",
			"allocators that reuse freed memory under a large long-lived heap. The peak exceeds "+
				"the default 16 MiB OOM limit, so every guest reports an OOM point: the share of the "+
				"limit live then says how much of its memory each could use."),
		shipped("trace-python3", python3Trace,
			"CPython 3.11.2 with PYTHONMALLOC=malloc (every object through malloc, not pymalloc's "+
				"arenas) starting up and running traces/python3.py: 3000 records built as dicts, "+
				"grouped, sorted, dumped to JSON and parsed back. Small objects: 75% of allocs are "+
				"64 B or less (32 B alone 20%), with a tail to 100 KB. Lifetimes are bimodal: a tenth "+
				"die at the next op, the median block lives about 5500 ops, and start-up's modules and "+
				"types live to the end. Reallocs (4% of ops) mostly shrink. 475 blocks are still live "+
				"at exit.",
			"size-class allocators with fast small-block reuse."),
		shipped("trace-perl", perlTrace,
			"Perl 5.36.0 running traces/perl.pl: builds a 6000-line document by appending to a "+
				"string, counts words in a hash, sorts them and rewrites every line with a regex. "+
				"Perl carves its scalars from 4080-byte arenas of its own, so malloc mostly sees "+
				"string bodies and hash entries: 10 B (41% of allocs) and 48 B (38%). 9% of ops are "+
				"reallocs, nearly all growing a string; the document grows to 500 KB by realloc. 2368 "+
				"blocks are still live at exit.",
			"allocators that keep tiny blocks apart from growing ones."),
		shipped("trace-cc1", cc1Trace,
			"GCC 12.2's compiler proper (cc1, under gcc -O2 -c) compiling "+
				"cmd/alloclab/testdata/trace/allocs.c. GCC keeps its trees in garbage-collected pages "+
				"it maps itself, so malloc sees the rest (obstacks, hash tables, vectors): a wide mix "+
				"up to 128 KiB (16, 24 and 56 B about 9% of allocs each, 104 B 8%, 8032-byte chunks "+
				"6%, 11% above 1 KiB). Most blocks die young (median 6 ops), 28 MB are allocated for "+
				"a 3.1 MB peak, and 3577 blocks are never freed: cc1 exits without tearing down.",
			"general-purpose allocators that reuse freed blocks of every size."),
	)
}

// shipped returns the scenario of an embedded trace file. Its Params come from the
// file's header, so they cannot drift from the data.
func shipped(name string, data []byte, models, favours string) *Scenario {
	h, err := tracefile.ReadHeader(bytes.NewReader(data))
	if err != nil {
		panic(fmt.Sprintf("scenarios: shipped trace %s: %v", name, err))
	}
	return &Scenario{
		Name:    name,
		Models:  models,
		Favours: favours,
		Params: fmt.Sprintf("a recorded trace: %d ops (%d allocs, %d frees, %d reallocs), %d slots, "+
			"peak live %d B, %d B allocated; short: the first %d ops, then frees of the blocks "+
			"live at the cut. Recorded by: %s",
			h.Ops, h.Allocs, h.Frees, h.Reallocs, h.Slots, h.PeakLiveBytes, h.AllocatedBytes, shortOps, h.Command),
		Generate: func(short bool) *trace.Trace {
			limit := h.Ops
			if short {
				limit = min(shortOps, h.Ops)
			}
			_, t, err := tracefile.ReadPrefix(bytes.NewReader(data), limit)
			if err != nil {
				panic(fmt.Sprintf("scenarios: shipped trace %s: %v", name, err))
			}
			return t
		},
	}
}
