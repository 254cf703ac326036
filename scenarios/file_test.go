package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFromFile loads a shipped trace as a user's own, and names the file when it
// is not a trace.
func TestFromFile(t *testing.T) {
	sc, err := FromFile("traces/perl.trace")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := Lookup("trace-perl")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(sc.Trace(true).Ops), len(shipped.Trace(false).Ops); sc.Name != "trace-perl" || got != want {
		t.Errorf("FromFile: %s with %d ops, want trace-perl with %d", sc.Name, got, want)
	}
	// The same name does not share the shipped scenario's short trace.
	if got, want := len(shipped.Trace(true).Ops), len(shipped.Generate(true).Ops); got != want {
		t.Errorf("trace-perl's short trace has %d ops after FromFile, want %d", got, want)
	}
	bad := filepath.Join(t.TempDir(), "bad.trace")
	if err := os.WriteFile(bad, []byte("not a trace"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FromFile(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": ") {
		t.Errorf("FromFile(%s) = %v, want an error naming the file", bad, err)
	}
}
