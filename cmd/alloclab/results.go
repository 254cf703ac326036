package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/perf/benchfmt"
)

// results writes benchfmt records as they come. With a file, it rewrites the whole
// file after each record through a temporary file and a rename, so the file on disk
// is always complete and valid whenever the run is interrupted.
type results struct {
	w    *benchfmt.Writer
	buf  bytes.Buffer
	out  io.Writer // standard output, when there is no file
	path string
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
	tmp, err := os.CreateTemp(filepath.Dir(r.path), filepath.Base(r.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(r.buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("-o %s: %w", r.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("-o %s: %w", r.path, err)
	}
	if err := os.Rename(tmp.Name(), r.path); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}
