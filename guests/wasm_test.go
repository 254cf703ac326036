package guests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestWasmUpToDate rebuilds every .wat in the repository with wat2wasm, as make
// guests does, and checks the committed .wasm beside it has the same bytes.
func TestWasmUpToDate(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm not installed (apt-get install wabt); .ci/run installs it")
	}
	var wats []string
	for _, dir := range []string{".", "../harness", "../scenarios"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && filepath.Ext(path) == ".wat" {
				wats = append(wats, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(wats) < 10 {
		t.Fatalf("found only %d .wat files", len(wats))
	}
	tmp := t.TempDir()
	for _, wat := range wats {
		t.Run(wat, func(t *testing.T) {
			out := filepath.Join(tmp, filepath.Base(wat)+".wasm")
			cmd := exec.Command("wat2wasm", "--debug-names", filepath.Base(wat), "-o", out)
			cmd.Dir = filepath.Dir(wat)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("wat2wasm: %v\n%s", err, msg)
			}
			built, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(wat[:len(wat)-len(".wat")] + ".wasm")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(built, committed) {
				t.Errorf("%s is stale: run make guests and commit it", wat[:len(wat)-4]+".wasm")
			}
		})
	}
}
