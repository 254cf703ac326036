package baselines

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBuildOnce builds dlmalloc and tinygo-leaking with a copy of build.sh and
// this folder's sources, twice: the second run must find both up to date. The
// first TinyGo baseline used to be rebuilt by every run, its stamp checked before
// the TinyGo toolchain was looked up and written after.
func TestBuildOnce(t *testing.T) {
	tmp := t.TempDir()
	copyTree(t, ".", filepath.Join(tmp, "baselines"))
	copyTree(t, "../tinygo", filepath.Join(tmp, "tinygo"))
	build := func() string {
		cmd := exec.Command(filepath.Join(tmp, "baselines", "build.sh"), "dlmalloc", "tinygo-leaking")
		msg, err := cmd.CombinedOutput()
		if skipped := regexp.MustCompile(`skipped [^\n]*`).Find(msg); skipped != nil {
			t.Skipf("build.sh: %s", skipped)
		}
		if err != nil {
			t.Fatalf("build.sh: %v\n%s", err, msg)
		}
		return string(msg)
	}
	build()
	again := build()
	for _, name := range []string{"dlmalloc", "tinygo-leaking"} {
		if !strings.Contains(again, "build.sh: "+name+" is up to date") {
			t.Errorf("the second build.sh run did not find %s up to date:\n%s", name, again)
		}
	}
}

// copyTree copies the regular files under src to dst, leaving out what builds make.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "out" || d.Name() == "cache" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
