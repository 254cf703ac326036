// Package report turns alloclab results files into a static web site: an index
// that ranks the guests of one run across its scenarios (rank.go) and answers
// "which allocator for this need?" from the same numbers, the list of runs (date,
// machine, Go, wazero and toolchain versions, the guests' hashes), a page per run,
// and a page per scenario with benchstat's statistics, charts (chartspec.go: one
// spec per chart) and heap maps.
//
// Its statistics are benchstat's, computed with golang.org/x/perf/benchproc and
// golang.org/x/perf/benchmath: medians with their 95% confidence intervals, exact
// values for units declared exact, and, when two runs are given, the change
// between them with a Mann-Whitney U-test. Charts are drawn as SVG with
// gonum.org/v1/plot; heap maps are drawn as SVG from the heap sidecar RUN.heap.json
// beside each RUN.txt (results/README.md documents it).
//
// The site is plain HTML and CSS with relative links only: no script, no font or
// style sheet from a network, so it reads the same from disk (file://) as from any
// static host.
package report

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Options says what to generate.
type Options struct {
	// Out is the site's folder; it is created if needed, and files the site
	// writes are replaced.
	Out string
	// Runs are the results files, in any order: the site sorts them by date.
	Runs []string
	// Base names the run the latest one is compared with (its name or path); by
	// default the earlier run sharing the most scenarios with the latest (the
	// later of equals), so a run of one scenario is not the base of a full one.
	// "none" compares nothing.
	Base string
	// Title is the site's title; "alloclab results" by default.
	Title string
	// Compare says Runs are two, old then new: the site compares them in that
	// order, whatever their dates, and its compare page shows every change.
	Compare bool
	// Rank names the run the index ranks (its name or path); by default the
	// latest run with at least half the scenarios of the widest.
	Rank string
}

//go:embed assets
var assets embed.FS

// Site is a generated site: what Generate wrote.
type Site struct {
	Dir   string
	Pages []string // relative paths of the HTML pages, index.html first
	Files []string // relative paths of every file written
	// Answers are the chooser's answers, one line per need: "Fastest (run R):
	// bump 0.37×, arena 0.47×, as-stub 0.67×".
	Answers []string
}

// Generate reads the runs and writes the site.
func Generate(o Options) (*Site, error) {
	if o.Out == "" {
		return nil, errors.New("report: no output folder")
	}
	if len(o.Runs) == 0 {
		return nil, errors.New("report: no results files")
	}
	if o.Title == "" {
		o.Title = "alloclab results"
	}
	if o.Compare && len(o.Runs) != 2 {
		return nil, fmt.Errorf("report: comparing needs two runs, old and new; got %d", len(o.Runs))
	}
	if o.Compare && o.Base != "" {
		return nil, errors.New("report: comparing two runs takes no -base: the old run is the base")
	}
	var runs []*Run
	names := map[string]string{}
	for _, p := range o.Runs {
		r, err := LoadRun(p)
		if err != nil {
			return nil, err
		}
		if prev, ok := names[r.Name]; ok {
			return nil, fmt.Errorf("report: %s and %s have the same name %q", prev, p, r.Name)
		}
		names[r.Name] = p
		runs = append(runs, r)
	}
	loaded := slices.Clone(runs) // in the order given
	// Oldest first; runs without a date keep their order, before the dated ones.
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i].Date, runs[j].Date
		if a.IsZero() || b.IsZero() {
			return a.IsZero() && !b.IsZero()
		}
		return a.Before(b)
	})
	if o.Compare {
		runs = loaded // as given, old then new, whatever their dates
	}
	latest := runs[len(runs)-1]
	var base *Run
	switch {
	case o.Compare:
		base = runs[0]
	case o.Base == "none":
	case o.Base == "":
		base = defaultBase(runs)
	default:
		for _, r := range runs {
			if r.Name == o.Base || r.Path == o.Base || r.Name == strings.TrimSuffix(filepath.Base(o.Base), filepath.Ext(o.Base)) {
				base = r
			}
		}
		if base == nil {
			return nil, fmt.Errorf("report: -base %q is none of the runs", o.Base)
		}
		if base == latest {
			return nil, fmt.Errorf("report: -base %q is the latest run itself", o.Base)
		}
	}

	ranked, why, err := rankTarget(runs, o.Rank)
	if err != nil {
		return nil, err
	}
	g := &generator{out: o.Out, title: o.Title, runs: runs, latest: latest, base: base, ranked: ranked, rankWhy: why, site: &Site{Dir: o.Out}}
	if err := g.generate(); err != nil {
		return nil, err
	}
	return g.site, nil
}

type generator struct {
	out, title   string
	runs         []*Run
	latest, base *Run
	ranked       *Run   // the run the index ranks
	rankWhy      string // why that one
	site         *Site
	pal          palette
	tmpl         map[string]*template.Template
}

