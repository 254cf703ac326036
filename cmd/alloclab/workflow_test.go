package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// TestWorkflows lints the GitHub Actions workflows with actionlint, and with
// shellcheck for their scripts where it is installed; any finding fails. It also
// checks CI runs what it claims: ci.yml runs .ci/run, which runs make check,
// make test and make race.
func TestWorkflows(t *testing.T) {
	files, err := filepath.Glob("../../.github/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in .github/workflows (%v)", err)
	}
	for path, wants := range map[string][]string{
		"../../.github/workflows/ci.yml":      {"run: .ci/run"},
		"../../.github/workflows/compare.yml": {"alloclab compare"},
		"../../.ci/run":                       {"\nmake check\n", "\nmake test\n", "\nmake race\n"},
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(data), want) {
				t.Errorf("%s does not contain %q", path, want)
			}
		}
	}
	var out bytes.Buffer
	opts := &actionlint.LinterOptions{}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck is not installed: the workflows' scripts are not checked by it")
	}
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		errs, err := l.LintFile(f, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range errs {
			t.Errorf("%s:%d:%d: %s [%s]", filepath.Base(f), e.Line, e.Column, e.Message, e.Kind)
		}
	}
}
