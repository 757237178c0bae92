package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/redact"
	"syncer/internal/version"
)

const testSource = "acme-ogmma"

func testNow() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }

// fakeServer answers the n-th request with steps[n], repeating the last step.
type fakeServer struct {
	*httptest.Server
	hits atomic.Int32
}

func newFakeServer(t *testing.T, steps ...http.HandlerFunc) *fakeServer {
	t.Helper()
	fs := &fakeServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(fs.hits.Add(1)) - 1
		steps[min(n, len(steps)-1)](w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func reply(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// cutBody promises more bytes than it sends, so the client reads
// io.ErrUnexpectedEOF.
func cutBody(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)+100))
		io.WriteString(w, body)
	}
}

// sleeper records the waits the client asks for instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
	hook  func() // runs on each Sleep, e.g. to cancel the caller's ctx
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// newTestClient returns a client for srv whose sleeps are recorded, whose
// clock is frozen and whose jitter is 0; edit adjusts the config.
func newTestClient(t *testing.T, baseURL string, edit func(*ClientConfig)) (*Client, *sleeper) {
	t.Helper()
	s := &sleeper{}
	cfg := ClientConfig{
		Source:     testSource,
		BaseURL:    baseURL,
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: time.Second,
		Sleep:      s.Sleep,
		Now:        testNow,
		Rand:       func() float64 { return 0 },
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, s
}

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  ClientConfig
		want string // "" means valid
	}{
		{"valid", ClientConfig{Source: "s", BaseURL: "https://oapi.ogmma.com.br"}, ""},
		{"valid with path prefix", ClientConfig{Source: "s", BaseURL: "http://127.0.0.1:1234/ogmma"}, ""},
		{"http to localhost", ClientConfig{Source: "s", BaseURL: "http://LocalHost:8089"}, ""},
		{"http to 127.0.0.0/8", ClientConfig{Source: "s", BaseURL: "http://127.8.9.10"}, ""},
		{"http to ::1", ClientConfig{Source: "s", BaseURL: "http://[::1]:8089"}, ""},
		{"http to another host", ClientConfig{Source: "s", BaseURL: "http://oapi.ogmma.com.br"}, "sends the credentials in clear text"},
		{"http to a private address", ClientConfig{Source: "s", BaseURL: "http://10.0.0.7:8080"}, "use https://"},
		{"http to a name that starts with localhost", ClientConfig{Source: "s", BaseURL: "http://localhost.example.com"}, "clear text"},
		{"no source", ClientConfig{BaseURL: "https://x.example"}, "source name is empty"},
		{"bad URL", ClientConfig{Source: "s", BaseURL: "https://x.example/%zz"}, "not a valid URL"},
		{"other scheme", ClientConfig{Source: "s", BaseURL: "ftp://x.example"}, "http:// or https://"},
		{"no host", ClientConfig{Source: "s", BaseURL: "https:///v1"}, "no host"},
		{"negative rate", ClientConfig{Source: "s", BaseURL: "https://x.example", RateLimit: -1}, "rate limit"},
		{"negative retries", ClientConfig{Source: "s", BaseURL: "https://x.example", MaxRetries: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewClient: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewClient error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestClientSendsHeadersAndJoinsURL(t *testing.T) {
	t.Parallel()
	var got *http.Request
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		io.WriteString(w, `{"ok":true}`)
	})
	c, _ := newTestClient(t, srv.URL+"/ogmma/", nil)

	var out struct{ OK bool }
	resp, err := c.GetJSON(t.Context(), "/v1/channels/a%2Fb/conversations", url.Values{"limit": {"500"}}, nil, &out)
	if err != nil {
		t.Fatalf("GetJSON: %v", err)
	}
	if !out.OK || resp.Status != http.StatusOK {
		t.Errorf("GetJSON = %d %+v, want 200 {OK:true}", resp.Status, out)
	}
	if p := got.URL.EscapedPath(); p != "/ogmma/v1/channels/a%2Fb/conversations" {
		t.Errorf("path = %q", p)
	}
	if q := got.URL.RawQuery; q != "limit=500" {
		t.Errorf("query = %q", q)
	}
	if ua := got.Header.Get("User-Agent"); ua != version.UserAgent() {
		t.Errorf("User-Agent = %q, want %q", ua, version.UserAgent())
	}
	if a := got.Header.Get("Accept"); a != "application/json" {
		t.Errorf("Accept = %q, want application/json", a)
	}

	if _, err := c.Do(t.Context(), http.MethodGet, "/export", nil, http.Header{"Accept": {"text/csv"}}, nil); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if a := got.Header.Get("Accept"); a != "text/csv" {
		t.Errorf("Accept with override = %q, want text/csv", a)
	}
}

func TestClientPostJSON(t *testing.T) {
	t.Parallel()
	var contentType, body string
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		contentType, body = r.Header.Get("Content-Type"), string(b)
		io.WriteString(w, `{"access_token":"t2"}`)
	})
	c, _ := newTestClient(t, srv.URL, nil)

	var out struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := c.PostJSON(t.Context(), "/api/v1/oauth/token", map[string]string{"grant_type": "password"}, &out); err != nil {
		t.Fatalf("PostJSON: %v", err)
	}
	if contentType != "application/json" || body != `{"grant_type":"password"}` || out.AccessToken != "t2" {
		t.Errorf("sent %q %q, got %+v", contentType, body, out)
	}
}

