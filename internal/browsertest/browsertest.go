// Package browsertest opens pages in a headless Chromium for tests: it finds
// the browser, starts one per test with flags that work as root and in
// containers, and offers the few steps a page test needs (open, wait, evaluate,
// screenshot), each bounded by a timeout. It is used only from tests. It owns
// the browser process and its clean-up; what a page must show is for the test
// to decide.
//
// With no browser installed a test skips, unless the variable CI is set: then
// it fails, so that CI never passes by skipping. .ci/run installs Debian's
// chromium package.
package browsertest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Env names a Chromium or Chrome binary (a path, or a name on PATH) to use
// instead of the first one found.
const Env = "CHROME_PATH"

// candidates are the programs tried, in order, when Env is not set.
var candidates = []string{"chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// errNoBrowser is what findChrome returns when no candidate is installed.
var errNoBrowser = errors.New("no Chromium or Chrome found")

// Config sizes the window and bounds the steps. The zero value gives the
// defaults.
type Config struct {
	// Timeout bounds each step: a navigation, a wait, an evaluation, a
	// screenshot. Default 30s.
	Timeout time.Duration
	// StartTimeout bounds the start of the browser. Default 60s.
	StartTimeout time.Duration
	// Width and Height size the page's viewport in CSS pixels. Default
	// 1280×800.
	Width, Height int
}

func (c Config) withDefaults() (Config, error) {
	if c.Timeout < 0 || c.StartTimeout < 0 || c.Width < 0 || c.Height < 0 {
		return c, fmt.Errorf("negative value in %+v", c)
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 60 * time.Second
	}
	if c.Width == 0 {
		c.Width = 1280
	}
	if c.Height == 0 {
		c.Height = 800
	}
	return c, nil
}

// Browser is one Chromium process with one tab, belonging to the test that
// made it: its methods fail that test (t.Fatalf) when a step fails, so call
// them from that test's goroutine, and make a Browser per subtest.
type Browser struct {
	t    testing.TB
	cfg  Config
	path string
	ctx  context.Context // the tab's chromedp context

	artifacts string // t.ArtifactDir()

	output tailBuffer // the browser's stdout and stderr

	consoleMu sync.Mutex
	console   []string // what the pages wrote to the console, and their uncaught exceptions
}

// New starts a headless browser for t with the default Config. The browser is
// killed, and its profile directory removed, when t ends.
func New(t testing.TB) *Browser {
	t.Helper()
	return NewWithConfig(t, Config{})
}

// NewWithConfig is New with cfg.
func NewWithConfig(t testing.TB, cfg Config) *Browser {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
		return nil
	}
	path, err := findChrome(os.Getenv, exec.LookPath)
	if errors.Is(err, errNoBrowser) {
		missingBrowser(t, os.Getenv, err)
		return nil
	}
	if err != nil {
		t.Fatalf("browsertest: %v", err)
		return nil
	}

	// Made now, so that the directory is removed after this browser's
	// clean-up, which can take a screenshot into it.
	artifacts := t.ArtifactDir()
	b := &Browser{t: t, cfg: cfg, path: path, artifacts: artifacts}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no first run, and Puppeteer's quiet flags
		chromedp.ExecPath(path),
		// Chromium refuses to start as root with its sandbox, and containers
		// often lack the namespaces it needs.
		chromedp.NoSandbox,
		// No GPU in CI or containers: draw with the software renderer.
		chromedp.DisableGPU,
		// /dev/shm is 64 MB in a default container; Chromium crashes when it
		// fills. Already in the defaults; said here so that it stays.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(cfg.Width, cfg.Height),
		chromedp.CombinedOutput(&b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Called by the start timer and by the clean-up: a second call could wait
	// for a browser that never started.
	cancelTab := sync.OnceFunc(cancel)
	b.ctx = ctx
	var consoleDone chan struct{} // closed when the console reader ends
	t.Cleanup(func() {
		if t.Failed() && consoleDone != nil {
			b.afterFailure()
		}
		cancelTab()   // closes the tab and, as the first one, kills the browser
		cancelAlloc() // waits until the process is gone and its profile removed
		if consoleDone != nil {
			<-consoleDone
		}
	})

	// The first Run starts the browser and binds it to ctx, which must have
	// no deadline; the timer kills it instead if it does not come up.
	timer := time.AfterFunc(cfg.StartTimeout, cancelTab)
	start := time.Now()
	err = chromedp.Do(ctx)
	stopped := timer.Stop()
	if err != nil {
		if !stopped {
			err = fmt.Errorf("no answer within %s: %w", cfg.StartTimeout, err)
		}
		t.Fatalf("browsertest: start %s: %v\nbrowser output:\n%s", path, err, b.output.String())
		return nil
	}
	t.Logf("browsertest: %s started in %s", path, time.Since(start).Round(time.Millisecond))

	// The window's size includes the browser's own bars, even headless: set
	// the page's.
	if _, err := run(b, cfg.Timeout, chromedp.EmulateViewport(int64(cfg.Width), int64(cfg.Height))); err != nil {
		t.Fatalf("browsertest: set the viewport to %d×%d: %v", cfg.Width, cfg.Height, err)
		return nil
	}

	messages := chromedp.Console(ctx)
	consoleDone = make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages { // ends with an error when ctx ends
			if err != nil {
				return
			}
			b.consoleMu.Lock()
			b.console = append(b.console, m.String())
			b.consoleMu.Unlock()
		}
	}()
	return b
}

