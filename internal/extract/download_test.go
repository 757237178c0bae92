package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/version"
)

const sessionsCSV = "source;session_created_at\n5511999999999;2025-03-01 09:00:00\n"

// fileHost is an https file host that records the headers it was sent.
type fileHost struct {
	*httptest.Server
	hits    atomic.Int32
	mu      sync.Mutex
	headers []http.Header
}

func newFileHost(t *testing.T, h http.HandlerFunc) *fileHost {
	t.Helper()
	fh := &fileHost{}
	fh.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fh.hits.Add(1)
		fh.mu.Lock()
		fh.headers = append(fh.headers, r.Header.Clone())
		fh.mu.Unlock()
		h(w, r)
	}))
	fh.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes refused on purpose
	fh.StartTLS()
	t.Cleanup(fh.Close)
	return fh
}

// newDownloadClient is a client of an API whose credentials go in headers
// (as Wavy's), trusting the test servers' certificate.
func newDownloadClient(t *testing.T, hc *http.Client, edit func(*ClientConfig)) (*Client, *sleeper, *atomic.Int32) {
	t.Helper()
	var renews atomic.Int32
	c, s := newTestClient(t, "https://api-messaging.wavy.global", func(cfg *ClientConfig) {
		cfg.HTTPClient = hc
		cfg.Auth = func(ctx context.Context, req *http.Request) error {
			req.Header.Set("userName", "wavy-user")
			req.Header.Set("authenticationToken", "wavy-s3cr3t-token")
			req.Header.Set("Authorization", "Bearer wavy-s3cr3t-token")
			return nil
		}
		cfg.Renew = func(ctx context.Context) error { renews.Add(1); return nil }
		if edit != nil {
			edit(cfg)
		}
	})
	return c, s, &renews
}

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "download"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func contents(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A download goes to an allowed https host with the client's User-Agent
// and none of the API's credentials, even when the API's Auth would set
// them; redirects within the allowed hosts are followed.
func TestDownload(t *testing.T) {
	t.Parallel()
	fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/2019/02/13/sessions", http.StatusFound)
			return
		}
		io.WriteString(w, sessionsCSV)
	})
	c, s, renews := newDownloadClient(t, fh.Client(), nil)
	for _, path := range []string{"/2019/02/13/sessions?sig=abc", "/moved"} {
		f := tempFile(t)
		n, err := c.Download(t.Context(), fh.URL+path, []string{"127.0.0.1"}, f)
		if err != nil || n != int64(len(sessionsCSV)) || contents(t, f) != sessionsCSV {
			t.Fatalf("%s: %d bytes, %v; file %q", path, n, err, contents(t, f))
		}
	}
	for _, h := range fh.headers {
		for _, k := range []string{"userName", "authenticationToken", "Authorization"} {
			if v := h.Get(k); v != "" {
				t.Errorf("the file host got %s: %q", k, v)
			}
		}
		if h.Get("User-Agent") != version.UserAgent() {
			t.Errorf("User-Agent %q, want %q", h.Get("User-Agent"), version.UserAgent())
		}
	}
	if fh.hits.Load() != 3 || len(s.Waits()) != 0 || renews.Load() != 0 {
		t.Errorf("%d requests, waits %v, %d renewals; want 3, none, none", fh.hits.Load(), s.Waits(), renews.Load())
	}
}

// Host names are compared without case, and the port does not matter.
func TestDownloadHostCase(t *testing.T) {
	t.Parallel()
	fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sessionsCSV) })
	// The test certificate is also valid for example.com: send that name
	// to the test server.
	tr := fh.Client().Transport.(*http.Transport).Clone()
	addr := fh.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	c, _, _ := newDownloadClient(t, &http.Client{Transport: tr}, nil)
	_, port, _ := net.SplitHostPort(addr)
	link := "https://EXAMPLE.com:" + port + "/f.csv"
	if _, err := c.Download(t.Context(), link, []string{"example.com"}, tempFile(t)); err != nil {
		t.Fatal(err)
	}
	for _, hosts := range [][]string{{"www.example.com"}, {"example.co"}, {"example.com:" + port}, nil} {
		if _, err := c.Download(t.Context(), link, hosts, tempFile(t)); !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("hosts %v: err = %v, want ErrURLNotAllowed", hosts, err)
		}
	}
}

