package scenarios

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alloclab/alloclab/scenarios/tracefile"
)

// The shipped traces (traces/) are registered as scenarios (shipped.go), decode
// to what tracefile.Read gives, and are documented with their commands.
func TestShippedTraces(t *testing.T) {
	files, err := filepath.Glob("traces/*.trace")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("%d shipped traces, want at least 3", len(files))
	}
	readme, err := os.ReadFile("traces/README.md")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, path := range files {
		name := "trace-" + strings.TrimSuffix(filepath.Base(path), ".trace")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			total += len(data)
			h, want, err := tracefile.Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			sc, err := Lookup(name)
			if err != nil {
				t.Fatalf("%s is not registered: %v", path, err)
			}
			if sc.Models == "" || sc.Favours == "" || !strings.Contains(sc.Params, h.Command) {
				t.Errorf("scenario %s: models %q, favours %q, params %q", name, sc.Models, sc.Favours, sc.Params)
			}
			full := sc.Generate(false)
			if !reflect.DeepEqual(full.Ops, want.Ops) || full.Slots != want.Slots {
				t.Errorf("Generate(false) differs from the file's trace")
			}
			short := sc.Generate(true)
			if _, err := tracefile.Validate(short); err != nil {
				t.Errorf("short trace invalid: %v", err)
			}
			if st := short.Stats(); len(short.Ops) > len(full.Ops) || st.Allocs != st.Frees || len(short.Ops) < 20000 {
				t.Errorf("short trace: %d ops, %d allocs, %d frees: want the first 20000 ops and the frees of what is live", len(short.Ops), st.Allocs, st.Frees)
			}
			if !reflect.DeepEqual(short.Ops[:20000], full.Ops[:20000]) {
				t.Errorf("the short trace is not a prefix of the full one")
			}
			if !strings.HasPrefix(h.Command, "alloclab trace record") || h.Source == "" {
				t.Errorf("header: source %q, command %q", h.Source, h.Command)
			}
			if !bytes.Contains(readme, []byte(strings.TrimPrefix(h.Command, "alloclab "))) {
				t.Errorf("traces/README.md does not give the command that recorded %s: %s", path, h.Command)
			}
			if !bytes.Contains(readme, []byte(name)) {
				t.Errorf("traces/README.md does not mention %s", name)
			}
		})
	}
	if total > 2<<20 {
		t.Errorf("the shipped traces take %d bytes: keep them small", total)
	}
}

// Every scenario's trace, synthetic (with resets and marks) or shipped, survives
// the trace file format, and the header's totals are the trace's own.
func TestRoundTripScenarios(t *testing.T) {
	for _, sc := range All {
		t.Run(sc.Name, func(t *testing.T) {
			tr := sc.Trace(true)
			var buf bytes.Buffer
			in := tracefile.Header{Source: sc.Name, Command: "go test", Notes: "ünïcode ok"}
			if err := tracefile.Write(&buf, in, tr); err != nil {
				t.Fatal(err)
			}
			h, back, err := tracefile.Read(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tr) {
				t.Fatalf("round trip changed the trace: %d ops in %d slots, want %d in %d", len(back.Ops), back.Slots, len(tr.Ops), tr.Slots)
			}
			st := tr.Stats()
			want := tracefile.Header{Version: tracefile.Version, Source: in.Source, Command: in.Command, Notes: in.Notes,
				Ops: len(tr.Ops), Allocs: st.Allocs, Frees: st.Frees, Reallocs: st.Reallocs, Resets: st.Resets,
				Slots: tr.Slots, PeakLiveBytes: st.PeakLiveBytes, AllocatedBytes: st.AllocatedBytes}
			if h != want {
				t.Errorf("header %+v\nwant   %+v", h, want)
			}
			t.Logf("%d ops in %d bytes (%.2f bytes/op)", len(tr.Ops), buf.Len(), float64(buf.Len())/float64(max(1, len(tr.Ops))))
		})
	}
}
