package browsertest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The page draws on its canvas once /slow answers, which the test holds back
// until it has seen the page without the drawing. A tall block makes the page
// longer than the window.
const drawPage = `<!doctype html>
<html><head><title>browsertest draws</title></head>
<body style="margin:0">
<h1 id="title">browsertest</h1>
<canvas id="chart" width="200" height="100"></canvas>
<div id="status"></div>
<div style="height:2000px;background:linear-gradient(#fff,#99c)"></div>
<script>
fetch("/slow").then(r => r.text()).then(word => {
  const c = document.getElementById("chart").getContext("2d");
  c.fillStyle = "rgb(200, 30, 40)";
  c.fillRect(0, 0, 200, 100);
  const p = document.createElement("p");
  p.id = "drawn";
  p.textContent = word;
  document.getElementById("status").appendChild(p);
  window.drawn = true;
});
</script>
</body></html>`

// The private page fetches its data, which is behind the same basic auth, as
// the River UI does with its API.
const privatePage = `<!doctype html>
<html><head><title>private</title></head>
<body>
<p id="secret">private</p>
<p id="data"></p>
<script>
fetch("/private/data.json").then(r => r.json()).then(d => {
  document.getElementById("data").textContent = d.jobs + " jobs";
  window.loaded = true;
});
</script>
</body></html>`

const user, password = "ops", "s3cret"

