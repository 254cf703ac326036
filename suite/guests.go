package suite

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/alloclab/alloclab/guests"
	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/scenarios"
)

// FlagError is a mistake in what the caller asked for, such as a -guest pattern
// that matches nothing, rather than a failure of the lab.
type FlagError struct{ Err error }

func (e FlagError) Error() string { return e.Err.Error() }
func (e FlagError) Unwrap() error { return e.Err }

// SelectGuests returns the guests -guest names: a comma-separated list whose
// elements are paths of .wasm modules or regular expressions matched against the
// names of the lab's guests, the built baselines in the folder baselines, and the
// floor, in that order.
func SelectGuests(list, baselines string, stderr io.Writer) ([]*harness.Guest, error) {
	known, err := KnownGuests(baselines, list == ".", stderr)
	if err != nil {
		return nil, err
	}
	var out []*harness.Guest
	seen := map[string]bool{}
	add := func(g *harness.Guest) {
		if !seen[g.Name] {
			seen[g.Name] = true
			out = append(out, g)
		}
	}
	for _, pattern := range strings.Split(list, ",") {
		if strings.HasSuffix(pattern, ".wasm") {
			g, err := LoadGuest(pattern, "")
			if err != nil {
				return nil, err
			}
			add(g)
			continue
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, FlagError{fmt.Errorf("-guest: %w", err)}
		}
		n := len(out)
		for _, g := range known {
			if re.MatchString(g.Name) {
				add(g)
			}
		}
		if len(out) == n {
			return nil, FlagError{fmt.Errorf("-guest %q matches no guest", pattern)}
		}
	}
	return out, nil
}

// KnownGuests returns the lab's guests, the baselines built into the folder
// baselines (none there is a warning when warn is set: make guests builds them),
// and the floor.
func KnownGuests(baselines string, warn bool, stderr io.Writer) ([]*harness.Guest, error) {
	var out []*harness.Guest
	for _, b := range guests.All {
		g, err := harness.NewGuest(b.Name, b.Wasm)
		if err != nil {
			return nil, err
		}
		g.Toolchain = b.Toolchain
		out = append(out, g)
	}
	paths, _ := filepath.Glob(filepath.Join(baselines, "*.wasm"))
	if len(paths) == 0 && warn {
		fmt.Fprintf(stderr, "# warning: no baselines in %s: make guests builds them\n", baselines)
	}
	for _, path := range paths {
		toolchain, _ := os.ReadFile(strings.TrimSuffix(path, ".wasm") + ".toolchain")
		g, err := LoadGuest(path, strings.TrimSpace(string(toolchain)))
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	floor, err := harness.NewGuest(guests.Floor.Name, guests.Floor.Wasm)
	if err != nil {
		return nil, err
	}
	floor.Toolchain = guests.Floor.Toolchain
	return append(out, floor), nil
}

// LoadGuest reads a guest from a .wasm file, named by the file.
func LoadGuest(path, toolchain string) (*harness.Guest, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, FlagError{fmt.Errorf("-guest: %w", err)}
	}
	g, err := harness.NewGuest(strings.TrimSuffix(filepath.Base(path), ".wasm"), wasm)
	if err != nil {
		return nil, fmt.Errorf("-guest %s: %w", path, err)
	}
	g.Toolchain = toolchain
	return g, nil
}

// GuestConfig describes every guest of the run as file configuration: its size,
// its sha256 and what built it. The keys are set once, before the first result,
// so they do not split benchstat's tables.
func GuestConfig(gs []*harness.Guest) []benchfmt.Config {
	var cfg []benchfmt.Config
	for _, g := range gs {
		toolchain := g.Toolchain
		if toolchain == "" {
			toolchain = "unknown toolchain"
		}
		cfg = append(cfg, benchfmt.Config{Key: "guest-" + g.Name, File: true,
			Value: []byte(fmt.Sprintf("%d bytes, sha256 %s, %s", g.Size(), g.SHA256(), toolchain))})
	}
	return cfg
}

// ScenarioConfig describes every scenario of the run as file configuration,
// "scenario-NAME: what it models. Parameters: ...", so the results pages describe
// a run with its own texts, not with a later registry's.
func ScenarioConfig(scs []*scenarios.Scenario) []benchfmt.Config {
	var cfg []benchfmt.Config
	for _, sc := range scs {
		desc := strings.TrimSpace(sc.Models)
		if sc.Params != "" {
			desc += " Parameters: " + sc.Params + "."
		}
		desc = strings.Join(strings.Fields(desc), " ") // one line
		if desc == "" || strings.ContainsAny(sc.Name, " \t") {
			continue
		}
		cfg = append(cfg, benchfmt.Config{Key: "scenario-" + sc.Name, File: true, Value: []byte(desc)})
	}
	return cfg
}

// FileConfig describes the machine and the toolchain, as go test -bench does.
func FileConfig(engine harness.Engine) []benchfmt.Config {
	cfg := []benchfmt.Config{
		{Key: "goos", Value: []byte(runtime.GOOS), File: true},
		{Key: "goarch", Value: []byte(runtime.GOARCH), File: true},
	}
	if cpu := cpuName(); cpu != "" {
		cfg = append(cfg, benchfmt.Config{Key: "cpu", Value: []byte(cpu), File: true})
	}
	cfg = append(cfg,
		benchfmt.Config{Key: "go", Value: []byte(runtime.Version()), File: true},
		benchfmt.Config{Key: "wazero", Value: []byte(moduleVersion("github.com/tetratelabs/wazero")), File: true},
		benchfmt.Config{Key: "engine", Value: []byte(engine), File: true},
	)
	return cfg
}

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return ""
}
