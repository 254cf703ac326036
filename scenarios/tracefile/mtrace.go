package tracefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/alloclab/alloclab/trace"
)

// MaxLine is the longest mtrace line ImportMtrace accepts.
const MaxLine = 64 << 10

// Mtrace is the result of importing a glibc mtrace log.
type Mtrace struct {
	Trace *trace.Trace
	Lines int // lines read

	Skipped Skipped
	// Ended says the log had its "= End" marker. mtrace writes it only when the
	// program calls muntrace, so logs recorded with a preloaded mtrace() never
	// have it; the blocks live at the end stay live in the trace.
	Ended bool
	// Truncated says the log's last line was cut short (it had no newline and
	// did not parse, or it was the first half of a realloc): it was left out.
	Truncated bool
}

// Warnings returns what the import changed or left out, one line each.
func (m *Mtrace) Warnings() []string {
	var w []string
	if m.Truncated {
		w = append(w, "the last line was cut short and was left out")
	}
	if s := m.Skipped.String(); s != "" {
		w = append(w, strings.Split(s, "; ")...)
	}
	return w
}

// ImportMtrace converts a glibc mtrace log (as MALLOC_TRACE names, written by
// mtrace(3)) into a trace. name names the log in errors, which give its line
// number: a line that is not mtrace's is an error.
//
// mtrace logs one line per call, optionally after the caller ("@ file:[addr] "):
//
//	= Start                    tracing began
//	+ PTR SIZE                 malloc, calloc, memalign... returned PTR ((nil) on failure)
//	- PTR                      free(PTR), or realloc(PTR, 0)
//	< OLD                      realloc(OLD, SIZE) returned NEW: always followed by
//	> NEW SIZE                 this line
//	! OLD SIZE                 realloc(OLD, SIZE) failed; OLD is still live
//	= End                      muntrace()
//
// Pointers and sizes are hexadecimal (%p and %#lx: "0x1f", and "0" for a size of
// zero). mtrace records no alignment: each block gets DefaultAlign (16 at 16
// bytes and above, 8 below, glibc's guarantee on 64-bit systems), and memalign,
// aligned_alloc and posix_memalign blocks are indistinguishable from malloc's.
// Events gives the policies for frees of unknown pointers, sizes above
// MaxSize (left out, with their later frees and reallocs) and the rest;
// ev.MaxOps, if set, cuts the trace. ev may be nil.
func ImportMtrace(r io.Reader, name string, ev *Events) (*Mtrace, error) {
	if ev == nil {
		ev = &Events{}
	}
	m := &Mtrace{}
	br := bufio.NewReaderSize(r, 64<<10)
	var pendingOld uint64 // the OLD of a "<" line waiting for its ">"
	pending := false
	pendingLine := 0
	for {
		line, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errLong) {
				return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, m.Lines+1, MaxLine)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if line == "" && errors.Is(err, io.EOF) {
			break
		}
		m.Lines++
		last := errors.Is(err, io.EOF) // no newline: the last line, maybe cut short
		text := strings.TrimSuffix(line, "\n")
		e, perr := parseMtraceLine(text)
		if perr != nil {
			if last && cutShort(text) {
				m.Truncated = true
				break
			}
			return nil, fmt.Errorf("%s:%d: %v: %q", name, m.Lines, perr, clip(text))
		}
		if pending != (e.op == '>') {
			if pending {
				return nil, fmt.Errorf("%s:%d: realloc line %q does not follow the \"<\" line %d", name, m.Lines, clip(text), pendingLine)
			}
			return nil, fmt.Errorf("%s:%d: %q does not follow a \"<\" line", name, m.Lines, clip(text))
		}
		switch e.op {
		case 'S':
			m.Ended = false
		case 'E':
			m.Ended = true
		case '+':
			ev.Alloc(e.ptr, e.size, uint64(DefaultAlign(e.size)))
		case '-':
			ev.Free(e.ptr)
		case '<':
			pending, pendingOld, pendingLine = true, e.ptr, m.Lines
			if last {
				m.Truncated = true
			}
		case '>':
			pending = false
			ev.Realloc(pendingOld, e.ptr, e.size)
		case '!':
			ev.Skipped.Failed++ // the old block is still live: nothing changes
		}
		if last {
			break
		}
	}
	if pending {
		m.Truncated = true // the log ends between a realloc's two lines
	}
	m.Trace = ev.Trace()
	m.Skipped = ev.Skipped
	return m, nil
}

var errLong = errors.New("line too long")

// readLine returns the next line with its newline, or without one at the end of
// the input (with io.EOF).
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(b) > MaxLine {
		return "", errLong
	}
	return string(b), err
}

// cutShort says whether an unterminated last line that did not parse looks like
// the start of an mtrace line, cut short when the program died.
func cutShort(s string) bool {
	if s == "" || s == "=" || s == "@" {
		return true
	}
	for _, p := range []string{"@ ", "= ", "+ ", "- ", "< ", "> ", "! "} {
		if strings.HasPrefix(s, p) || strings.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

type mtraceEvent struct {
	op        byte // + - < > ! and S, E for the markers
	ptr, size uint64
}

// parseMtraceLine parses one line, without its newline.
func parseMtraceLine(s string) (mtraceEvent, error) {
	switch s {
	case "= Start":
		return mtraceEvent{op: 'S'}, nil
	case "= End":
		return mtraceEvent{op: 'E'}, nil
	}
	f := strings.Fields(s)
	n := len(f)
	var e mtraceEvent
	var prefix []string
	var err error
	switch {
	case n >= 2 && (f[n-2] == "-" || f[n-2] == "<"):
		e.op = f[n-2][0]
		if e.ptr, err = parsePtr(f[n-1]); err != nil {
			return e, err
		}
		prefix = f[:n-2]
	case n >= 3 && (f[n-3] == "+" || f[n-3] == ">" || f[n-3] == "!"):
		e.op = f[n-3][0]
		if e.ptr, err = parsePtr(f[n-2]); err != nil {
			return e, err
		}
		if e.size, err = parseHex(f[n-1], "size"); err != nil {
			return e, err
		}
		prefix = f[:n-3]
	default:
		return e, errors.New("not an mtrace line")
	}
	// The caller, if any: "@ file:(symbol+off)[addr]" or "@ [addr]" (the file
	// name may hold spaces).
	if len(prefix) > 0 && (prefix[0] != "@" || len(prefix) < 2 || !strings.HasSuffix(prefix[len(prefix)-1], "]")) {
		return e, errors.New("not an mtrace line (bad caller)")
	}
	return e, nil
}

func parsePtr(s string) (uint64, error) {
	if s == "(nil)" {
		return 0, nil
	}
	return parseHex(s, "pointer")
}

func parseHex(s, what string) (uint64, error) {
	if s == "0" {
		return 0, nil
	}
	if !strings.HasPrefix(s, "0x") || len(s) < 3 {
		return 0, fmt.Errorf("%s %q is not hexadecimal", what, s)
	}
	v, err := strconv.ParseUint(s[2:], 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a 64-bit hexadecimal number", what, s)
	}
	return v, nil
}
