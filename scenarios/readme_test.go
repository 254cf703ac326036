package scenarios

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the registry table in README.md")

const (
	tableStart = "<!-- registry table: go test ./scenarios -update -->\n"
	tableEnd   = "<!-- end of registry table -->\n"
)

// registryTable renders the registry as the Markdown table README.md holds.
func registryTable() string {
	var b strings.Builder
	b.WriteString("| scenario | models | favours | parameters |\n|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, s := range All {
		name := "`" + s.Name + "`"
		for _, v := range s.Variants {
			name += "<br>`" + v.Name + "`"
		}
		if s.MarkUnit != "" {
			name += "<br>reports `" + s.MarkUnit + "`"
		}
		b.WriteString("| " + name + " | " + cell(s.Models) + " | " + cell(s.Favours) + " | " + cell(s.Params) + " |\n")
	}
	return b.String()
}

// TestReadmeTable checks README.md lists the registry as it is.
func TestReadmeTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i, j := strings.Index(text, tableStart), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no registry table between %q and %q", tableStart, tableEnd)
	}
	want := registryTable()
	if got := text[i+len(tableStart) : j]; got != want {
		if !*update {
			t.Fatalf("README.md's registry table is out of date: run go test ./scenarios -update")
		}
		text = text[:i+len(tableStart)] + want + text[j:]
		if err := os.WriteFile("README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
