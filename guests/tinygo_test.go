package guests

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTinyGoUpToDate rebuilds the TinyGo twins with tinygo/build.sh, as make
// guests does, and checks the committed .wasm files have the same bytes. Other
// TinyGo or LLVM versions give other bytes, so it runs only with the toolchain the
// twins were built with: the one tinygo/toolchain.sh builds.
func TestTinyGoUpToDate(t *testing.T) {
	out, err := exec.Command("tinygo/toolchain.sh", "-cached").Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		t.Skipf("no TinyGo: %s", bytes.TrimSpace(exit.Stderr))
	}
	if err != nil {
		t.Fatalf("tinygo/toolchain.sh -cached: %v", err)
	}
	line, err := os.ReadFile(filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "toolchain.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(line)); got != TinyGoVersion {
		t.Skipf("TinyGo is %q, the twins were built with %q", got, TinyGoVersion)
	}
	tmp := t.TempDir()
	if msg, err := exec.Command("tinygo/build.sh", "-o", tmp).CombinedOutput(); err != nil {
		t.Fatalf("tinygo/build.sh: %v\n%s", err, msg)
	}
	n := 0
	for _, g := range All {
		if !strings.HasSuffix(g.Name, "-tinygo") {
			continue
		}
		n++
		t.Run(g.Name, func(t *testing.T) {
			built, err := os.ReadFile(filepath.Join(tmp, g.Name+".wasm"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(built, g.Wasm) {
				t.Errorf("%s.wasm is stale: run guests/tinygo/build.sh (make guests) and commit it", g.Name)
			}
		})
	}
	if n != 4 {
		t.Errorf("%d TinyGo twins in All, want 4", n)
	}
}