func TestClientRetriesServerErrors(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t,
		reply(http.StatusInternalServerError, nil, "boom"),
		reply(http.StatusBadGateway, nil, "<html>bad gateway</html>"),
		reply(http.StatusOK, nil, `{"n":1}`),
	)
	var logs bytes.Buffer
	c, s := newTestClient(t, srv.URL, func(cfg *ClientConfig) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})

	var out struct{ N int }
	if _, err := c.GetJSON(t.Context(), "/v1/x", nil, nil, &out); err != nil {
		t.Fatalf("GetJSON: %v", err)
	}
	if out.N != 1 || srv.hits.Load() != 3 {
		t.Errorf("got %+v after %d requests, want {N:1} after 3", out, srv.hits.Load())
	}
	// Equal jitter with Rand()=0: half of 200ms, then half of 400ms.
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(s.Waits(), want) {
		t.Errorf("waits = %v, want %v", s.Waits(), want)
	}
	for _, want := range []string{"level=WARN", "source=acme-ogmma", "method=GET", "status=502", "attempt=2", "wait=200ms"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestClientServerErrorBudget(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, reply(http.StatusBadGateway, nil, "upstream down"))
	c, s := newTestClient(t, srv.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 2 })

	_, err := c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadGateway || se.Body != "upstream down" {
		t.Fatalf("err = %#v, want a 502 StatusError", err)
	}
	if srv.hits.Load() != 3 || len(s.Waits()) != 2 {
		t.Errorf("%d requests, %d waits; want 3 and 2", srv.hits.Load(), len(s.Waits()))
	}
}

func TestClientBackoff(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		rand float64
		want []time.Duration // retries 1, 2, 3, ...
	}{
		{0, []time.Duration{100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms, 500 * ms}},
		{0.5, []time.Duration{150 * ms, 300 * ms, 600 * ms, 750 * ms, 750 * ms, 750 * ms}},
		{1, []time.Duration{200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second}},
	}
	for _, tt := range tests {
		c, _ := newTestClient(t, "http://127.0.0.1", func(cfg *ClientConfig) { cfg.Rand = func() float64 { return tt.rand } })
		var got []time.Duration
		for n := range len(tt.want) {
			got = append(got, c.backoff(n+1))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("rand %v: backoff = %v, want %v", tt.rand, got, tt.want)
		}
	}
}

