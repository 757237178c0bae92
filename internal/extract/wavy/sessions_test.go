package wavy

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/redact"
)

const (
	testUser  = "wavy-user"
	testToken = "wavy-test-token-0123456789"
)

// fakeWavy is Wavy's session API answering a file_url of its choosing,
// and an https file host that records the headers it got.
type fakeWavy struct {
	api, files *httptest.Server
	fileURL    func(files string) string
	body       string

	mu          sync.Mutex
	apiQueries  []string
	fileHeaders []http.Header
}

func newFakeWavy(t *testing.T, body string) *fakeWavy {
	t.Helper()
	fw := &fakeWavy{body: body}
	fw.files = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw.mu.Lock()
		fw.fileHeaders = append(fw.fileHeaders, r.Header.Clone())
		fw.mu.Unlock()
		io.WriteString(w, fw.body)
	}))
	fw.files.Config.ErrorLog = log.New(io.Discard, "", 0)
	fw.files.StartTLS()
	t.Cleanup(fw.files.Close)
	fw.fileURL = func(files string) string { return files + "/2019/02/13/633e33fc/5bd46e2b?sig=abc" }
	fw.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw.mu.Lock()
		fw.apiQueries = append(fw.apiQueries, r.URL.RawQuery)
		fw.mu.Unlock()
		if r.URL.Path != "/v1/session" || r.Header.Get("userName") != testUser || r.Header.Get("authenticationToken") != testToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errorCode":401,"errorMessage":"Authentication Error: No user was found with this combination of username and Authentication token."}`)
			return
		}
		io.WriteString(w, `{"file_url":"`+fw.fileURL(fw.files.URL)+`"}`)
	}))
	t.Cleanup(fw.api.Close)
	return fw
}

func (fw *fakeWavy) source(edit func(*config.Source)) *config.Source {
	src := &config.Source{Name: "acme-wavy", Platform: Platform, BaseURL: fw.api.URL, Username: testUser, Token: config.Secret(testToken),
		CustomerID: "42", FileHosts: []string{"127.0.0.1"}, TimeZone: "America/Sao_Paulo", Timeout: config.Duration(10 * time.Second)}
	if edit != nil {
		edit(src)
	}
	return src
}

// run runs the sessions stream once and returns the pages it emitted.
func (fw *fakeWavy) run(t *testing.T, src *config.Source, hc *http.Client) ([]SessionsPage, error) {
	t.Helper()
	if hc == nil {
		hc = fw.files.Client()
	}
	p, _ := extract.Lookup(Platform)
	streams, err := p.Open(src, []string{"sessions"}, extract.Env{Redactor: redact.New(testToken), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	var pages []SessionsPage
	err = streams[0].Extract(t.Context(), extract.Request{}, func(_ context.Context, pg extract.Page) error {
		pages = append(pages, pg.Records.([]SessionsPage)...)
		return nil
	})
	return pages, err
}

func TestSessionsStream(t *testing.T) {
	t.Parallel()
	fw := newFakeWavy(t, "origem;session_created_at\n5519900000000;2025-03-01 09:00:00\nbad;x\n")
	pages, err := fw.run(t, fw.source(func(s *config.Source) { s.SubAccountID = "1291" }), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || len(pages[0].Rows) != 1 || len(pages[0].Bad) != 1 || pages[0].File != "5bd46e2b" ||
		!pages[0].Rows[0].CreatedAt.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("pages %+v", pages)
	}
	if fw.apiQueries[0] != "customerId=42&subAccountId=1291" {
		t.Errorf("query %q", fw.apiQueries[0])
	}
	for _, h := range fw.fileHeaders {
		if h.Get("userName") != "" || h.Get("authenticationToken") != "" || h.Get("Authorization") != "" {
			t.Errorf("the file host got credentials: %v", h)
		}
	}

	// Without sub_account_id the query has customerId alone; a file of
	// only the header emits nothing.
	fw.body = "source;session_created_at\n"
	if pages, err := fw.run(t, fw.source(nil), nil); err != nil || len(pages) != 0 || fw.apiQueries[1] != "customerId=42" {
		t.Fatalf("header only: %+v, %v, query %q", pages, err, fw.apiQueries[1])
	}
}

// A file_url at a host not in file_hosts, over http, or not a URL fails
// the stream before the host is asked, naming the host and file_hosts.
func TestSessionsStreamRefusesTheLink(t *testing.T) {
	t.Parallel()
	fw := newFakeWavy(t, "source;session_created_at\n")
	for _, tc := range []struct {
		name string
		link func(files string) string
		want string
	}{
		{"host not listed", func(string) string { return "https://evil.example/2019/02/13/x?sig=s3cr3tsig" },
			`source "acme-wavy": the session file is at host "evil.example" (https://evil.example/2019/02/13/x?…), which is not in file_hosts; add it to file_hosts if it is Wavy's`},
		{"plain http", func(files string) string { return strings.Replace(files, "https://", "http://", 1) + "/x" },
			`source "acme-wavy": the session file is at http://127.0.0.1:`},
		{"not a URL", func(string) string { return "/relative/x.csv" }, `wavy gave a file_url that is not an absolute URL ("/relative/x.csv")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw.fileURL = tc.link
			before := len(fw.fileHeaders)
			_, err := fw.run(t, fw.source(nil), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3tsig") {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			if tc.name == "plain http" && (!strings.Contains(err.Error(), `host "127.0.0.1"`) || !strings.Contains(err.Error(), "file_hosts")) {
				t.Errorf("err = %v, want the host and file_hosts named", err)
			}
			if len(fw.fileHeaders) != before {
				t.Errorf("the file host was asked")
			}
		})
	}
}

func TestSessionsStreamRefusedCredentials(t *testing.T) {
	t.Parallel()
	fw := newFakeWavy(t, "source;session_created_at\n")
	_, err := fw.run(t, fw.source(func(s *config.Source) { s.Token = "wrong-token-0123456789" }), nil)
	if !errors.Is(err, extract.ErrUnauthorized) || !strings.Contains(err.Error(), "No user was found") {
		t.Fatalf("err = %v", err)
	}
}
