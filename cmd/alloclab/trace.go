package main

// alloclab trace: record, import and inspect allocation traces of real programs
// (packages scenarios/tracefile/record and scenarios/tracefile; the format is in
// scenarios/traces/README.md).

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/scenarios/tracefile/record"
)

const traceUsage = `usage:
  alloclab trace record -o out.trace [-process main|largest|NAME] [-max-ops n] [-free-live] -- command [args...]
  alloclab trace import -o out.trace [-source s] [-command c] [-max-ops n] [-free-live] file.mtrace
  alloclab trace record-wasm -o out.trace [-invoke export] [-max-ops n] [-free-live] [-timeout d] module.wasm [-- args...]
  alloclab trace info file.trace...`

// traceCmd runs 'alloclab trace SUBCOMMAND ...'.
func traceCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		return usagef("trace: no subcommand\n%s", traceUsage)
	}
	switch args[0] {
	case "record":
		return traceRecord(ctx, stdout, stderr, args[1:])
	case "import":
		return traceImport(stderr, args[1:])
	case "record-wasm":
		return traceRecordWasm(ctx, stdout, stderr, args[1:])
	case "info":
		return traceInfo(stdout, stderr, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, traceUsage)
		return nil
	}
	return usagef("trace: unknown subcommand %q\n%s", args[0], traceUsage)
}

// traceOutput holds the flags every recording subcommand shares.
type traceOutput struct {
	output   string
	maxOps   int
	freeLive bool
}

func (o *traceOutput) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.output, "o", "", "write the trace to this file (required)")
	fs.IntVar(&o.maxOps, "max-ops", 0, "keep the first n ops and free the blocks live at the cut (0: all)")
	fs.BoolVar(&o.freeLive, "free-live", false, "free the blocks still live at the end (by default they stay live, as the program left them)")
}

func (o *traceOutput) check(cmd string) error {
	if o.output == "" {
		return usagef("trace %s: -o file is required", cmd)
	}
	if o.maxOps < 0 {
		return usagef("trace %s: -max-ops %d: want 0 (all) or more", cmd, o.maxOps)
	}
	return nil
}

// finish ends the recording, writes its trace to the -o file with the header's
// command set to command, and prints the warnings and a summary.
func (o *traceOutput) finish(stderr io.Writer, rec *record.Recording, command string) error {
	t, freed := rec.End(o.freeLive)
	if freed > 0 {
		fmt.Fprintf(stderr, "# freed the %d blocks live at the end (-free-live)\n", freed)
	}
	if len(t.Ops) == 0 {
		return fmt.Errorf("no allocator calls were recorded: nothing to write to %s", o.output)
	}
	rec.Header.Command = command
	var buf bytes.Buffer
	if err := tracefile.Write(&buf, rec.Header, t); err != nil {
		return err
	}
	if err := results.WriteAtomic(o.output, buf.Bytes()); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	for _, w := range rec.Warnings {
		fmt.Fprintf(stderr, "# warning: %s\n", w)
	}
	st := t.Stats()
	fmt.Fprintf(stderr, "# wrote %s: %d ops (%d allocs, %d frees, %d reallocs), %d slots, peak live %d bytes, %d bytes allocated, %d blocks live at the end; %d bytes\n",
		o.output, len(t.Ops), st.Allocs, st.Frees, st.Reallocs, t.Slots, st.PeakLiveBytes, st.AllocatedBytes, rec.Events.Live(), buf.Len())
	return nil
}

// traceParse parses args allowing flags before and after the positional
// arguments; what follows "--" is returned as rest.
func traceParse(fs *flag.FlagSet, args []string) (pos, rest []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, parseError(err)
		}
		left := fs.Args()
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return pos, left, nil
		}
		if len(left) == 0 {
			return pos, nil, nil
		}
		pos = append(pos, left[0])
		args = left[1:]
	}
}

// shellQuote quotes args for a POSIX shell, leaving plain words as they are.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// --- import ---

func traceImport(stderr io.Writer, args []string) error {
	var o traceOutput
	var source, command string
	fs := newFlagSet("alloclab trace import", stderr)
	o.flags(fs)
	fs.StringVar(&source, "source", "", "the program the log came from, for the header (default: the log's file name)")
	fs.StringVar(&command, "command", "", "the command that recorded the log, for the header")
	pos, rest, err := traceParse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(rest) != 0 {
		return usagef("trace import: want one mtrace log, got %d arguments", len(pos)+len(rest))
	}
	if err := o.check("import"); err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	rec, err := record.Import(f, pos[0], o.maxOps)
	if err != nil {
		return err
	}
	rec.Header.Source = cmp.Or(source, "glibc mtrace log "+filepath.Base(pos[0]))
	return o.finish(stderr, rec, cmp.Or(command, "alloclab trace import "+shellQuote(args)))
}