func (g *generator) write(rel string, data []byte) error {
	path := filepath.Join(g.out, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	g.site.Files = append(g.site.Files, rel)
	if strings.HasSuffix(rel, ".html") {
		g.site.Pages = append(g.site.Pages, rel)
	}
	return nil
}

func (g *generator) page(rel, name string, data any) error {
	var buf bytes.Buffer
	if err := g.tmpl[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("report: %s: %w", rel, err)
	}
	return g.write(rel, buf.Bytes())
}

func (g *generator) parseTemplates() error {
	layout, err := fs.ReadFile(assets, "assets/layout.html")
	if err != nil {
		return err
	}
	g.tmpl = map[string]*template.Template{}
	for _, name := range []string{"index", "run", "scenario", "compare"} {
		body, err := fs.ReadFile(assets, "assets/"+name+".html")
		if err != nil {
			return err
		}
		t := template.New(name).Funcs(funcs)
		if _, err := t.Parse(string(layout)); err != nil {
			return fmt.Errorf("layout.html: %w", err)
		}
		if _, err := t.Parse(string(body)); err != nil {
			return fmt.Errorf("%s.html: %w", name, err)
		}
		g.tmpl[name] = t
	}
	return nil
}

var funcs = template.FuncMap{
	"bytes": func(n int) string { return byteSize(uint64(n)) },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
}

func (g *generator) generate() error {
	if err := g.parseTemplates(); err != nil {
		return err
	}
	css, err := fs.ReadFile(assets, "assets/style.css")
	if err != nil {
		return err
	}
	scs := g.scenarios()
	nav := &navInfo{Title: g.title}
	for _, s := range scs {
		nav.Scenarios = append(nav.Scenarios, navLink{Name: s.Name, Href: scenarioHref(s.Name)})
	}

	// The index and the run pages.
	idx := &indexPage{Nav: nav}
	for i := len(g.runs) - 1; i >= 0; i-- {
		r := g.runs[i]
		rs := summarise(r)
		rs.Latest = r == g.latest
		rs.Base = r == g.base
		idx.Runs = append(idx.Runs, rs)
		rp := &runPage{Nav: nav, Run: rs, Config: r.Config, Guests: r.Guests, Warnings: r.Warnings}
		for _, s := range scs {
			if n := s.count(r); n > 0 {
				rp.Scenarios = append(rp.Scenarios, scenarioCount{navLink{s.Name, scenarioHref(s.Name)}, n})
			}
		}
		// Copy the raw files, so the site carries its data.
		data, err := os.ReadFile(r.Path)
		if err != nil {
			return err
		}
		if err := g.write(rs.DataHref, data); err != nil {
			return err
		}
		if r.HeapPath != "" {
			data, err := os.ReadFile(r.HeapPath)
			if err != nil {
				return err
			}
			if err := g.write(rs.HeapHref, data); err != nil {
				return err
			}
		}
		if err := g.page(rs.Href, "run", rp); err != nil {
			return err
		}
	}
	for _, s := range scs {
		idx.Scenarios = append(idx.Scenarios, scenarioCard{Href: scenarioHref(s.Name), Name: s.Name,
			Summary: firstSentence(g.shownRun(s).Scenarios[s.Name]), InLatest: s.count(g.latest) > 0})
	}
	if g.base != nil {
		idx.Comparing = &comparing{Base: summarise(g.base), Latest: summarise(g.latest)}
	}
	if idx.Ranking, err = rank(g.ranked, g.rankWhy); err != nil {
		return fmt.Errorf("report: ranking %s: %w", g.ranked.Name, err)
	}
	if idx.Ranking != nil {
		for _, c := range idx.Ranking.Chooser {
			var ls []string
			for _, l := range c.Leaders {
				ls = append(ls, l.Guest+" "+l.Value)
			}
			g.site.Answers = append(g.site.Answers, fmt.Sprintf("%s (run %s, by %s): %s", c.Need, g.ranked.Name, c.How, strings.Join(ls, ", ")))
		}
	}

	if g.base != nil {
		cp, err := g.comparePage(nav)
		if err != nil {
			return fmt.Errorf("report: comparing %s with %s: %w", g.base.Name, g.latest.Name, err)
		}
		if err := g.page(compareHref, "compare", cp); err != nil {
			return err
		}
		idx.Comparing.Href = compareHref
	}
	if err := g.page("index.html", "index", idx); err != nil {
		return err
	}
	if err := g.write("style.css", css); err != nil {
		return err
	}

	for _, s := range scs {
		p, err := g.scenarioPage(nav, s)
		if err != nil {
			return err
		}
		if err := g.page(scenarioHref(s.Name), "scenario", p); err != nil {
			return err
		}
	}
	// The index first.
	sort.SliceStable(g.site.Pages, func(i, j int) bool { return g.site.Pages[i] == "index.html" && g.site.Pages[j] != "index.html" })
	return nil
}

func scenarioHref(name string) string { return "scenario-" + fileSafe(name) + ".html" }

// fileSafe maps a name to a file name: letters, digits, '.', '-' and '_' stay,
// anything else becomes '_'.
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// defaultBase returns the run the latest of runs (sorted by date) is compared
// with: of the earlier runs, the one sharing the most scenarios with it, the
// later on a tie; nil if there is none.
func defaultBase(runs []*Run) *Run {
	latest := runScenarios(runs[len(runs)-1])
	var base *Run
	best := -1
	for _, r := range runs[:len(runs)-1] {
		n := 0
		for _, sc := range runScenarios(r) {
			if slices.Contains(latest, sc) {
				n++
			}
		}
		if n >= best {
			base, best = r, n
		}
	}
	return base
}