// Path is the browser binary in use.
func (b *Browser) Path() string { return b.path }

// Context is the tab's chromedp context, for actions the helpers do not
// cover: chromedp.Run(b.Context(), chromedp.Text(chromedp.CSS("h1"))). Bound
// it with context.WithTimeout; the browser itself lives until the test ends.
func (b *Browser) Context() context.Context { return b.ctx }

// SetBasicAuth makes the tab send an Authorization: Basic header with every
// later request, to any host: the page and what its scripts fetch.
func (b *Browser) SetBasicAuth(user, password string) {
	b.t.Helper()
	if err := b.setBasicAuth(user, password); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

func (b *Browser) setBasicAuth(user, password string) error {
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.Timeout)
	defer cancel()
	_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Basic " + token},
	})
	if err != nil {
		return fmt.Errorf("set basic auth: %w", err)
	}
	return nil
}

// Navigate opens rawURL (http, https or file; see FileURL) and waits for its
// load event. It fails the test when the page does not load or answers with
// an HTTP status of 400 or more, or with a 401 that asks for credentials (the
// browser gives up on it: see SetBasicAuth).
func (b *Browser) Navigate(rawURL string) {
	b.t.Helper()
	if err := b.navigate(rawURL); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

// statusError is a page that loaded with an HTTP error status.
type statusError struct {
	URL    string
	Status int64
	Text   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("open %s: HTTP %d %s", e.URL, e.Status, e.Text)
}

func (b *Browser) navigate(rawURL string) error {
	resp, err := run(b, b.cfg.Timeout, chromedp.NavigateResponse(rawURL))
	var load *chromedp.LoadError
	if errors.As(err, &load) && load.ErrorText == "net::ERR_INVALID_AUTH_CREDENTIALS" {
		// Headless Chromium shows no login prompt: a 401 asking for
		// credentials ends the load.
		return fmt.Errorf("open %s: the server wants credentials (call SetBasicAuth) or refused them: %w", rawURL, err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", rawURL, err)
	}
	if resp != nil && resp.Status >= 400 { // a file: URL has no status
		return &statusError{URL: rawURL, Status: resp.Status, Text: resp.StatusText}
	}
	return nil
}

// FileURL is the file: URL of a local file, such as a written HTML report.
func FileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// WaitVisible waits until an element matching the CSS selector is in the page
// and visible.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	if err := b.waitVisible(selector); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

func (b *Browser) waitVisible(selector string) error {
	if _, err := run(b, b.cfg.Timeout, chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("wait for %q to be visible (timeout %s): %w", selector, b.cfg.Timeout, err)
	}
	return nil
}

// WaitFor waits until the JavaScript expression is truthy, checking every
// 50ms. It does not survive a navigation: navigate first.
func (b *Browser) WaitFor(expression string) {
	b.t.Helper()
	if err := b.waitFor(expression); err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
}

func (b *Browser) waitFor(expression string) error {
	// The page gives up after the timeout, which ends its polling too; the
	// context gets a little longer so that the page's answer arrives.
	poll := chromedp.Poll[chromedp.Void](expression,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(b.cfg.Timeout))
	if _, err := run(b, b.cfg.Timeout+5*time.Second, poll); err != nil {
		return fmt.Errorf("wait for %q to be true (timeout %s): %w", expression, b.cfg.Timeout, err)
	}
	return nil
}

// Eval evaluates the JavaScript expression in the page, awaits it when it is
// a promise, and decodes its value into T (a JSON round trip: numbers into
// ints or floats, objects into structs or maps). It fails the test when the
// expression throws, or is null or undefined and T cannot be nil.
func Eval[T any](b *Browser, expression string) T {
	b.t.Helper()
	v, err := eval[T](b, expression)
	if err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
	return v
}

func eval[T any](b *Browser, expression string) (T, error) {
	v, err := run(b, b.cfg.Timeout, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		return v, fmt.Errorf("evaluate %q: %w", expression, err)
	}
	return v, nil
}

// Screenshot saves a PNG of the whole page (beyond the window when the page
// is longer) as <name>.png in t.ArtifactDir(), logs its path and returns it.
// That directory is removed after the test unless go test runs with
// -artifacts (then it is under -outputdir, by default the package's folder,
// in _artifacts/).
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	path, err := b.screenshot(b.artifacts, name, b.cfg.Timeout)
	if err != nil {
		b.t.Fatalf("browsertest: %v", err)
	}
	b.t.Logf("browsertest: screenshot %s", path)
	return path
}

func (b *Browser) screenshot(dir, name string, d time.Duration) (string, error) {
	img, err := run(b, d, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		return "", fmt.Errorf("screenshot %q: %w", name, err)
	}
	path := filepath.Join(dir, fileName(name))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		return "", fmt.Errorf("screenshot %q: %w", name, err)
	}
	return path, nil
}