func TestClientRateLimitWaits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
	}{
		{"429 seconds", 429, "1", time.Second},
		{"429 HTTP date", 429, testNow().Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{"429 date in the past", 429, testNow().Add(-time.Hour).Format(http.TimeFormat), 250 * time.Millisecond},
		{"429 zero", 429, "0", 250 * time.Millisecond},
		{"429 negative", 429, "-5", 250 * time.Millisecond},
		{"429 unparseable", 429, "soon", 100 * time.Millisecond},
		{"429 without header", 429, "", 100 * time.Millisecond},
		{"420 seconds", 420, "2", 2 * time.Second},
		{"503 seconds", 503, "7", 7 * time.Second},
		{"503 without header", 503, "", 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := map[string]string{}
			if tt.retryAfter != "" {
				header["Retry-After"] = tt.retryAfter
			}
			srv := newFakeServer(t,
				reply(tt.status, header, `{"message":"Limite de requisicoes excedido.","code":"RATE_LIMIT_EXCEEDED"}`),
				reply(http.StatusOK, nil, `{}`),
			)
			c, s := newTestClient(t, srv.URL, nil)
			if _, err := c.GetJSON(t.Context(), "/v1/x", nil, nil, &struct{}{}); err != nil {
				t.Fatalf("GetJSON: %v", err)
			}
			if want := []time.Duration{tt.want}; !slices.Equal(s.Waits(), want) {
				t.Errorf("waits = %v, want %v", s.Waits(), want)
			}
			if srv.hits.Load() != 2 {
				t.Errorf("%d requests, want 2", srv.hits.Load())
			}
		})
	}
}

func TestClientRateLimitBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		retryAfter     string
		wantAttempts   int
		wantRetryAfter time.Duration
		wantText       string
	}{
		{"retries run out", "1", 4, time.Second, "after 4 attempts"},
		{"wait too long", "600", 1, 10 * time.Minute, "asked to wait 10m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, reply(http.StatusTooManyRequests, map[string]string{"Retry-After": tt.retryAfter}, ""))
			c, s := newTestClient(t, srv.URL, func(cfg *ClientConfig) { cfg.MaxRateLimitRetries = 3 })

			_, err := c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil)
			var rl *RateLimitError
			if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
				t.Fatalf("err = %v, want a RateLimitError", err)
			}
			if rl.Attempts != tt.wantAttempts || rl.RetryAfter != tt.wantRetryAfter || rl.Status != 429 {
				t.Errorf("err = %+v, want %d attempts, Retry-After %v", rl, tt.wantAttempts, tt.wantRetryAfter)
			}
			if int(srv.hits.Load()) != tt.wantAttempts || len(s.Waits()) != tt.wantAttempts-1 {
				t.Errorf("%d requests, %d waits", srv.hits.Load(), len(s.Waits()))
			}
			for _, want := range []string{`source "acme-ogmma"`, tt.wantText, "next run resumes"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		})
	}
}

func TestClientAuthErrorIsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t/+ k&y"
	var gotAuth, gotToken string
	srv := newFakeServer(t,
		// The platform echoes the secret back, as is and URL-encoded.
		func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "failed for %s at %s", secret, r.URL)
		},
		func(w http.ResponseWriter, r *http.Request) {
			gotAuth, gotToken = r.Header.Get("Authorization"), r.URL.Query().Get("token")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{
				"message": fmt.Sprintf("Token %s (%s) invalido ou ausente.", secret, url.PathEscape(secret)),
				"code":    "UNAUTHORIZED",
			})
		},
	)
	var logs bytes.Buffer
	c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) {
		cfg.Redactor = redact.New(secret)
		cfg.Auth = func(ctx context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+secret)
			return nil
		}
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})

	_, err := c.Do(t.Context(), http.MethodGet, "/v1/x", url.Values{"token": {secret}}, nil, nil)
	if gotAuth != "Bearer "+secret || gotToken != secret {
		t.Fatalf("server saw Authorization %q and token %q; the test proves nothing", gotAuth, gotToken)
	}
	var ae *AuthError
	if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 AuthError", err)
	}
	want := `source "acme-ogmma": the platform refused the credentials (HTTP 401: Token [REDACTED] ([REDACTED]) invalido ou ausente.); check the api_key/token in the config`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if !strings.Contains(logs.String(), "[REDACTED]") {
		t.Errorf("log does not show the redacted URL:\n%s", logs.String())
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if strings.Contains(text, "s3cr3t") {
			t.Errorf("secret leaked: %s", text)
		}
	}
}

