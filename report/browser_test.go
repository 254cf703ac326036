package report

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium returns the path of a Chromium to test with: $CHROMIUM, or Debian's
// chromium on $PATH.
func chromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// pageRef is a reference a loaded page makes: an <img>, <object>, <a> or <link>.
type pageRef struct {
	Tag    string `json:"tag"`
	URL    string `json:"url"`
	Loaded bool   `json:"loaded"` // for an <img>: complete with a picture
}

// collectRefs lists every reference of the page, resolved by the browser.
const collectRefs = `(() => {
	const out = [];
	for (const e of document.querySelectorAll('img')) out.push({tag: 'img', url: e.src, loaded: e.complete && e.naturalWidth > 0});
	for (const e of document.querySelectorAll('object')) out.push({tag: 'object', url: e.data, loaded: true});
	for (const e of document.querySelectorAll('a[href]')) out.push({tag: 'a', url: e.href, loaded: true});
	for (const e of document.querySelectorAll('link[href]')) out.push({tag: 'link', url: e.href, loaded: true});
	return out;
})()`

// widest names the elements that reach past the window's right edge.
const widest = `(() => {
	const w = document.documentElement.clientWidth, out = [];
	for (const e of document.querySelectorAll('body *')) {
		const r = e.getBoundingClientRect();
		if (r.right > w + 1 && !(e.parentElement && e.parentElement.closest('.table-wrap'))) out.push(e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' (' + Math.round(r.right) + ' px)');
	}
	return out.slice(0, 8);
})()`

// TestBrowser loads every page of the site of the test runs in headless Chromium
// from disk, with networking off, and checks that no page logs an error, that
// every picture loads, that every link and picture names a file of the site,
// and that no page is wider than the window. It saves a screenshot of each page
// in $ALLOCLAB_SCREENSHOTS (or a temporary folder), with tiles of 1280x1600 px
// to read them by.
func TestBrowser(t *testing.T) {
	chrome := chromium()
	if chrome == "" {
		t.Skip("chromium is not installed (Debian: apt-get install -y chromium); skipping the browser test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the browser test")
	}
	// The site of the committed real runs, and that of the synthetic pair
	// compared old against new: the newer units, the chooser and the compare page.
	type sitePage struct{ dir, page, shot string }
	var pages []sitePage
	for _, s := range []struct {
		name string
		o    Options
	}{
		{"browser", Options{Runs: testRuns(t)}},
		{"synthetic", Options{Runs: []string{synthOld, synthNew}, Compare: true}},
	} {
		dir, err := filepath.Abs(siteDir(t, s.name))
		if err != nil {
			t.Fatal(err)
		}
		s.o.Out = dir
		site, err := Generate(s.o)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range site.Pages {
			shot := strings.TrimSuffix(p, ".html")
			if s.name != "browser" {
				shot = s.name + "-" + shot
			}
			pages = append(pages, sitePage{dir, p, shot})
		}
	}
	shots := os.Getenv("ALLOCLAB_SCREENSHOTS")
	tiles := shots != ""
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// No network: every host name fails to resolve.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var mu sync.Mutex
	var problems []string
	current := ""
	report := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, current+": "+fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	if err := chromedp.Listen(bctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				report("console %s: %s", e.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			report("exception: %s", e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				report("console error (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		case *network.EventLoadingFailed:
			report("failed to load a resource: %s", e.ErrorText)
		}
	}); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}

	for _, sp := range pages {
		dir, p := sp.dir, sp.page
		mu.Lock()
		current = sp.shot
		mu.Unlock()
		u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, p))}).String()
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(u)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		refs, err := chromedp.Run(bctx, chromedp.Evaluate[[]pageRef](collectRefs))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, r := range refs {
			checkRef(t, dir, p, r)
		}
		// The pages that rank, choose and compare show what they are for.
		for _, c := range pageChecks[p] {
			n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(c.selector)+`).length`))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if n < c.min {
				t.Errorf("%s: %d elements match %s, want %d or more", sp.shot, n, c.selector, c.min)
			}
		}
		// No page scrolls sideways: wide tables scroll inside their frame.
		for _, width := range []int64{1280, 400} {
			if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900)); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			over, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if over > 0 {
				wide, _ := chromedp.Run(bctx, chromedp.Evaluate[[]string](widest))
				t.Errorf("%s: %d px wider than a %d px window; the widest elements: %s", sp.shot, over, width, strings.Join(wide, ", "))
			}
		}
		name := sp.shot
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", p, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if tiles {
			if err := saveTiles(bctx, filepath.Join(shots, name)); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d pages checked; screenshots in %s", len(pages), shots)
}

// pageChecks are elements a page must show, by CSS selector: at least min of
// each. Both sites have them (the synthetic one has every measure).
var pageChecks = map[string][]struct {
	selector string
	min      int
}{
	"index.html": {
		{"table.ranking tbody tr", 3},       // the ranking, a row per guest
		{"table.ranking svg.spark rect", 3}, // with a sparkline per guest
		{".chooser .need ol li", 9},         // three needs or more, three leaders each
		{`a[href="compare.html"]`, 1},       // the way to the compare page
		{`.chooser .need h3`, 4},            // smallest, least memory, fastest, OOM
	},
	"compare.html": {
		{"table.overview tbody tr", 5}, // a row per unit
		{"#exact details.unit-group, h2#exact ~ details.unit-group", 1},
		{"td.delta", 10}, // the changes, with their tests
	},
}

// checkRef checks a reference is a file of the site (or the empty favicon) and,
// for a picture, that it loaded.
func checkRef(t *testing.T, dir, page string, r pageRef) {
	t.Helper()
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Errorf("%s: <%s> %q: %v", page, r.Tag, r.URL, err)
		return
	}
	switch u.Scheme {
	case "data":
		return
	case "file":
	default:
		t.Errorf("%s: <%s> %s leaves the site", page, r.Tag, r.URL)
		return
	}
	path := filepath.FromSlash(u.Path)
	if rel, err := filepath.Rel(dir, path); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("%s: <%s> %s is outside the site", page, r.Tag, r.URL)
		return
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("%s: <%s> %s: %v", page, r.Tag, r.URL, err)
		return
	}
	if !r.Loaded {
		t.Errorf("%s: <%s> %s did not load", page, r.Tag, r.URL)
	}
}

// saveTiles saves the page in tiles of 1280x1600 px: base-01.png and on.
func saveTiles(ctx context.Context, base string) error {
	h, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollHeight`))
	if err != nil {
		return err
	}
	const tile = 1600
	for i := 0; float64(i*tile) < h && i < 40; i++ {
		y := float64(i * tile)
		clip := &page.Viewport{X: 0, Y: y, Width: 1280, Height: min(tile, h-y), Scale: 1}
		data, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
			beyond := true
			r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{Clip: clip, CaptureBeyondViewport: &beyond})
			if err != nil {
				return nil, err
			}
			return r.Data, nil
		})
		if err != nil {
			return err
		}
		if err := os.WriteFile(fmt.Sprintf("%s-%02d.png", base, i+1), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
