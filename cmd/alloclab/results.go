package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/harness"
)

// results writes benchfmt records as they come. With a file, it rewrites the whole
// file after each record through a temporary file and a rename, so the file on disk
// is always complete and valid whenever the run is interrupted.
type results struct {
	w    *benchfmt.Writer
	buf  bytes.Buffer
	out  io.Writer // standard output, when there is no file
	path string
	heap map[string]*heapRecord // the heap sidecar, written beside the file
}

// heapRecord is what the results pages draw for one benchmark: utilisation over
// the trace and heap maps, from its checked passes. The sidecar file
// RUN.heap.json beside RUN.txt maps benchmark names (without "Benchmark") to these.
type heapRecord struct {
	Samples []harness.Sample  `json:"samples"`
	Peak    *harness.HeapMap  `json:"peak,omitempty"`
	OOM     *harness.HeapMap  `json:"oom,omitempty"`
	OOMAt   *harness.OOMPoint `json:"oom_point,omitempty"`
	// Counts is what the checked pass's ops cost the guest, over all and per op
	// kind; absent when the guest could not be metered.
	Counts *harness.Counts `json:"counts,omitempty"`
}

// heapPath returns the sidecar's path for a results file.
func heapPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".heap.json"
}

// Heap records a benchmark's heap data; it is written with the next flush.
func (r *results) Heap(name string, e *harness.Exact) {
	if r.path == "" || e == nil {
		return
	}
	if r.heap == nil {
		r.heap = map[string]*heapRecord{}
	}
	r.heap[name] = &heapRecord{Samples: e.Samples, Peak: e.PeakMap, OOM: e.OOMMap, OOMAt: e.OOM, Counts: e.Counts}
}

func newResults(stdout io.Writer, path string) (*results, error) {
	r := &results{out: stdout, path: path}
	r.w = benchfmt.NewWriter(&r.buf)
	if path != "" {
		if err := r.flush(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// resume loads what the results file at r.path already holds, keeping it, and
// returns the number of results it has for each benchmark name.
func (r *results) resume() (map[string]int, error) {
	done := map[string]int{}
	text, err := os.ReadFile(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	} else if err != nil {
		return nil, fmt.Errorf("-resume: %w", err)
	}
	rd := benchfmt.NewReader(bytes.NewReader(text), r.path)
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, fmt.Errorf("-resume: %v", rec)
		case *benchfmt.Result:
			done[string(rec.Name)]++
		}
	}
	r.buf.Write(text)
	if b, err := os.ReadFile(heapPath(r.path)); err == nil {
		if err := json.Unmarshal(b, &r.heap); err != nil {
			return nil, fmt.Errorf("-resume: %s: %v", heapPath(r.path), err)
		}
	}
	return done, nil
}

// Write writes rec and makes it durable.
func (r *results) Write(rec benchfmt.Record) error {
	if err := r.w.Write(rec); err != nil {
		return err
	}
	if _, ok := rec.(*benchfmt.Result); !ok {
		return nil // unit metadata waits for the first result
	}
	return r.flush()
}

func (r *results) flush() error {
	if r.path == "" {
		_, err := r.out.Write(r.buf.Bytes())
		r.buf.Reset()
		return err
	}
	if r.heap != nil {
		b, err := json.Marshal(r.heap)
		if err != nil {
			return err
		}
		if err := writeAtomic(heapPath(r.path), b); err != nil {
			return err
		}
	}
	return writeAtomic(r.path, r.buf.Bytes())
}

// writeAtomic replaces the file at path with data through a temporary file and a
// rename, so a reader never sees half of it.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}
