package report

import (
	"fmt"
	"sort"

	"golang.org/x/perf/benchfmt"
)

// The compare page puts two runs side by side as benchstat OLD NEW does, across
// every scenario: a table per unit, exact units first (their changes are
// certain), each row's change where a Mann-Whitney U-test finds it significant
// (p < 0.05 at benchstat's default), and an overview of how many rows of each
// unit changed, for the better and for the worse.

const compareHref = "compare.html"

type comparePage struct {
	Nav          *navInfo
	Current      string
	Old, New     *runSummary
	OtherMachine bool
	Overview     []*rowGroup // the groups of Exact then Timed, for the overview
	Exact, Timed *htmlTable
	// OnlyOld and OnlyNew count the benchmarks one run has and the other
	// lacks: left out, so the geometric means compare like with like.
	OnlyOld, OnlyNew, Common int
}

func (g *generator) comparePage(nav *navInfo) (*comparePage, error) {
	old, cur := g.base, g.latest
	units := mergeUnits(old.Units, cur.Units)
	names := func(r *Run) map[string]bool {
		m := map[string]bool{}
		for _, res := range r.Results {
			m[res.Name.String()] = true
		}
		return m
	}
	inOld, inNew := names(old), names(cur)
	var both []*benchfmt.Result
	for _, r := range []*Run{old, cur} {
		for _, res := range r.Results {
			if inOld[res.Name.String()] && inNew[res.Name.String()] {
				both = append(both, res)
			}
		}
	}
	p := &comparePage{Nav: nav, Old: summarise(old), New: summarise(cur)}
	for n := range inOld {
		if inNew[n] {
			p.Common++
		} else {
			p.OnlyOld++
		}
	}
	p.OnlyNew = len(inNew) - p.Common
	if len(both) == 0 {
		return p, nil
	}
	tables, err := buildTables(both, units, "", ".fullname", ".file")
	if err != nil {
		return nil, err
	}
	var exact, timed []*StatTable
	for _, t := range tables {
		if t.Exact() {
			exact = append(exact, t)
		} else {
			timed = append(timed, t)
		}
	}
	p.OtherMachine = old.Get("cpu") != cur.Get("cpu") || p.Old.Platform != p.New.Platform
	p.Exact = compareTable(exact, old.Name, cur.Name, units)
	p.Timed = compareTable(timed, old.Name, cur.Name, units)
	for _, ht := range []*htmlTable{p.Exact, p.Timed} {
		sort.SliceStable(ht.Groups, func(i, j int) bool { return unitOrder(ht.Groups[i].Unit) < unitOrder(ht.Groups[j].Unit) })
		for _, grp := range ht.Groups {
			grp.ID = "u-" + fileSafe(grp.Unit)
			p.Overview = append(p.Overview, grp)
		}
	}
	return p, nil
}

// unitOrder puts the units a reader looks for first first: time, instructions,
// memory; others after, in their order.
func unitOrder(unit string) int {
	for i, u := range []string{"sec/op", "instrs/op", "max-instrs", "p99-instrs", "heap/live", "pages-grown", "peak-heap-bytes",
		"oom-live/limit", "touched-bytes", "touched/live", "lost-bytes", "wasm-bytes"} {
		if u == unit {
			return i
		}
	}
	return 1000
}

// Class is the overview's verdict of a group: "worse" if any row got worse,
// else "better" if any got better.
func (grp *rowGroup) Class() string {
	switch {
	case grp.Worse > 0:
		return "worse"
	case grp.Better > 0:
		return "better"
	}
	return ""
}

// Tally says how the group's rows changed, for the overview.
func (grp *rowGroup) Tally() string {
	if grp.Compared == 0 {
		return "nothing to compare"
	}
	s := fmt.Sprintf("%d of %d changed", grp.Changed, grp.Compared)
	if grp.Changed > 0 {
		s += fmt.Sprintf(": %d better, %d worse", grp.Better, grp.Worse)
	}
	return s
}