func TestClientRenew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		statuses   []int
		noRenew    bool
		wantErr    bool
		wantHits   int
		wantRenews int
	}{
		{"401 then renewed", []int{401, 200}, false, false, 2, 1},
		{"403 then renewed", []int{403, 200}, false, false, 2, 1},
		{"second 401 fails", []int{401, 401, 200}, false, true, 2, 1},
		{"no Renew fails at once", []int{401, 200}, true, true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu     sync.Mutex
				token  = "old"
				tokens []string
				steps  []http.HandlerFunc
			)
			for _, st := range tt.statuses {
				steps = append(steps, func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					tokens = append(tokens, r.Header.Get("Authorization"))
					mu.Unlock()
					reply(st, nil, `{"message":"Invalid token: access token is invalid"}`)(w, r)
				})
			}
			srv := newFakeServer(t, steps...)
			var renews atomic.Int32
			c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) {
				cfg.Auth = func(ctx context.Context, req *http.Request) error {
					mu.Lock()
					defer mu.Unlock()
					req.Header.Set("Authorization", "Bearer "+token)
					return nil
				}
				if !tt.noRenew {
					cfg.Renew = func(ctx context.Context) error {
						renews.Add(1)
						mu.Lock()
						defer mu.Unlock()
						token = "new"
						return nil
					}
				}
			})

			_, err := c.Do(t.Context(), http.MethodGet, "/api/v1/tickets", nil, nil, nil)
			if gotErr := errors.Is(err, ErrUnauthorized); gotErr != tt.wantErr || (err != nil && !gotErr) {
				t.Fatalf("err = %v, want an AuthError: %v", err, tt.wantErr)
			}
			if int(srv.hits.Load()) != tt.wantHits || int(renews.Load()) != tt.wantRenews {
				t.Errorf("%d requests, %d renewals; want %d and %d", srv.hits.Load(), renews.Load(), tt.wantHits, tt.wantRenews)
			}
			if !tt.noRenew && tokens[len(tokens)-1] != "Bearer new" {
				t.Errorf("tokens sent = %v, want the renewed one last", tokens)
			}
		})
	}
}

// TestClientRenewIsNotReentrant: a Renew that uses the client itself and is
// refused must not renew again, over and over.
func TestClientRenewIsNotReentrant(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, reply(http.StatusUnauthorized, nil, `{"message":"bad password"}`))
	var c *Client
	c, _ = newTestClient(t, srv.URL, func(cfg *ClientConfig) {
		cfg.Renew = func(ctx context.Context) error {
			_, err := c.PostJSON(ctx, "/api/v1/oauth/token", map[string]string{"grant_type": "password"}, nil)
			return err
		}
	})

	_, err := c.Do(t.Context(), http.MethodGet, "/api/v1/tickets", nil, nil, nil)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "bad password") {
		t.Fatalf("err = %v, want the AuthError of the token request", err)
	}
	if srv.hits.Load() != 2 {
		t.Errorf("%d requests, want 2", srv.hits.Load())
	}
}

