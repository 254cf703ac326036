package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNoiseCmd(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Ten counts of two benchmarks: a steady one and one that wanders by ±20%.
	var run strings.Builder
	for i := range 10 {
		run.WriteString("BenchmarkAlloc/guest=steady 1 100 ns/op\n")
		run.WriteString("BenchmarkAlloc/guest=wandering 1 " + []string{"80", "120"}[i%2] + " ns/op\n")
	}
	good := write("good.txt", run.String())
	one := write("one.txt", "BenchmarkAlloc/guest=steady 1 100 ns/op\n")
	for _, tc := range []struct {
		name  string
		args  []string
		want  string // in stdout, or in the error
		usage bool
	}{
		{"run", []string{good}, good + ": sec/op ± over 2 benchmarks: median 0.0%, p90 20.0%; noisiest Alloc/guest=wandering ±20%\n", false},
		{"no file", nil, "usage: alloclab noise", true},
		{"missing file", []string{filepath.Join(dir, "nothing.txt")}, "nothing.txt", false},
		{"one count", []string{one}, one + ": no benchmark has two or more sec/op values", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := noiseCmd(&stdout, tc.args)
			if err == nil {
				if stdout.String() != tc.want {
					t.Errorf("got %q, want %q", stdout.String(), tc.want)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if u := (usageError{}); errors.As(err, &u) != tc.usage {
				t.Errorf("error %v: usage error %v, want %v", err, !tc.usage, tc.usage)
			}
		})
	}
}
