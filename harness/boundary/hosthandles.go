package boundary

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/alloclab/alloclab/harness/internal/shadow"
)

// The shape of host-handles.
const (
	HandleWindow   = 256  // handles kept reachable at once
	GCEvery        = 64   // the scenario calls runtime.GC after every GCEvery objects
	MaxEndGCs      = 100  // collections the end of a run may take to free every collectable block
	HandleMinSize  = 16   // block sizes are log-uniform in [HandleMinSize, HandleMaxSize]
	HandleMaxSize  = 4096 //
	HandleAlign    = 8
	HandleSamples  = 4 // points of the live-bytes series: at 25%, 50%, 75% and 100% of the objects
	handleSeed     = 0x686f737468616e64
	handleSeedHigh = 0x6c6573
)

// HandleObjects returns the objects host-handles creates: 10000, or 2000 with short.
func HandleObjects(short bool) int {
	if short {
		return 2000
	}
	return 10000
}

// HandlesRun is what one host-handles pass measured.
type HandlesRun struct {
	Way     Way
	Objects int
	// Elapsed is the time of the workload, the forced collections excluded.
	Elapsed   time.Duration
	ForcedGCs int // runtime.GC calls during the workload (Objects/GCEvery)
	// LeakedBytes and LeakedBlocks are guest blocks still allocated after the end
	// of the run: every handle dropped, closed or collected.
	LeakedBytes  uint64
	LeakedBlocks int
	LiveBytesMax uint64 // the most guest bytes owned by handles, over the objects
	PagesMax     uint32
	// FreeDelayGC and FreeDelayObj are, for each block freed during the workload,
	// the forced collections and the objects created between its handle becoming
	// unreachable (or closed) and the block being freed.
	FreeDelayGC, FreeDelayObj Delays
	// EndGCs is the collections the end of the run took to free every
	// collectable block after the last handle was dropped.
	EndGCs  int
	Samples []HandleSample
}

// HandleSample is the state of the guest after some objects.
type HandleSample struct {
	Percent   int // of the objects created
	Objects   int
	LiveBytes uint64
	Pages     uint32
}

// Delays summarises a distribution of delays.
type Delays struct {
	N        int
	Sum, Max int
}

func (d *Delays) add(v int) {
	d.N++
	d.Sum += v
	d.Max = max(d.Max, v)
}

// Mean returns the mean delay, or NaN for none.
func (d Delays) Mean() float64 {
	if d.N == 0 {
		return math.NaN()
	}
	return float64(d.Sum) / float64(d.N)
}

var (
	fillOnce    sync.Once
	fillPattern []byte
)

// fill returns the bytes a handle's block holds: a phase of a pseudo-random
// pattern picked by the handle's id, so neighbours and reused blocks differ.
func fill(id uint64, n uint32) []byte {
	fillOnce.Do(func() { fillPattern = shadow.Pattern(4093 + HandleMaxSize) })
	off := (id * 2654435761) % 4093
	return fillPattern[off : off+uint64(n)]
}

// RunHandles runs host-handles with way against g, creating objects Go objects
// that each own a guest block. With a *Checker as g, every block is also checked
// against the checker's live set when it is used and verified before it is freed.
func RunHandles(ctx context.Context, g Guest, way Way, objects int) (*HandlesRun, error) {
	switch way {
	case WayClose, WayCleanup, WayNever:
	default:
		return nil, fmt.Errorf("unknown host-handles way %q", way)
	}
	checker, _ := g.(*Checker)
	mem := g.Memory()
	o := NewOwner(g)
	defer o.Close()

	type stamp struct{ objects, gcs int }
	r := &HandlesRun{Way: way, Objects: objects}
	created, gcs := 0, 0
	ending := false
	dropped := map[uint64]stamp{} // cleanup way: handles made unreachable, not yet freed
	o.BeforeFree = func(id uint64, b []byte) error {
		if !bytes.Equal(b, fill(id, uint32(len(b)))) {
			return fmt.Errorf("block overwritten while its handle owned it")
		}
		return nil
	}
	o.OnFree = func(id uint64, byCleanup bool) {
		if !byCleanup {
			return
		}
		s, ok := dropped[id]
		if !ok {
			return
		}
		delete(dropped, id)
		if !ending {
			r.FreeDelayGC.add(gcs - s.gcs)
			r.FreeDelayObj.add(created - s.objects)
		}
	}
	use := func(h *Handle) error {
		return h.Use(func(b []byte) error {
			if checker != nil && !checker.IsLive(h.Ptr(), h.Size()) {
				return fmt.Errorf("handle %d: use after free: block [%#x, +%d) is not live", h.ID(), h.Ptr(), h.Size())
			}
			if !bytes.Equal(b, fill(h.ID(), h.Size())) {
				return fmt.Errorf("handle %d: block [%#x, +%d) changed while the handle owned it", h.ID(), h.Ptr(), h.Size())
			}
			return nil
		})
	}
	// drop releases the handle pushed out of the window, as way says.
	drop := func(h *Handle) error {
		switch way {
		case WayClose:
			if err := h.Close(ctx); err != nil {
				return err
			}
			if !ending {
				r.FreeDelayGC.add(0)
				r.FreeDelayObj.add(0)
			}
		case WayCleanup:
			dropped[h.ID()] = stamp{created, gcs}
		}
		return nil
	}

	rng := rand.New(rand.NewPCG(handleSeed, handleSeedHigh))
	logLo, logHi := math.Log(HandleMinSize), math.Log(HandleMaxSize+1)
	window := make([]*Handle, HandleWindow)
	sampleEvery := max(1, objects/HandleSamples)
	var gcTime time.Duration
	start := time.Now()
	for i := 0; i < objects; i++ {
		size := min(uint32(math.Exp(logLo+rng.Float64()*(logHi-logLo))), HandleMaxSize)
		h, err := o.New(ctx, size, HandleAlign, way == WayCleanup)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		if err := h.Use(func(b []byte) error { copy(b, fill(h.ID(), size)); return nil }); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		created++
		slot := i % HandleWindow
		if old := window[slot]; old != nil {
			if err := drop(old); err != nil {
				return nil, fmt.Errorf("object %d: %w", i, err)
			}
		}
		window[slot] = h
		if err := use(window[rng.IntN(min(i+1, HandleWindow))]); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		if created%GCEvery == 0 {
			t := time.Now()
			runtime.GC()
			gcTime += time.Since(t)
			gcs++
			if _, err := o.Drain(ctx); err != nil {
				return nil, fmt.Errorf("object %d: %w", i, err)
			}
		}
		r.LiveBytesMax = max(r.LiveBytesMax, o.LiveBytes)
		if created%sampleEvery == 0 && len(r.Samples) < HandleSamples {
			r.Samples = append(r.Samples, HandleSample{Percent: 100 * (len(r.Samples) + 1) / HandleSamples,
				Objects: created, LiveBytes: o.LiveBytes, Pages: mem.Size() / pageSize})
		}
	}
	r.Elapsed = time.Since(start) - gcTime
	r.ForcedGCs = gcs
	r.PagesMax = mem.Size() / pageSize

	// The end: every handle goes, and the collectable ones are collected.
	ending = true
	for i, h := range window {
		if h != nil {
			if err := drop(h); err != nil {
				return nil, fmt.Errorf("end: %w", err)
			}
		}
		window[i] = nil
	}
	var err error
	if r.EndGCs, err = o.Collect(ctx, MaxEndGCs); err != nil {
		return nil, fmt.Errorf("end: %w", err)
	}
	r.LeakedBlocks, r.LeakedBytes = o.LiveBlocks, o.LiveBytes
	return r, nil
}