func TestClientDoesNotRetryClientErrors(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, reply(http.StatusNotFound, nil, `{"error":"NotFound","message":"Channel not found"}`))
	c, s := newTestClient(t, srv.URL, nil)

	_, err := c.Do(t.Context(), http.MethodGet, "/v1/channels/x", nil, nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.Source != testSource || se.Method != http.MethodGet {
		t.Fatalf("err = %#v, want a 404 StatusError", err)
	}
	if se.URL != srv.URL+"/v1/channels/x" || !strings.Contains(se.Body, "Channel not found") {
		t.Errorf("err = %+v", se)
	}
	if !strings.HasPrefix(err.Error(), `source "acme-ogmma": GET `) {
		t.Errorf("err = %q, want it to name the source", err)
	}
	if srv.hits.Load() != 1 || len(s.Waits()) != 0 {
		t.Errorf("%d requests, %d waits; want 1 and 0", srv.hits.Load(), len(s.Waits()))
	}
}

func TestClientRetriesBrokenBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first http.HandlerFunc
		json  bool
	}{
		{"cut off, GetJSON", cutBody(`{"data":[{"id":`), true},
		{"cut off, Do", cutBody(`{"data":[{"id":`), false},
		{"complete but not JSON", reply(http.StatusOK, nil, `{"data":[{"id":`), true},
		{"empty", reply(http.StatusOK, nil, ""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, tt.first, reply(http.StatusOK, nil, `{"data":[{"id":"m1"}]}`))
			c, s := newTestClient(t, srv.URL, nil)

			var out struct{ Data []struct{ ID string } }
			var err error
			if tt.json {
				_, err = c.GetJSON(t.Context(), "/v1/x", nil, nil, &out)
			} else {
				var resp *Response
				if resp, err = c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil); err == nil {
					err = json.Unmarshal(resp.Body, &out)
				}
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			if len(out.Data) != 1 || out.Data[0].ID != "m1" || srv.hits.Load() != 2 || len(s.Waits()) != 1 {
				t.Errorf("got %+v after %d requests and %d waits", out, srv.hits.Load(), len(s.Waits()))
			}
		})
	}
}

func TestClientDoesNotRetryJSONOfTheWrongShape(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, reply(http.StatusOK, nil, `{"data":"not a list"}`))
	c, _ := newTestClient(t, srv.URL, nil)

	var out struct{ Data []string }
	_, err := c.GetJSON(t.Context(), "/v1/x", nil, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "decode response") || srv.hits.Load() != 1 {
		t.Fatalf("err = %v after %d requests, want a decode error after 1", err, srv.hits.Load())
	}
}

func TestClientGivesUpOnNetworkErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c, s := newTestClient(t, srv.URL, func(cfg *ClientConfig) {
		cfg.MaxRetries = 2
		cfg.Redactor = redact.New("k3y-0123")
	})

	_, err := c.Do(t.Context(), http.MethodGet, "/v1/x", url.Values{"key": {"k3y-0123"}}, nil, nil)
	if err == nil || len(s.Waits()) != 2 {
		t.Fatalf("err = %v after %d waits, want an error after 2", err, len(s.Waits()))
	}
	want := fmt.Sprintf(`source "acme-ogmma": GET %s/v1/x?key=[REDACTED]: `, srv.URL)
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("err = %q, want it to start with %q", err, want)
	}
}

func TestClientBodyTooLarge(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"announced", reply(http.StatusOK, nil, big)},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			io.WriteString(w, big)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, tt.handler)
			c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) { cfg.MaxBodyBytes = 16 })

			_, err := c.Do(t.Context(), http.MethodGet, "/export", nil, nil, nil)
			if !errors.Is(err, ErrBodyTooLarge) || srv.hits.Load() != 1 {
				t.Fatalf("err = %v after %d requests, want ErrBodyTooLarge after 1", err, srv.hits.Load())
			}
		})
	}
}

