package report

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the synthetic runs in testdata/synthetic")

// The synthetic runs are made up, for the tests of the pages that need units
// and guests the committed real runs lack (instruction counts, host memory,
// go-runtime ten times slower than the rest, TinyGo twins). They are plainly
// marked as such in their files; nothing here is a measurement.

type synthGuest struct {
	name  string
	bytes int
	ns    float64 // time per op in replay mode
	instr float64 // instructions per op
	tail  float64 // max-instrs over instrs/op
	frag  float64 // heap/live
	oom   float64 // oom-live/limit under 16 MiB; 0 if it fits
}

var synthGuests = []synthGuest{
	{"dlmalloc", 13804, 40, 120, 30, 1.4, 0.9},
	{"bump", 513, 10, 12, 1, 37, 0.06},
	{"freelist", 1960, 95, 300, 400, 2.8, 0.7},
	{"pool", 1591, 20, 60, 8, 1.5, 0.8},
	{"go-runtime", 1830547, 700, 2500, 900, 8.3, 0.3},
	{"bump-tinygo", 2211, 14, 18, 1, 37, 0.06},
	{"freelist-tinygo", 5120, 130, 420, 420, 2.8, 0.7},
	{"floor", 265, 9, 0, 0, 0, 0},
}

var synthScenarios = []struct{ name, variant, desc string }{
	{"churn", "", "Synthetic churn: made up for tests."},
	{"fragmentation-swiss", "", "Synthetic swiss cheese: made up for tests."},
	{"oom-sweep", "limit=16MiB", "Synthetic OOM sweep: made up for tests."},
	{"oom-sweep", "limit=64MiB", ""},
}

// synthRun writes a synthetic run: newer is the later run, where pool is 20%
// faster and freelist runs 10% more instructions.
func synthRun(newer bool) string {
	var b strings.Builder
	b.WriteString("# SYNTHETIC DATA for the tests of package report (report/synthetic_test.go, go test -run TestSyntheticRuns -update).\n")
	b.WriteString("# Made up, not measured: do not publish or quote it.\n")
	for _, u := range []string{"instrs/op", "p99-instrs", "max-instrs", "mem-ops/op", "bulk-bytes/op", "pages-grown",
		"peak-live-bytes", "peak-heap-bytes", "heap/live", "oom-op", "oom-live-bytes", "oom-live/limit",
		"touched-bytes", "touched/live", "discardable-bytes", "peak-discardable-bytes", "host-bytes/instance",
		"instances/GiB", "wasm-bytes"} {
		fmt.Fprintf(&b, "Unit %s assume=exact\n", u)
	}
	date := "2026-12-01T00:00:00Z"
	if newer {
		date = "2026-12-02T00:00:00Z"
	}
	fmt.Fprintf(&b, "goos: linux\ngoarch: amd64\ncpu: Synthetic CPU (test data)\ngo: go1.26.8\nwazero: v1.12.0\nengine: compiler\ndate: %s\n", date)
	for _, g := range synthGuests {
		fmt.Fprintf(&b, "guest-%s: %d bytes, sha256 %064x, synthetic toolchain (test data)\n", g.name, g.bytes, len(g.name)*7919+g.bytes)
	}
	for _, sc := range synthScenarios {
		if sc.desc != "" {
			fmt.Fprintf(&b, "scenario-%s: %s\n", sc.name, sc.desc)
		}
	}
	b.WriteString("\n")
	seed := uint64(1)
	noise := func() float64 { // 1 ± 3%, deterministic
		seed = seed*6364136223846793005 + 1442695040888963407
		return 1 + (float64(seed>>40)/float64(1<<24)-0.5)*0.06
	}
	for si, sc := range synthScenarios {
		f := 1 + 0.3*float64(si)    // scenarios differ in cost
		live := 1e6 * float64(si+1) // peak live bytes
		for _, g := range synthGuests {
			ns, instr := g.ns*f, g.instr*f
			if newer && g.name == "pool" {
				ns *= 0.8
			}
			if newer && g.name == "freelist" {
				instr *= 1.1
			}
			for _, mode := range []string{"replay", "host"} {
				for range 6 {
					name := "BenchmarkAlloc/scenario=" + sc.name
					if sc.variant != "" {
						name += "/" + sc.variant
					}
					name += "/guest=" + g.name + "/mode=" + mode
					t := ns * noise()
					if mode == "host" {
						t += 30
					}
					fmt.Fprintf(&b, "%s 10000 %.4g ns/op %.4g p99-ns %.4g max-ns", name, t, t*3, t*200)
					if g.name == "floor" {
						b.WriteString("\n")
						continue
					}
					heap := math.Round(live * g.frag)
					touched := math.Round(heap * 1.1)
					if g.name == "bump" {
						touched = 0 // its state is in wasm globals
					}
					fmt.Fprintf(&b, " %.0f instrs/op %.0f p99-instrs %.0f max-instrs %.0f mem-ops/op %.0f bulk-bytes/op",
						math.Round(instr), math.Round(instr*min(g.tail, 4)), math.Round(instr*g.tail), math.Round(instr/4), 16.0)
					fmt.Fprintf(&b, " %.0f pages-grown %.0f peak-live-bytes %.0f peak-heap-bytes %.4g heap/live",
						math.Ceil(heap/65536), live, heap, heap/live)
					if oom := g.oom * (1 - 0.1*float64(si%2)); oom > 0 && (sc.name == "oom-sweep" || g.frag > 10) {
						fmt.Fprintf(&b, " %.0f oom-op %.0f oom-live-bytes %.4g oom-live/limit", 1000*oom, oom*(16<<20), oom)
					}
					fmt.Fprintf(&b, " %.0f touched-bytes %.4g touched/live %.0f discardable-bytes %.0f peak-discardable-bytes %.0f host-bytes/instance %.4g instances/GiB %d wasm-bytes\n",
						touched, touched/live, heap-live, (heap-live)/2, touched+65536, float64(1<<30)/(touched+65536), g.bytes)
				}
			}
		}
	}
	return b.String()
}

var (
	synthOld = filepath.Join("testdata", "synthetic", "synthetic-old.txt")
	synthNew = filepath.Join("testdata", "synthetic", "synthetic-new.txt")
)

func synthPaths() (old, new string) { return synthOld, synthNew }

// TestSyntheticRuns checks the committed synthetic runs are what synthRun
// writes; -update rewrites them.
func TestSyntheticRuns(t *testing.T) {
	old, new := synthPaths()
	for path, text := range map[string]string{old: synthRun(false), new: synthRun(true)} {
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != text {
			t.Errorf("%s differs from what synthRun writes: go test ./report -run TestSyntheticRuns -update", path)
		}
	}
}
