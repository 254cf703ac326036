package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/perf/benchfmt"
)

// Writer appends records to a results file, each in one write, so the file holds
// every record that finished whenever the run stops, with at most a torn last line
// that Resume cuts. With a path it also appends heap records to the sidecar,
// created at the first one.
type Writer struct {
	out      io.Writer
	bw       *benchfmt.Writer
	heap     *os.File // the sidecar, opened at the first heap record
	files    []*os.File
	path     string // the results file, "" without one
	declared map[string]bool
}

// NewWriter returns a Writer to w, without a sidecar: heap records are dropped.
func NewWriter(w io.Writer) *Writer {
	return &Writer{out: w, bw: benchfmt.NewWriter(w), declared: map[string]bool{}}
}

// Create creates (or truncates) the results file at path, and removes an old
// sidecar: a new one is written at the first heap record, so a run without heap
// data (the boundary suite) leaves none.
func Create(path string) (*Writer, error) {
	if err := os.Remove(HeapPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("-o %s: %w", path, err)
	}
	return open(path, os.O_TRUNC)
}

// Resume reopens the results file at path to append to it, after cutting a torn
// last line, and returns how many results it already has for each benchmark
// name (without "Benchmark"). A file that does not exist is created.
func Resume(path string) (*Writer, map[string]int, error) {
	done := map[string]int{}
	text, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if i := bytes.LastIndexByte(text, '\n'); i+1 < len(text) {
		text = text[:i+1]
		if err := os.Truncate(path, int64(len(text))); err != nil {
			return nil, nil, err
		}
	}
	rd := benchfmt.NewReader(bytes.NewReader(text), path)
	declared := map[string]bool{}
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, nil, rec
		case *benchfmt.UnitMetadata:
			declared[rec.OrigUnit] = true
		case *benchfmt.Result:
			done[string(rec.Name)]++
		}
	}
	hp := HeapPath(path)
	if b, err := os.ReadFile(hp); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		if err := os.Truncate(hp, int64(bytes.LastIndexByte(b, '\n')+1)); err != nil {
			return nil, nil, err
		}
	}
	w, err := open(path, os.O_APPEND)
	if err != nil {
		return nil, nil, err
	}
	w.declared = declared
	return w, done, nil
}

func open(path string, flag int) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o644)
	if err != nil {
		return nil, err
	}
	w := NewWriter(f)
	w.path, w.files = path, []*os.File{f}
	return w, nil
}

// Declare writes the "Unit" line of each unit the tables (Units, BoundaryUnits)
// describe and this file has not declared yet.
func (w *Writer) Declare(units ...string) error {
	var b bytes.Buffer
	for _, u := range units {
		if line := MetadataLine(u); line != "" && !w.declared[u] {
			w.declared[u] = true
			b.WriteString(line + "\n")
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := w.out.Write(b.Bytes())
	return w.err(err)
}

// Write appends a result, declaring its units first.
func (w *Writer) Write(r *benchfmt.Result) error {
	for _, v := range r.Values {
		if err := w.Declare(v.Unit); err != nil {
			return err
		}
	}
	return w.err(w.bw.Write(r))
}

// Heap appends a benchmark's heap record to the sidecar; without one it does nothing.
func (w *Writer) Heap(name string, rec *HeapRecord) error {
	if w.path == "" || rec == nil {
		return nil
	}
	if w.heap == nil {
		h, err := os.OpenFile(HeapPath(w.path), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return w.err(err)
		}
		w.heap, w.files = h, append(w.files, h)
	}
	b, err := json.Marshal(heapLine{Name: name, HeapRecord: rec})
	if err != nil {
		return err
	}
	_, err = w.heap.Write(append(b, '\n'))
	return w.err(err)
}

// Close closes the files.
func (w *Writer) Close() error {
	var errs []error
	for _, f := range w.files {
		errs = append(errs, f.Close())
	}
	return w.err(errors.Join(errs...))
}

func (w *Writer) err(err error) error {
	if err != nil && w.path != "" {
		return fmt.Errorf("-o %s: %w", w.path, err)
	}
	return err
}

// WriteAtomic replaces the file at path with data through a temporary file and a
// rename, so a reader never sees half of it.
func WriteAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