// --- record ---

func traceRecord(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var o traceOutput
	var process string
	fs := newFlagSet("alloclab trace record", stderr)
	o.flags(fs)
	fs.StringVar(&process, "process", "main", "which process's allocations to keep: main (the command's own), largest (the one with the most calls), or an executable's base name (its largest process)")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	command := fs.Args()
	if len(command) == 0 {
		return usagef("trace record: no command: want 'alloclab trace record -o out.trace -- command [args...]'")
	}
	if err := o.check("record"); err != nil {
		return err
	}
	rec, err := record.Mtrace(ctx, command, record.MtraceOptions{
		Process: process, MaxOps: o.maxOps, Stdin: os.Stdin, Stdout: stdout, Stderr: stderr,
		Start: func() { fmt.Fprintf(stderr, "# recording %s\n", shellQuote(command)) },
	})
	if rec != nil {
		for _, p := range rec.Processes {
			fmt.Fprintf(stderr, "# process %d %s: %d mtrace lines\n", p.Pid, p.Exe, p.Lines)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "# ran in %v; keeping process %d (%s)\n", rec.Elapsed.Round(time.Millisecond), rec.Process.Pid, rec.Process.Exe)
	return o.finish(stderr, rec, "alloclab trace record "+shellQuote(args))
}

// --- record-wasm ---

func traceRecordWasm(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	var o traceOutput
	var invoke string
	var timeout time.Duration
	fs := newFlagSet("alloclab trace record-wasm", stderr)
	o.flags(fs)
	fs.StringVar(&invoke, "invoke", "_start", "the export to call: a function of no parameters")
	fs.DurationVar(&timeout, "timeout", 10*time.Minute, "time limit of the run")
	pos, rest, err := traceParse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("trace record-wasm: want one module (and its arguments after --), got %d arguments", len(pos))
	}
	if err := o.check("record-wasm"); err != nil {
		return err
	}
	path := pos[0]
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rec, err := record.Wasm(ctx, path, bin, record.WasmOptions{
		Invoke: invoke, Args: rest, Stdout: stdout, Stderr: stderr, Timeout: timeout, MaxOps: o.maxOps,
		Compiled: func(found, ignored []string) {
			for _, ig := range ignored {
				fmt.Fprintf(stderr, "# warning: not recording %s\n", ig)
			}
			if len(found) > 0 {
				fmt.Fprintf(stderr, "# recording %s: %s\n", path, strings.Join(found, ", "))
			}
		},
	})
	var ie *record.InvokeError
	switch {
	case errors.As(err, &ie) && ie.Params < 0:
		return usagef("trace record-wasm: %s exports no function %q to invoke", path, invoke)
	case errors.As(err, &ie):
		return usagef("trace record-wasm: -invoke %s: the function takes %d parameters; want none", invoke, ie.Params)
	case err != nil:
		return err
	}
	fmt.Fprintf(stderr, "# ran %s in %v\n", invoke, rec.Elapsed.Round(time.Millisecond))
	return o.finish(stderr, rec, "alloclab trace record-wasm "+shellQuote(args))
}

// --- info ---

func traceInfo(stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("alloclab trace info", stderr)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() == 0 {
		return usagef("trace info: want one or more trace files")
	}
	for i, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h, t, err := tracefile.Read(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		marks := h.Ops - h.Allocs - h.Frees - h.Reallocs - h.Resets
		fmt.Fprintf(stdout, "file        %s (%d bytes)\n", path, len(data))
		fmt.Fprintf(stdout, "version     %d\n", h.Version)
		fmt.Fprintf(stdout, "source      %s\n", h.Source)
		fmt.Fprintf(stdout, "command     %s\n", h.Command)
		if h.Notes != "" {
			fmt.Fprintf(stdout, "notes       %s\n", h.Notes)
		}
		fmt.Fprintf(stdout, "ops         %d (%d allocs, %d frees, %d reallocs, %d resets, %d marks)\n", h.Ops, h.Allocs, h.Frees, h.Reallocs, h.Resets, marks)
		fmt.Fprintf(stdout, "slots       %d\n", h.Slots)
		fmt.Fprintf(stdout, "peak live   %d bytes\n", h.PeakLiveBytes)
		fmt.Fprintf(stdout, "allocated   %d bytes\n", h.AllocatedBytes)
		fmt.Fprintf(stdout, "live at end %d blocks\n", t.Stats().LiveBlocks)
	}
	return nil
}