// A link to a host not allowed, over plain http, or redirecting to either
// or to another host at all, is refused before a byte reaches that host,
// without retrying, and the error names the host without the link's query.
func TestDownloadRefuses(t *testing.T) {
	t.Parallel()
	target := newFileHost(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sessionsCSV) })
	targetLocalhost := strings.Replace(target.URL, "127.0.0.1", "localhost", 1)
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		io.WriteString(w, sessionsCSV)
	}))
	t.Cleanup(plain.Close)
	redirector := newFileHost(t, func(w http.ResponseWriter, r *http.Request) {
		to := targetLocalhost + "/f.csv?sig=s3cr3tsig"
		if r.URL.Path == "/to-http" {
			to = plain.URL + "/f.csv"
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
	c, s, _ := newDownloadClient(t, target.Client(), nil)

	tests := []struct {
		name     string
		link     string
		hosts    []string
		redirect bool
		want     string
	}{
		{"host not allowed", target.URL + "/f.csv?sig=s3cr3tsig", []string{"chatclub-cdn.wavy.global"}, false,
			`the download link goes to host "127.0.0.1" (` + target.URL + `/f.csv?…), which is not among the allowed download hosts`},
		{"no host allowed", target.URL + "/f.csv", nil, false, `host "127.0.0.1"`},
		{"plain http", plain.URL + "/f.csv", []string{"127.0.0.1"}, false,
			"the download link " + plain.URL + "/f.csv uses http://, and only https links are followed"},
		{"another scheme", "ftp://127.0.0.1/f.csv", []string{"127.0.0.1"}, false, "uses ftp://"},
		{"not absolute", "/2019/02/13/f.csv", []string{"127.0.0.1"}, false, "is not an absolute URL"},
		{"not a URL", "https://%zz/f.csv?sig=s3cr3tsig", []string{"127.0.0.1"}, false, "is not an absolute URL"},
		{"redirect to a host not allowed", redirector.URL + "/x", []string{"127.0.0.1"}, true,
			`a redirect of the download link goes to host "localhost"`},
		{"redirect to plain http", redirector.URL + "/to-http", []string{"127.0.0.1"}, true, "a redirect of the download link http://"},
		{"redirect to another host, allowed too", redirector.URL + "/x", []string{"127.0.0.1", "localhost"}, true,
			`a redirect of the download link goes to host "localhost" (` + strings.Replace(target.URL, "127.0.0.1", "localhost", 1) +
				`/f.csv?…), another host than the link's ("127.0.0.1"), and redirects are followed only within the link's host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := redirector.hits.Load()
			_, err := c.Download(t.Context(), tt.link, tt.hosts, tempFile(t))
			var ue *DownloadURLError
			if !errors.Is(err, ErrURLNotAllowed) || !errors.As(err, &ue) || ue.Redirect != tt.redirect {
				t.Fatalf("err = %v, want a DownloadURLError (redirect %v)", err, tt.redirect)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `source "acme-ogmma": `) {
				t.Errorf("err = %q\nlacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3tsig") {
				t.Errorf("the link's query is in the error: %s", err)
			}
			if want := before + map[bool]int32{true: 1, false: 0}[tt.redirect]; redirector.hits.Load() != want {
				t.Errorf("the redirector was asked %d times, want %d", redirector.hits.Load()-before, want-before)
			}
		})
	}
	if target.hits.Load() != 0 || plainHits.Load() != 0 || len(s.Waits()) != 0 {
		t.Errorf("refused hosts were reached (%d https, %d http) or retried (%v)", target.hits.Load(), plainHits.Load(), s.Waits())
	}
}

// A body cut off midway is downloaded again from the start: the file holds
// the whole body once.
func TestDownloadRetriesACutBodyFromTheStart(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			cutBody(sessionsCSV[:20])(w, r)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			io.WriteString(w, sessionsCSV)
		}
	})
	c, s, _ := newDownloadClient(t, fh.Client(), nil)
	f := tempFile(t)
	got, err := c.Download(t.Context(), fh.URL+"/f.csv", []string{"127.0.0.1"}, f)
	if err != nil || got != int64(len(sessionsCSV)) || contents(t, f) != sessionsCSV {
		t.Fatalf("%d bytes, %v; file %q", got, err, contents(t, f))
	}
	if len(s.Waits()) != 2 {
		t.Errorf("waits %v, want 2 retries", s.Waits())
	}
}

// The cap applies to what is announced and to what comes; it is not
// retried.
func TestDownloadCap(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			t.Parallel()
			fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) {
				if chunked {
					w.(http.Flusher).Flush()
				}
				io.WriteString(w, sessionsCSV)
			})
			c, s, _ := newDownloadClient(t, fh.Client(), func(cfg *ClientConfig) { cfg.MaxDownloadBytes = 16 })
			f := tempFile(t)
			_, err := c.Download(t.Context(), fh.URL+"/f.csv", []string{"127.0.0.1"}, f)
			if !errors.Is(err, ErrBodyTooLarge) || fh.hits.Load() != 1 || len(s.Waits()) != 0 {
				t.Fatalf("err = %v after %d requests, want ErrBodyTooLarge after 1", err, fh.hits.Load())
			}
			if len(contents(t, f)) > 17 {
				t.Errorf("%d bytes written past the cap of 16", len(contents(t, f)))
			}
		})
	}
}

// A file host that refuses the link (an expired signature) fails without
// renewing the API's credentials, saying so.
func TestDownloadRefusedLink(t *testing.T) {
	t.Parallel()
	fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
	})
	c, _, renews := newDownloadClient(t, fh.Client(), nil)
	_, err := c.Download(t.Context(), fh.URL+"/f.csv?X-Amz-Signature=s3cr3tsig", []string{"127.0.0.1"}, tempFile(t))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want a StatusError 403", err)
	}
	for _, want := range []string{"HTTP 403", "Request has expired", "the host of the download link refused it", fh.URL + "/f.csv?…"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "s3cr3tsig") || renews.Load() != 0 || fh.hits.Load() != 1 {
		t.Errorf("query shown, renewed (%d) or retried (%d requests): %s", renews.Load(), fh.hits.Load(), err)
	}
}

// An untrusted certificate is not retried and names the download host.
func TestDownloadUntrustedCertificate(t *testing.T) {
	t.Parallel()
	fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, sessionsCSV) })
	c, s, _ := newDownloadClient(t, nil, nil)
	_, err := c.Download(t.Context(), fh.URL+"/f.csv", []string{"127.0.0.1"}, tempFile(t))
	if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "the download host "+fh.Listener.Addr().String()) || len(s.Waits()) != 0 {
		t.Fatalf("err = %v (waits %v), want ErrCertificate naming the host, not retried", err, s.Waits())
	}
}

// Timeout bounds each wait for data, not the whole download: a file that
// keeps coming takes as long as it takes, and one that stalls is given up.
func TestDownloadTimeoutIsPerWait(t *testing.T) {
	t.Parallel()
	const chunk = "5511999999999;2025-03-01 09:00:00\n"
	fh := newFileHost(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "source;session_created_at\n")
		w.(http.Flusher).Flush()
		for range 8 {
			if r.URL.Path == "/stalls" {
				select { // no more data
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
			io.WriteString(w, chunk)
			w.(http.Flusher).Flush()
		}
	})
	c, _, _ := newDownloadClient(t, fh.Client(), func(cfg *ClientConfig) {
		cfg.Timeout = 400 * time.Millisecond
		cfg.MaxRetries = 1
	})
	f := tempFile(t)
	start := time.Now()
	n, err := c.Download(t.Context(), fh.URL+"/slow.csv", []string{"127.0.0.1"}, f)
	if err != nil || !strings.HasSuffix(contents(t, f), strings.Repeat(chunk, 8)) {
		t.Fatalf("a download longer than the timeout, with data all along: %d bytes, %v", n, err)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("the download took %s: the test did not outlast the timeout", took)
	}
	_, err = c.Download(t.Context(), fh.URL+"/stalls", []string{"127.0.0.1"}, tempFile(t))
	if err == nil || !strings.Contains(err.Error(), "the download stalled: no data for 400ms") {
		t.Fatalf("a stalled download: %v", err)
	}
}
