// Package record records the allocations of real programs as traces, for package
// tracefile to write and every guest to replay (the policies are in
// scenarios/traces/README.md).
//
//   - Mtrace runs a dynamically linked native command under glibc's mtrace and
//     keeps one process's calls. It needs glibc 2.34 or later (it preloads
//     libc_malloc_debug.so.0) and a C compiler ($CC, cc, gcc or clang) to build a
//     small shim, preloaded too, that gives each process a log of its own and
//     notes its executable.
//   - Wasm runs a WebAssembly module under wazero with WASI but no files,
//     environment or network, calls one export, and records the module's calls
//     to its own malloc, free, realloc and friends (tracefile.WasmRecorder).
//   - Import converts an mtrace log that already exists.
//
// Each returns a Recording: the events recorded, the header's source and notes,
// and the warnings to show. End ends it and gives the trace:
//
//	rec, err := record.Wasm(ctx, "prog.wasm", bin, record.WasmOptions{Timeout: time.Minute})
//	...
//	t, _ := rec.End(false)
//	rec.Header.Command = "how it was recorded"
//	err = tracefile.Write(w, rec.Header, t)
//
// A command that exits with a non-zero status still gives its trace, as far as
// it went, with a warning.
package record

import (
	"io"
	"strings"
	"time"

	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

// Recording is what a recorder saw.
type Recording struct {
	// Events holds the ops recorded; End ends the recording and returns them.
	Events *tracefile.Events
	// Header has the trace's Source and Notes; the caller sets Command.
	Header tracefile.Header
	// Warnings are what the user should know, one line each.
	Warnings []string
	// Elapsed is how long the command, or the module's export, ran.
	Elapsed time.Duration

	// Processes are the processes Mtrace found a log of, by pid, and Process
	// the one it kept.
	Processes []Process
	Process   Process
	// Found are the allocator functions Wasm recorded, as "name (function N)".
	Found []string
}

// End ends the recording and returns its trace. With freeLive it first frees
// the blocks still live and returns how many. What Events left out or changed
// goes into Header.Notes and Warnings.
func (r *Recording) End(freeLive bool) (t *trace.Trace, freed int) {
	if freeLive {
		freed = r.Events.FreeLive()
	}
	t = r.Events.Trace()
	if s := r.Events.Skipped.String(); s != "" {
		r.Header.Notes = joinNotes(r.Header.Notes, s)
		r.Warnings = append(r.Warnings, strings.Split(s, "; ")...)
	}
	return t, freed
}

// Import converts the glibc mtrace log r into a recording; name names the log
// in errors (see tracefile.ImportMtrace). maxOps, if positive, keeps the first
// maxOps ops and frees the blocks live at the cut. The header's notes say when
// the log has no end marker or its last line was cut short; Source is left to
// the caller.
func Import(r io.Reader, name string, maxOps int) (*Recording, error) {
	ev := &tracefile.Events{MaxOps: maxOps}
	m, err := tracefile.ImportMtrace(r, name, ev)
	if err != nil {
		return nil, err
	}
	rec := &Recording{Events: ev}
	if !m.Ended {
		rec.Header.Notes = "the log has no end marker (the program did not call muntrace): blocks live at exit stay live"
	}
	if m.Truncated {
		rec.Header.Notes = joinNotes(rec.Header.Notes, "the log's last line was cut short and left out")
		rec.Warnings = append(rec.Warnings, "the log's last line was cut short and was left out")
	}
	return rec, nil
}

func joinNotes(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}