func TestClientRateLimiterSpacesRequests(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, reply(http.StatusOK, nil, `{}`))
	c, s := newTestClient(t, srv.URL, func(cfg *ClientConfig) { cfg.RateLimit = 10 })

	for range 3 {
		if _, err := c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil); err != nil {
			t.Fatalf("Do: %v", err)
		}
	}
	// The clock is frozen, so each request waits one more slot.
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(s.Waits(), want) {
		t.Errorf("waits = %v, want %v", s.Waits(), want)
	}
}

func TestClientStopsWhenCallerCancels(t *testing.T) {
	t.Parallel()

	t.Run("while waiting to retry", func(t *testing.T) {
		t.Parallel()
		srv := newFakeServer(t, reply(http.StatusInternalServerError, nil, ""))
		ctx, cancel := context.WithCancel(t.Context())
		c, s := newTestClient(t, srv.URL, nil)
		s.hook = cancel

		_, err := c.Do(ctx, http.MethodGet, "/v1/x", nil, nil, nil)
		if !errors.Is(err, context.Canceled) || srv.hits.Load() != 1 {
			t.Fatalf("err = %v after %d requests, want context.Canceled after 1", err, srv.hits.Load())
		}
	})

	t.Run("while the request is in flight", func(t *testing.T) {
		t.Parallel()
		started := make(chan struct{})
		srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-started
			cancel()
		}()
		c, s := newTestClient(t, srv.URL, nil)

		_, err := c.Do(ctx, http.MethodGet, "/v1/x", nil, nil, nil)
		if !errors.Is(err, context.Canceled) || len(s.Waits()) != 0 {
			t.Fatalf("err = %v after %d waits, want context.Canceled and no retry", err, len(s.Waits()))
		}
	})

	t.Run("an attempt that times out is retried", func(t *testing.T) {
		t.Parallel()
		srv := newFakeServer(t,
			func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			reply(http.StatusOK, nil, `{}`),
		)
		c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) { cfg.Timeout = 100 * time.Millisecond })

		if _, err := c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil); err != nil || srv.hits.Load() != 2 {
			t.Fatalf("err = %v after %d requests, want success after 2", err, srv.hits.Load())
		}
	})
}

func TestClientRefusesRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	other := newFakeServer(t, reply(http.StatusOK, nil, `{}`))
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
	})
	c, _ := newTestClient(t, srv.URL, nil)

	_, err := c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil)
	if !errors.Is(err, ErrURLNotAllowed) || srv.hits.Load() != 1 || other.hits.Load() != 0 {
		t.Fatalf("err = %v, want ErrURLNotAllowed without retry", err)
	}
}

// TestClientRefusesRedirectToPlainHTTP: an https source that redirects to
// http on the same host and port is not followed; the credentials would go
// in clear text.
func TestClientRefusesRedirectToPlainHTTP(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "http://"+r.Host+"/v1/y", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, srv.URL, func(cfg *ClientConfig) { cfg.HTTPClient = srv.Client() })

	_, err := c.Do(t.Context(), http.MethodGet, "/v1/x", nil, nil, nil)
	if !errors.Is(err, ErrURLNotAllowed) || hits.Load() != 1 {
		t.Fatalf("err = %v after %d requests, want ErrURLNotAllowed after 1", err, hits.Load())
	}
}

