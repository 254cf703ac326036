package scenarios

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alloclab/alloclab/scenarios/tracefile"
	"github.com/alloclab/alloclab/trace"
)

// FromFile loads a trace file (from alloclab trace) as a scenario named
// trace-NAME, NAME being the file's base name without its extension: a user's
// own trace, which alloclab run -trace and alloclabtest replay. Its short and
// full versions are the whole trace. The error names the file.
func FromFile(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, t, err := tracefile.Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return &Scenario{
		Name:     "trace-" + name,
		Models:   h.Source,
		Favours:  "unknown: a user's trace",
		Params:   fmt.Sprintf("%d ops, peak live %d bytes, recorded by: %s", h.Ops, h.PeakLiveBytes, h.Command),
		Generate: func(bool) *trace.Trace { return t },
	}, nil
}
