package report

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/results"
)

// Run is one results file: its benchmark results, its file configuration and, if
// the heap sidecar is beside it, the heap records of its benchmarks.
type Run struct {
	Name   string    // the file's base name without its extension, such as 20251121-201000
	Path   string    // the results file
	Date   time.Time // from the file name or a "date" configuration key; zero if neither
	Config []KV      // file configuration in the order it first appears, guests and scenarios excluded
	Guests []GuestInfo
	// Scenarios maps a scenario's name to its description, from its
	// "scenario-NAME" configuration line; runs made before the lab wrote them
	// have none.
	Scenarios map[string]string
	Results   []*benchfmt.Result // every result, with ".file" set to Name
	Units     benchfmt.UnitMetadataMap
	// Heap maps a benchmark name (without "Benchmark") to its sidecar record; nil
	// without a sidecar.
	Heap     map[string]*HeapRecord
	HeapPath string // the sidecar's path, or "" if there is none
	Warnings []string
}

// KV is one configuration line.
type KV struct{ Key, Value string }

// GuestInfo describes one guest of a run, from its guest-NAME configuration line:
// "<bytes> bytes, sha256 <hex>, <toolchain>".
type GuestInfo struct {
	Name      string
	Bytes     int // 0 if the line did not say
	SHA256    string
	Toolchain string
	Raw       string // the whole value, when it did not parse
}

// HeapRecord is a benchmark's entry in the heap sidecar RUN.heap.json; the
// sidecar's schema is package results'.
type (
	HeapRecord = results.HeapRecord
	Sample     = results.Sample
	HeapMap    = results.HeapMap
	OOMPoint   = results.OOMPoint
)

// runNameLayout is how make bench names results files: results/runs/<UTC time>.txt.
const runNameLayout = "20060102-150405"

var guestLine = regexp.MustCompile(`^(\d+) bytes, sha256 ([0-9a-fA-F]+), (.*)$`)

// LoadRun reads a results file in the Go benchmark format and the heap sidecar
// beside it, if any. A line that does not parse is a warning, as in benchstat.
func LoadRun(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	run := &Run{Name: name, Path: path}

	r := benchfmt.NewReader(nil, path)
	r.Reset(f, path, ".file", name)
	seen := map[string]bool{}
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			run.Warnings = append(run.Warnings, rec.Error())
		case *benchfmt.Result:
			res := rec.Clone()
			for _, c := range res.Config {
				if !c.File || c.Key == ".file" || seen[c.Key] {
					continue
				}
				seen[c.Key] = true
				v := string(c.Value)
				if g, ok := strings.CutPrefix(c.Key, "guest-"); ok {
					run.Guests = append(run.Guests, parseGuest(g, v))
					continue
				}
				if sc, ok := strings.CutPrefix(c.Key, "scenario-"); ok {
					if run.Scenarios == nil {
						run.Scenarios = map[string]string{}
					}
					run.Scenarios[sc] = v
					continue
				}
				run.Config = append(run.Config, KV{c.Key, v})
			}
			run.Results = append(run.Results, res)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	run.Units = r.Units()
	if len(run.Results) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results", path)
	}

	if t, err := time.Parse(runNameLayout, name); err == nil {
		run.Date = t
	} else if d := run.Get("date"); d != "" {
		for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02", runNameLayout} {
			if t, err := time.Parse(layout, d); err == nil {
				run.Date = t
				break
			}
		}
	}

	hp := HeapPath(path)
	if run.Heap, err = results.ReadHeap(hp); err != nil {
		return nil, err
	}
	if run.Heap != nil {
		run.HeapPath = hp
	}
	return run, nil
}

// HeapPath returns the path of the heap sidecar of a results file: RUN.heap.json
// beside RUN.txt.
func HeapPath(path string) string { return results.HeapPath(path) }

func parseGuest(name, v string) GuestInfo {
	g := GuestInfo{Name: name, Raw: v}
	if m := guestLine.FindStringSubmatch(v); m != nil {
		g.Bytes, _ = strconv.Atoi(m[1])
		g.SHA256, g.Toolchain = m[2], m[3]
	}
	return g
}

// Get returns the value of file configuration key k, or "".
func (r *Run) Get(k string) string {
	for _, kv := range r.Config {
		if kv.Key == k {
			return kv.Value
		}
	}
	return ""
}

// Guest returns the guest named name, or nil.
func (r *Run) Guest(name string) *GuestInfo {
	for i := range r.Guests {
		if r.Guests[i].Name == name {
			return &r.Guests[i]
		}
	}
	return nil
}

// Bench is a benchmark name taken apart:
// Alloc/scenario=S[/variant parts]/guest=G/mode=M (package results builds them).
type Bench = results.Name

// ParseName takes a benchmark name (without "Benchmark") apart. Parts other than
// scenario, guest and mode form the variant, joined by "/". Suite is left empty:
// the report draws one suite.
func ParseName(name string) Bench {
	b := results.SplitName(name)
	b.Suite = ""
	return b
}