// TestClientFailsFastWhereWaitingCannotHelp: a host DNS does not know and a
// certificate that fails verification are not retried, and the error says
// what to check.
func TestClientFailsFastWhereWaitingCannotHelp(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{}`)
	}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	trusting := tlsSrv.Client() // trusts the test certificate, made for 127.0.0.1, ::1 and example.com
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}}

	tests := []struct {
		name    string
		baseURL string
		hc      *http.Client
		wantErr error
		want    []string
	}{
		{"no such host", "https://acme.digisac.invalid", noDNS, ErrHostNotFound,
			[]string{"host not found", "no such host", "check the host in base_url in the config (https://acme.digisac.invalid)"}},
		{"unknown authority", tlsSrv.URL, nil, ErrCertificate,
			[]string{"TLS certificate refused", "unknown authority", "check the certificate"}},
		{"certificate for another name", strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1), trusting, ErrCertificate,
			[]string{"TLS certificate refused", "localhost", "check the certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			var logs bytes.Buffer
			c, s := newTestClient(t, tt.baseURL, func(cfg *ClientConfig) {
				cfg.HTTPClient = tt.hc
				cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			_, err := c.Do(t.Context(), http.MethodGet, "/api/v1/me", nil, nil, nil)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(s.Waits()) != 0 || logs.Len() != 0 {
				t.Errorf("retried: waits %v, log:\n%s", s.Waits(), logs.String())
			}
			if hits.Load() != before {
				t.Errorf("the handler was reached")
			}
			for _, want := range append([]string{`source "acme-ogmma": GET `}, tt.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q\nlacks %q", err, want)
				}
			}
		})
	}
}

// TestClient404HintsAtBaseURL: a 404 before any success most likely means
// a base_url with a path of its own (".../api/v1" gives "/api/v1/api/v1/").
func TestClient404HintsAtBaseURL(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/api/v1/tickets" || r.URL.Path == "/api/v1/gone" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{}`)
	})
	const hint = "no request to this source has succeeded yet: check base_url in the config"

	wrong, _ := newTestClient(t, srv.URL+"/api/v1", nil)
	_, err := wrong.Do(t.Context(), http.MethodGet, "/api/v1/tickets", nil, nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Fatalf("err = %v, want a 404 StatusError", err)
	}
	want := hint + " (" + srv.URL + "/api/v1); it should be the platform's address, syncer adds the API path itself"
	if se.Hint != want || !strings.HasSuffix(err.Error(), "; "+want) {
		t.Errorf("err = %q\nwant it to end with %q", err, want)
	}

	right, _ := newTestClient(t, srv.URL, nil)
	if _, err := right.Do(t.Context(), http.MethodGet, "/api/v1/tickets", nil, nil, nil); err != nil {
		t.Fatalf("Do: %v", err)
	}
	_, err = right.Do(t.Context(), http.MethodGet, "/api/v1/gone", nil, nil, nil)
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.Hint != "" || strings.Contains(err.Error(), "base_url") {
		t.Errorf("a 404 after a success: err = %v, want no base_url hint", err)
	}
}

// TestClientSharesItsRedactor: a credential learned at run time is hidden
// by every logger that shares the client's Redactor, and the client's
// errors hide the configured ones.
func TestClientSharesItsRedactor(t *testing.T) {
	t.Parallel()
	r := redact.New("configured-key")
	c, _ := newTestClient(t, "https://x.example", func(cfg *ClientConfig) { cfg.Redactor = r })
	c.AddSecret("0f3a9c2e77b1")
	if got := r.String("key configured-key, token 0f3a9c2e77b1"); got != "key [REDACTED], token [REDACTED]" {
		t.Errorf("shared Redactor gives %q", got)
	}
	if got := c.Redact("https://u:pw@x.example/?t=0f3a9c2e77b1"); got != "https://u:[REDACTED]@x.example/?t=[REDACTED]" {
		t.Errorf("Redact gives %q", got)
	}
}

func TestServerMessage(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, "https://x.example", nil)
	tests := []struct{ body, want string }{
		{`{"message":"Token de autenticacao invalido ou ausente.","code":"UNAUTHORIZED"}`, "Token de autenticacao invalido ou ausente."},
		{`{"errorCode":401,"errorMessage":"Authentication Error: No user was found."}`, "Authentication Error: No user was found."},
		{`{"message":{"type":"TEXT"}}`, `{"message":{"type":"TEXT"}}`},
		{"<html>\n  <body>Forbidden</body>\n</html>", "<html> <body>Forbidden</body> </html>"},
		{strings.Repeat("é", 300), strings.Repeat("é", 200) + "…"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := c.serverMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("serverMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