// server serves the pages; release lets /slow answer.
func server(t *testing.T) (srv *httptest.Server, release func()) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }

	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(user+":"+password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(drawPage))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ch:
			w.Write([]byte("drawn"))
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /private/{$}", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(privatePage))
	}))
	mux.HandleFunc("GET /private/data.json", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"jobs": 3}`))
	}))
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close) // after the browser's clean-up, which is registered later
	t.Cleanup(release)
	return srv, release
}

func TestDrawnPage(t *testing.T) {
	t.Parallel()
	srv, release := server(t)
	b := New(t)

	b.Navigate(srv.URL + "/")
	if got := Eval[string](b, "document.title"); got != "browsertest draws" {
		t.Errorf("title = %q", got)
	}
	// The load event does not wait for the fetch, which the server holds.
	if drawn := Eval[bool](b, `document.getElementById("drawn") !== null`); drawn {
		t.Fatal("#drawn is there before /slow answered")
	}

	release()
	b.WaitVisible("#drawn")
	b.WaitFor("window.drawn === true")
	pixel := Eval[[]int](b, `Array.from(document.getElementById("chart").getContext("2d").getImageData(10, 10, 1, 1).data)`)
	if want := []int{200, 30, 40, 255}; !slices.Equal(pixel, want) {
		t.Errorf("canvas pixel = %v, want %v", pixel, want)
	}

	checkPNG(t, b.Screenshot("drawn page"), 1280, 2000)
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	srv, _ := server(t)
	b := New(t)
	url := srv.URL + "/private/"

	// Headless Chromium gives up on a 401 that asks for credentials; the
	// error says what to do.
	var load *chromedp.LoadError
	if err := b.navigate(url); !errors.As(err, &load) || !strings.Contains(err.Error(), "SetBasicAuth") {
		t.Fatalf("without credentials: err = %v, want a load error that names SetBasicAuth", err)
	}
	b.SetBasicAuth(user, "wrong")
	if err := b.navigate(url); !errors.As(err, &load) {
		t.Fatalf("with a wrong password: err = %v, want a load error", err)
	}

	b.SetBasicAuth(user, password)
	b.Navigate(url)
	b.WaitVisible("#secret")
	b.WaitFor("window.loaded === true") // the page's own fetch got the header too
	if got := Eval[string](b, `document.getElementById("data").textContent`); got != "3 jobs" {
		t.Errorf("#data = %q, want %q", got, "3 jobs")
	}
	checkPNG(t, b.Screenshot("private"), 1280, 800)
}

func TestFilePage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report with space.html")
	if err := os.WriteFile(path, []byte(`<!doctype html><title>report</title><h1 id="total">42 rows</h1>`), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := FileURL(path)
	if err != nil {
		t.Fatal(err)
	}
	b := New(t)
	b.Navigate(u)
	b.WaitVisible("#total")
	if got := Eval[string](b, `document.getElementById("total").textContent`); got != "42 rows" {
		t.Errorf("#total = %q", got)
	}
}

// The waits give up at the timeout, and failed evaluations are errors.
func TestErrors(t *testing.T) {
	t.Parallel()
	srv, release := server(t)
	release()
	const timeout = time.Second
	b := NewWithConfig(t, Config{Timeout: timeout})
	b.Navigate(srv.URL + "/")

	start := time.Now()
	err := b.waitVisible("#never")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waitVisible of a missing element: err = %v, want a deadline", err)
	}
	if err := b.waitFor("window.never === true"); err == nil {
		t.Error("waitFor of a false condition: no error")
	}
	if took := time.Since(start); took > 10*timeout {
		t.Errorf("two waits of %s took %s", timeout, took)
	}

	if _, err := eval[int](b, `(() => { throw new Error("boom") })()`); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("eval of a throw: err = %v, want the exception", err)
	}
	if _, err := eval[int](b, `undefined`); err == nil {
		t.Error("eval of undefined into an int: no error")
	}
	if got, err := eval[int](b, `Promise.resolve(7)`); err != nil || got != 7 {
		t.Errorf("eval of a promise = %d, %v; want 7", got, err)
	}
	var status *statusError
	if err := b.navigate(srv.URL + "/missing"); !errors.As(err, &status) || status.Status != http.StatusNotFound {
		t.Errorf("navigate to a missing page: err = %v, want HTTP 404", err)
	}
}

// checkPNG checks that the file is a PNG at least wantW×wantH pixels.
func checkPNG(t *testing.T, path string, wantW, wantH int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		t.Fatalf("%s is empty", path)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width < wantW || cfg.Height < wantH {
		t.Errorf("%s is %d×%d, want at least %d×%d", path, cfg.Width, cfg.Height, wantW, wantH)
	}
}

func TestFindChrome(t *testing.T) {
	t.Parallel()
	installed := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(names, name) {
				return "/found/" + strings.TrimPrefix(name, "/"), nil
			}
			return "", fmt.Errorf("%s: not found", name)
		}
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		getenv  func(string) string
		look    func(string) (string, error)
		want    string
		wantErr error // nil: no error
		anyErr  bool
	}{
		{"chromium on PATH", env(), installed("chromium", "google-chrome"), "/found/chromium", nil, false},
		{"Debian's path", env(), installed("/usr/bin/chromium"), "/found/usr/bin/chromium", nil, false},
		{"google-chrome", env(), installed("google-chrome"), "/found/google-chrome", nil, false},
		{"CHROME_PATH wins", env(Env, "/opt/chrome"), installed("chromium", "/opt/chrome"), "/found/opt/chrome", nil, false},
		{"CHROME_PATH missing fails", env(Env, "/opt/none"), installed("chromium"), "", nil, true},
		{"nothing", env(), installed(), "", errNoBrowser, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findChrome(tt.getenv, tt.look)
			// Only errNoBrowser skips: a wrong CHROME_PATH must fail.
			if got != tt.want || (err != nil) != tt.anyErr || errors.Is(err, errNoBrowser) != (tt.wantErr != nil) {
				t.Errorf("findChrome = %q, %v; want %q, error %v (%v)", got, err, tt.want, tt.anyErr, tt.wantErr)
			}
		})
	}
}

// fakeTB records Skipf and Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) { f.skipped = fmt.Sprintf(format, args...) }

func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestMissingBrowserSkipsOutsideCI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ci   string
		fail bool
	}{{"", false}, {"false", false}, {"0", false}, {"true", true}, {"1", true}} {
		f := &fakeTB{}
		missingBrowser(f, func(k string) string {
			if k == "CI" {
				return tt.ci
			}
			return ""
		}, errNoBrowser)
		if tt.fail && (f.failed == "" || f.skipped != "") || !tt.fail && (f.skipped == "" || f.failed != "") {
			t.Errorf("CI=%q: skipped %q, failed %q; want fail=%v", tt.ci, f.skipped, f.failed, tt.fail)
		}
		if msg := f.skipped + f.failed; !strings.Contains(msg, "apt-get install chromium") || !strings.Contains(msg, Env) {
			t.Errorf("CI=%q: the message %q does not say what to do", tt.ci, msg)
		}
	}
}

func TestFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"jobs":           "jobs.png",
		"jobs.png":       "jobs.png",
		"river ui/jobs":  "river_ui_jobs.png",
		"../../etc/x":    ".._.._etc_x.png",
		"":               "screenshot.png",
		"..":             "screenshot.png",
		"résumé-1_final": "r_sum_-1_final.png",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}
