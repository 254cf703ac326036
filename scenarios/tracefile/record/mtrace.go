package record

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alloclab/alloclab/scenarios/tracefile"
)

// MtraceOptions say how Mtrace runs a command and which process it keeps.
type MtraceOptions struct {
	// Process says whose calls to keep: "main" (the command's own process; ""
	// too), "largest" (the process with the most calls), or an executable's base
	// name, such as cc1 (its process with the most calls).
	Process string
	// MaxOps, if positive, keeps the first MaxOps ops and frees the blocks live
	// at the cut.
	MaxOps int
	// Stdin, Stdout and Stderr are the command's; nil is the null device.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Start, if set, is called just before the command starts.
	Start func()
}

// Process is one process's log from an Mtrace recording.
type Process struct {
	Pid   int
	Exe   string // its executable, if the shim could note it
	Lines int    // the log's lines: about one per allocator call
	log   string // the log's path, removed when Mtrace returns
}

// Mtrace runs command under glibc's mtrace and records the allocator calls of
// the process opts.Process chooses. If the command ran but that process wrote
// no log, Mtrace returns the Recording's Processes with the error.
func Mtrace(ctx context.Context, command []string, opts MtraceOptions) (*Recording, error) {
	if len(command) == 0 {
		return nil, errors.New("no command to record")
	}
	dir, err := os.MkdirTemp("", "alloclab-mtrace-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if strings.ContainsAny(dir, " :") || len(dir) > 2000 {
		// LD_PRELOAD splits on spaces and colons; the shim's paths must be short.
		return nil, fmt.Errorf("temporary directory %q cannot go in LD_PRELOAD: set TMPDIR to a path without spaces or colons", dir)
	}
	preload, err := buildShim(ctx, dir)
	if err != nil {
		return nil, err
	}
	if old := os.Getenv("LD_PRELOAD"); old != "" {
		preload += " " + old
	}
	base := filepath.Join(dir, "mtrace")
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+preload, "ALLOCLAB_MTRACE="+base, "MALLOC_TRACE=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	if opts.Start != nil {
		opts.Start()
	}
	start := time.Now()
	runErr := cmd.Run()
	rec := &Recording{Elapsed: time.Since(start)}
	if runErr != nil {
		var exit *exec.ExitError
		if !errors.As(runErr, &exit) || cmd.ProcessState == nil {
			return nil, fmt.Errorf("running %s: %w", command[0], runErr)
		}
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("the command %s; the trace covers the run as far as it went", exit.ProcessState))
	}
	if rec.Processes, err = processes(base); err != nil {
		return nil, err
	}
	if rec.Process, err = choose(rec.Processes, cmp.Or(opts.Process, "main"), cmd.ProcessState.Pid()); err != nil {
		return rec, err
	}
	f, err := os.Open(rec.Process.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	imp, err := Import(f, "mtrace log of process "+strconv.Itoa(rec.Process.Pid), opts.MaxOps)
	if err != nil {
		return nil, err
	}
	exe := cmp.Or(rec.Process.Exe, command[0])
	rec.Events, rec.Warnings = imp.Events, append(rec.Warnings, imp.Warnings...)
	rec.Header = tracefile.Header{
		Source: fmt.Sprintf("%s, recorded with glibc mtrace (%s)", exe, glibcVersion(ctx)),
		Notes:  imp.Header.Notes,
	}
	return rec, nil
}

// shim is the preloaded object: its constructor points MALLOC_TRACE at a log of
// its own process (so children do not overwrite their parent's log), notes the
// process's executable beside it, and calls mtrace(), which glibc 2.34 and later
// implement in libc_malloc_debug.so, preloaded before it.
const shim = `#define _GNU_SOURCE
#include <fcntl.h>
#include <mcheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void alloclab_mtrace(void) {
	const char *base = getenv("ALLOCLAB_MTRACE");
	char path[4096], exe[4096], note[4200];
	if (base == NULL || strlen(base) > 3000)
		return;
	snprintf(path, sizeof path, "%s.%ld", base, (long)getpid());
	snprintf(note, sizeof note, "%s.exe", path);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
	int fd = open(note, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (n > 0 && write(fd, exe, (size_t)n) != n) {
			/* the note is only informative */
		}
		close(fd);
	}
	setenv("MALLOC_TRACE", path, 1);
	mtrace();
	unsetenv("MALLOC_TRACE");
}
`

// CC returns the C compiler Mtrace builds its shim with: $CC, cc, gcc or clang.
func CC() (string, error) {
	if cc := os.Getenv("CC"); cc != "" {
		return exec.LookPath(cc)
	}
	for _, cc := range []string{"cc", "gcc", "clang"} {
		if p, err := exec.LookPath(cc); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no C compiler to build the mtrace shim: install gcc (apt-get install gcc) or set CC")
}

// buildShim builds the shim into dir and finds libc_malloc_debug.so.0; it
// returns the LD_PRELOAD list.
func buildShim(ctx context.Context, dir string) (string, error) {
	cc, err := CC()
	if err != nil {
		return "", err
	}
	src, so := filepath.Join(dir, "alloclab_mtrace.c"), filepath.Join(dir, "alloclab_mtrace.so")
	if err := os.WriteFile(src, []byte(shim), 0o600); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, cc, "-shared", "-fPIC", "-O2", "-o", so, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the mtrace shim with %s: %v\n%s", cc, err, out)
	}
	out, err := exec.CommandContext(ctx, cc, "-print-file-name=libc_malloc_debug.so.0").Output()
	debug := strings.TrimSpace(string(out))
	if err != nil || !filepath.IsAbs(debug) {
		return "", errors.New("glibc's libc_malloc_debug.so.0 was not found: recording needs glibc 2.34 or later")
	}
	return debug + " " + so, nil
}

// processes lists the logs the shim wrote, one per process, by pid.
func processes(base string) ([]Process, error) {
	matches, err := filepath.Glob(base + ".*")
	if err != nil {
		return nil, err
	}
	var procs []Process
	for _, path := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(path, base+"."))
		if err != nil {
			continue // the .exe notes
		}
		p := Process{Pid: pid, log: path}
		if exe, err := os.ReadFile(path + ".exe"); err == nil {
			p.Exe = string(exe)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), tracefile.MaxLine)
		for sc.Scan() {
			p.Lines++
		}
		f.Close()
		procs = append(procs, p)
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].Pid < procs[j].Pid })
	return procs, nil
}

// choose picks the process which names (see MtraceOptions.Process); main is
// the command's own pid.
func choose(procs []Process, which string, main int) (Process, error) {
	if len(procs) == 0 {
		return Process{}, errors.New("the command wrote no mtrace log: is it a dynamically linked program using glibc's malloc (not static, not setuid)?")
	}
	var best *Process
	for i := range procs {
		p := &procs[i]
		switch which {
		case "main":
			if p.Pid == main {
				return *p, nil
			}
			continue
		case "largest":
		default:
			if filepath.Base(p.Exe) != which {
				continue
			}
		}
		if best == nil || p.Lines > best.Lines {
			best = p
		}
	}
	if best == nil {
		if which == "main" {
			return Process{}, fmt.Errorf("the command's own process (%d) wrote no mtrace log; -process largest or a program name picks another", main)
		}
		return Process{}, fmt.Errorf("-process %s: no process ran an executable of that name", which)
	}
	return *best, nil
}

func glibcVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "getconf", "GNU_LIBC_VERSION").Output()
	if err != nil {
		return "glibc"
	}
	return strings.TrimSpace(string(out))
}