// fileName makes name a safe file name ending in .png.
func fileName(name string) string {
	name = strings.TrimSuffix(name, ".png")
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	if strings.Trim(name, ".") == "" {
		name = "screenshot"
	}
	return name + ".png"
}

// afterFailure leaves what helps to see why a test of a started browser
// failed: a last screenshot, what the pages wrote to the console, and the
// browser's own output.
func (b *Browser) afterFailure() {
	// A browser that crashed or hangs gets a short while only.
	if path, err := b.screenshot(b.artifacts, "failed", min(b.cfg.Timeout, 10*time.Second)); err != nil {
		b.t.Logf("browsertest: no screenshot of the failure: %v", err)
	} else {
		b.t.Logf("browsertest: screenshot of the failure %s", path)
	}
	b.consoleMu.Lock()
	console := strings.Join(b.console, "\n")
	b.consoleMu.Unlock()
	if console != "" {
		b.t.Logf("browsertest: the page's console:\n%s", console)
	}
	b.t.Logf("browsertest: browser output (last %d KiB, without the complaints about D-Bus):\n%s", outputTail>>10, withoutDBus(b.output.String()))
}

// withoutDBus drops the lines of Chromium's output about D-Bus, which every
// start without a desktop session fills with.
func withoutDBus(output string) string {
	var keep []string
	for line := range strings.Lines(output) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// run runs one action on the tab within d.
func run[T any](b *Browser, d time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// findChrome returns the binary named by Env, or else the first candidate
// installed. It returns errNoBrowser when there is none.
func findChrome(getenv func(string) string, lookPath func(string) (string, error)) (string, error) {
	if name := getenv(Env); name != "" {
		path, err := lookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", Env, name, err)
		}
		return path, nil
	}
	for _, name := range candidates {
		if path, err := lookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w (looked for $%s, %s)", errNoBrowser, Env, strings.Join(candidates, ", "))
}

// missingBrowser skips t, or fails it under CI.
func missingBrowser(t testing.TB, getenv func(string) string, err error) {
	t.Helper()
	const how = "install Debian's chromium (apt-get install chromium; .ci/run does it) or set " + Env
	if inCI(getenv) {
		t.Fatalf("browsertest: %v: %s. CI is set, so this fails rather than skips", err, how)
		return
	}
	t.Skipf("browsertest: %v: %s", err, how)
}

// inCI reports whether the variable CI says the tests run in CI.
func inCI(getenv func(string) string) bool {
	v := getenv("CI")
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// outputTail is how much of the browser's output is kept.
const outputTail = 16 << 10

// tailBuffer keeps the last outputTail bytes written to it. The browser's
// output is copied into it from chromedp's goroutines.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if extra := len(w.buf) - outputTail; extra > 0 {
		w.buf = append(w.buf[:0], w.buf[extra:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
