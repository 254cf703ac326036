package suite

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/internal/labtest"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/scenarios"
)

var (
	update    = flag.Bool("update", false, "rewrite the golden files from this run")
	goldenAll = flag.Bool("golden.all", false, "compare every guest with the golden file, the built baselines too (minutes)")
)

const goldenExact = "testdata/short-exact.txt"

// TestShortExactGolden runs the short suite in both modes and checks every exact
// metric against the golden file, which was generated from the code before the
// suite moved into a library: a refactor must not change a deterministic number.
// Guests whose sha256 differs from the golden's (a baseline built by another
// toolchain) are skipped; the lab's own guests must match. -golden.all adds the
// built baselines and host mode.
func TestShortExactGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("minutes on a busy machine")
	}
	// By default the lab's own guests in replay mode: host mode gives the same
	// exact metrics (harness tests that), and the full run takes minutes.
	// oom-sweep's 171666 ops per limit are left to -golden.all too (harness's
	// TestScenarioFacts pins its out-of-memory points).
	guest, modes, scenario := "^(bump|freelist|arena|pool)$", "replay", "^[^o]|^o[^o]"
	if *goldenAll || *update {
		guest, modes, scenario = ".", "replay,host", "."
	}
	// Without the exact-pass cache: TestShuffleAndCache checks it returns what it stored.
	stdout := goldenRun(t, guest, modes, scenario)
	got := exactLines(t, stdout)
	if *update {
		text := "# The exact metrics of alloclab run -short -count 1 -mode replay,host -latency=false -baselines ../../guests/baselines/out -guest .\n" +
			"# Regenerate only when a metric is meant to change: go test ./suite -run TestShortExactGolden -update\n" +
			strings.Join(got.lines(), "\n") + "\n"
		if err := os.WriteFile(goldenExact, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(goldenExact)
	if err != nil {
		t.Fatal(err)
	}
	want := parseGolden(t, string(b))
	checked := 0
	for g, sum := range want.sums {
		switch gotSum, ok := got.sums[g]; {
		case !ok:
			continue // not built here, or not run under -short
		case gotSum != sum:
			if slices.Contains([]string{"bump", "freelist", "arena", "pool", "floor"}, g) {
				t.Errorf("guest %s: sha256 %s, golden has %s", g, gotSum, sum)
			} else {
				t.Logf("guest %s: sha256 %s differs from the golden's %s (another toolchain): not compared", g, gotSum, sum)
			}
			continue
		}
		for name, w := range want.metrics {
			if goldenGuest(name) != g || !strings.HasSuffix(name, "/mode=replay") && modes == "replay" ||
				strings.HasPrefix(name, "Alloc/scenario=oom-sweep/") && scenario != "." {
				continue
			}
			// Every golden unit keeps its value; units added since are not compared.
			gm, ok := got.metrics[name]
			if !ok {
				t.Errorf("%s: missing from the run", name)
			}
			for _, uv := range strings.Fields(w) {
				if !slices.Contains(strings.Fields(gm), uv) {
					t.Errorf("%s: want %s, got %s", name, uv, gm)
				}
			}
			checked++
		}
	}
	for name := range got.metrics {
		if _, ok := want.metrics[name]; !ok && want.sums[goldenGuest(name)] == got.sums[goldenGuest(name)] {
			t.Errorf("%s: not in the golden file", name)
		}
	}
	if checked == 0 {
		t.Fatal("no benchmark compared")
	}
	t.Logf("%d benchmarks compared", checked)
}

// golden is the exact metrics of a run: each guest's sha256, and each benchmark's
// exact values as "unit=value" in the file's order.
type golden struct {
	sums    map[string]string
	metrics map[string]string
}

func (g golden) lines() []string {
	var out []string
	for name, sum := range g.sums {
		out = append(out, "guest-"+name+": sha256 "+sum)
	}
	slices.Sort(out)
	var ms []string
	for name, m := range g.metrics {
		ms = append(ms, name+" "+m)
	}
	slices.Sort(ms)
	return append(out, ms...)
}

var guestRE = regexp.MustCompile(`/guest=([^/]+)`)

func goldenGuest(name string) string {
	if m := guestRE.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// exactLines keeps the exact units of each result: those declared assume=exact,
// and the scenario-specific pages-grown-… units.
func exactLines(t *testing.T, text string) golden {
	t.Helper()
	results, units := labtest.ReadResults(t, text)
	out := golden{sums: map[string]string{}, metrics: map[string]string{}}
	for _, r := range results {
		for _, c := range r.Config {
			if g, ok := strings.CutPrefix(c.Key, "guest-"); ok {
				if _, sum, ok := strings.Cut(string(c.Value), "sha256 "); ok {
					out.sums[g], _, _ = strings.Cut(sum, ",")
				}
			}
		}
		var vs []string
		for _, v := range r.Values {
			if m := units.Get(v.Unit, "assume"); (m != nil && m.Value == "exact") || strings.HasPrefix(v.Unit, "pages-grown-") {
				vs = append(vs, v.Unit+"="+strconv.FormatFloat(v.Value, 'g', -1, 64))
			}
		}
		name := string(r.Name.Full())
		if len(vs) == 0 {
			continue // the floor: never checked
		}
		if prev, ok := out.metrics[name]; ok && prev != strings.Join(vs, " ") {
			t.Fatalf("%s: two counts disagree on exact metrics", name)
		}
		out.metrics[name] = strings.Join(vs, " ")
	}
	return out
}

func parseGolden(t *testing.T, text string) golden {
	t.Helper()
	out := golden{sums: map[string]string{}, metrics: map[string]string{}}
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if g, ok := strings.CutPrefix(line, "guest-"); ok {
			name, sum, ok := strings.Cut(g, ": sha256 ")
			if !ok {
				t.Fatalf("%s:%d: bad guest line", goldenExact, i+1)
			}
			out.sums[name] = sum
			continue
		}
		name, m, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("%s:%d: bad line", goldenExact, i+1)
		}
		out.metrics[name] = m
	}
	if len(out.metrics) == 0 {
		t.Fatal(fmt.Errorf("%s: no benchmarks", goldenExact))
	}
	return out
}

// goldenRun runs the short suite as alloclab run -short -count 1 -latency=false
// -benchtime 0 -cache off does, and returns its results file.
func goldenRun(t *testing.T, guest, modes, scenario string) string {
	t.Helper()
	gs, err := SelectGuests(guest, "../guests/baselines/out", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	scs, err := scenarios.Match(scenario)
	if err != nil {
		t.Fatal(err)
	}
	var ms []harness.Mode
	for _, m := range strings.Split(modes, ",") {
		ms = append(ms, harness.Mode(m))
	}
	var out bytes.Buffer
	o := Options{Scenarios: scs, Guests: gs, Modes: ms, Engine: harness.Compiler, Short: true, Count: 1,
		LimitPages: harness.MaxPages, OOMLimitPages: harness.DefaultOOMLimitPages, Timeout: 10 * time.Minute,
		Config: GuestConfig(gs)}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(t.Context(), results.NewWriter(&out)); err != nil {
		t.Fatal(err)
	}
	if len(r.Failures()) > 0 {
		t.Fatalf("failures: %v", r.Failures())
	}
	return out.String()
}
