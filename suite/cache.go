package suite

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/results"
	"github.com/alloclab/alloclab/trace"
)

// Cache remembers exact passes on disk, one file per pass, named by a digest of
// everything that decides their numbers: the guest's sha256, the trace's ops,
// the pass's configuration and the lab's build (Version). A different lab binary
// never reads another's entries, so a change to the harness cannot serve stale
// numbers.
type Cache struct {
	Dir     string
	Version string // the lab's build; see ExecutableVersion
}

// OpenCache returns a cache in dir, created if need be, for the running binary.
func OpenCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("exact-pass cache: %w", err)
	}
	v, err := ExecutableVersion()
	if err != nil {
		return nil, fmt.Errorf("exact-pass cache: %w", err)
	}
	return &Cache{Dir: dir, Version: v}, nil
}

// DefaultCacheDir is the user's cache folder's alloclab/exact.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "alloclab", "exact"), nil
}

var execVersion = sync.OnceValues(func() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
})

// ExecutableVersion is the sha256 of the running binary: Go builds are
// reproducible, so the same source gives the same version and any change to
// the lab gives another.
func ExecutableVersion() (string, error) { return execVersion() }

// Digest returns the sha256 of a trace's ops.
func Digest(t *trace.Trace) string {
	h := sha256.New()
	var buf [17]byte
	for _, op := range t.Ops {
		buf[0] = byte(op.Kind)
		binary.LittleEndian.PutUint32(buf[1:], op.Slot)
		binary.LittleEndian.PutUint32(buf[5:], op.Size)
		binary.LittleEndian.PutUint32(buf[9:], op.Align)
		binary.LittleEndian.PutUint32(buf[13:], op.OldSize)
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(b *Bench, o Options) (string, error) {
	cfg, oomLimit, err := exactConfig(b, o)
	if err != nil {
		return "", err
	}
	cfg.Timeout = 0 // a pass that finishes gives the same numbers under any limit
	k, err := json.Marshal(struct {
		Guest, Trace, Version string
		Config                harness.Config
		OOMLimit              uint32
		Prealloc              bool
	}{b.Guest.SHA256(), Digest(b.Scenario.Trace(o.Short)), c.Version, cfg, oomLimit, b.Variant.Prealloc})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(k)
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:])+".json"), nil
}

// get returns the cached passes of b, or nil if there are none. A nil Cache has none.
func (c *Cache) get(b *Bench, o Options) (*harness.Exact, error) {
	if c == nil {
		return nil, nil
	}
	p, err := c.path(b, o)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var e harness.Exact
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, nil // a damaged entry is measured again
	}
	// The binary size is the guest's, not the pass's: it is not in the key.
	e.WasmBytes = b.Guest.Size()
	return &e, nil
}

func (c *Cache) put(b *Bench, o Options, e *harness.Exact) error {
	if c == nil {
		return nil
	}
	p, err := c.path(b, o)
	if err != nil {
		return err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return results.WriteAtomic(p, data)
}
