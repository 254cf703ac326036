package boundary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/alloclab/alloclab/harness"
	"github.com/alloclab/alloclab/harness/internal/hostmem"
	"github.com/alloclab/alloclab/results"
)

// DensityPolicies are the host memory policies density runs under.
var DensityPolicies = []harness.MemoryPolicy{harness.PolicyDefault, harness.PolicyCapacityFromMax, harness.PolicyMmap}

// DensityLimitPages is each density instance's memory limit (64 MiB), as an
// embedder running many instances sets one: capacity-from-max reserves all of it.
const DensityLimitPages = 1024

// DensityBudget bounds one density line: it stops adding instances once the
// process's resident memory has risen by MemoryBytes or Time has passed.
type DensityBudget struct {
	Instances   int
	MemoryBytes uint64
	Time        time.Duration
}

// DensityBudgetFor returns the budget of a run: 200 instances, 1 GiB and 30 s
// (short: 16 instances, 256 MiB, 5 s).
func DensityBudgetFor(short bool) DensityBudget {
	if short {
		return DensityBudget{Instances: 16, MemoryBytes: 256 << 20, Time: 5 * time.Second}
	}
	return DensityBudget{Instances: 200, MemoryBytes: 1 << 30, Time: 30 * time.Second}
}

// densityBlocks is the short trace each instance runs: this many blocks of 16 B
// to 4 KiB (log-uniform, seed 17), each written in full as a program would, and
// every second one freed.
const densityBlocks = 256

// DensityWorkload runs the short trace on g: its blocks are written through the
// memory, so the pages they lie in are touched as a program's would be.
func DensityWorkload(ctx context.Context, g Guest) error {
	r := rand.New(rand.NewPCG(17, 0))
	type block struct{ ptr, size uint32 }
	blocks := make([]block, 0, densityBlocks)
	for i := 0; i < densityBlocks; i++ {
		size := densitySize(r)
		ptr, err := g.Alloc(ctx, size, 8)
		if err != nil {
			return err
		}
		if ptr == 0 {
			return fmt.Errorf("alloc(%d, 8) failed at block %d", size, i)
		}
		buf, ok := g.Memory().Read(ptr, size)
		if !ok {
			return fmt.Errorf("block [%#x, +%d) is outside memory", ptr, size)
		}
		for j := range buf {
			buf[j] = byte(i + j)
		}
		blocks = append(blocks, block{ptr, size})
	}
	for i := 0; i < len(blocks); i += 2 {
		if err := g.Free(ctx, blocks[i].ptr, blocks[i].size, 8); err != nil {
			return err
		}
	}
	return nil
}

// densitySize draws a block size, 16 B to 4 KiB, log-uniform.
func densitySize(r *rand.Rand) uint32 {
	return uint32(math.Exp(math.Log(16) + r.Float64()*(math.Log(4096)-math.Log(16))))
}

// DensityRun is what one density line measured.
type DensityRun struct {
	Instances int
	// HostBytes is how far the process's resident memory rose with every instance
	// alive, after a collection returned the garbage to the OS.
	HostBytes uint64
	Stopped   string // why fewer than the budget's instances ran, if they did
}

// PerInstance is the host's resident memory per instance.
func (d *DensityRun) PerInstance() float64 { return float64(d.HostBytes) / float64(d.Instances) }

// ErrDensityUnsupported says the process's resident memory cannot be read here.
var ErrDensityUnsupported = errors.New("density: the process's resident memory is read on Linux only (/proc/self/status); not measured on " + runtime.GOOS)

// RunDensity instantiates up to b.Instances instances of g under policy, runs
// DensityWorkload in each and keeps them all alive, and measures the resident
// memory they hold together. An instance is made and closed first, so that what
// every instance shares (compiled code, the runtime) is not counted.
func RunDensity(ctx context.Context, lab *harness.Lab, engine harness.Engine, g *harness.Guest, policy harness.MemoryPolicy, b DensityBudget) (*DensityRun, error) {
	if _, ok := hostmem.RSS(); !ok {
		return nil, ErrDensityUnsupported
	}
	cfg := harness.Config{Engine: engine, Policy: policy, MemoryLimitPages: DensityLimitPages}
	one := func() (*harness.Instance, error) {
		inst, err := lab.InstantiateAnonymous(ctx, g, cfg)
		if err != nil {
			return nil, err
		}
		if err := DensityWorkload(ctx, inst); err != nil {
			inst.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		return inst, nil
	}
	warm, err := one()
	if err != nil {
		return nil, err
	}
	warm.Close(ctx)

	settle := func() uint64 {
		runtime.GC()
		debug.FreeOSMemory()
		n, _ := hostmem.RSS()
		return n
	}
	before := settle()
	start := time.Now()
	var insts []*harness.Instance
	defer func() {
		for _, inst := range insts {
			inst.Close(context.WithoutCancel(ctx))
		}
	}()
	run := &DensityRun{}
	for len(insts) < b.Instances {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		inst, err := one()
		if err != nil {
			return nil, fmt.Errorf("instance %d: %w", len(insts)+1, err)
		}
		insts = append(insts, inst)
		if now, _ := hostmem.RSS(); now > before && now-before >= b.MemoryBytes {
			run.Stopped = fmt.Sprintf("resident memory rose by %d MiB", (now-before)>>20)
			break
		}
		if time.Since(start) >= b.Time {
			run.Stopped = fmt.Sprintf("%v passed", b.Time)
			break
		}
	}
	after := settle()
	run.Instances = len(insts)
	if after > before {
		run.HostBytes = after - before
	}
	return run, nil
}

func (r *Runner) runDensity(ctx context.Context, g *harness.Guest, unchecked bool, emit func(*Result) error) error {
	if !unchecked {
		// Vet the guest on the workload under the checker first.
		err := r.checked(ctx, g, ScenarioDensity, "", DensityLimitPages, func(ctx context.Context, c *Checker, _ *harness.Instance) error {
			return DensityWorkload(ctx, c)
		})
		if err != nil {
			return err
		}
	}
	for _, policy := range DensityPolicies {
		parts := []Part{{"policy", string(policy)}}
		run, err := RunDensity(ctx, r.lab, r.Engine, g, policy, DensityBudgetFor(r.Short))
		if errors.Is(err, ErrDensityUnsupported) {
			return err
		}
		if err != nil {
			return fault(g, label(ScenarioDensity, parts), err)
		}
		res := &Result{Scenario: ScenarioDensity, Parts: parts, Guest: g.Name, Iters: run.Instances, Note: run.Stopped}
		res.add(math.Round(run.PerInstance()), results.UnitHostBytesInstance)
		if run.HostBytes > 0 {
			res.add(harness.Round(float64(1<<30)/run.PerInstance(), 4), results.UnitInstancesGiB)
		}
		if err := emit(res); err != nil {
			return err
		}
	}
	return nil
}
