package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"syncer/internal/config"
	"syncer/internal/redact"
)

// Mode is how a stream reads its source.
type Mode string

// The modes of streams.
const (
	// ModeIncremental reads what changed since the stream's cursor.
	ModeIncremental Mode = "incremental"
	// ModeFullRefresh reads everything on every run; a complete pass marks
	// the rows it did not see as deleted.
	ModeFullRefresh Mode = "full refresh"
	// ModeExport reads files the platform exports.
	ModeExport Mode = "export"
	// ModeWebhook takes what the platform sends to syncer.
	ModeWebhook Mode = "webhook"
)

// StreamSpec describes one stream of a platform.
type StreamSpec struct {
	Name string
	Mode Mode
	// Table is the warehouse table a full-refresh pass completes: its rows
	// of the source that a complete pass did not see get deleted_at.
	Table string
}

// Env is what a platform's streams get from the process that runs them.
type Env struct {
	// Redactor hides the credentials in errors and log lines; it knows
	// this source's, and the logger shares it, so that tokens learned at
	// run time are hidden in both.
	Redactor *redact.Redactor
	Logger   *slog.Logger
	// Now is the streams' clock (when a run starts); nil means time.Now.
	Now func() time.Time
	// HTTPClient, when set, is the client a source's requests go through
	// (tests: one that trusts their TLS servers); nil gives each source a
	// transport of its own.
	HTTPClient *http.Client
	// Observer, when set, hears of the source's requests (metrics); it goes
	// into the ClientConfig of every client the platform builds.
	Observer Observer
	// RateShare divides the source's rate_limit: a fleet runs up to
	// max_streams of its streams at once, each in a process with a limiter
	// of its own, so each takes its share. 0 or 1: the whole rate.
	RateShare int
	// MaxRetryAfter, when set, is the longest Retry-After a client waits
	// out itself; a longer one stops the stream as rate limited (the
	// fleet then snoozes its job instead of holding a worker).
	MaxRetryAfter time.Duration
}

// ClientConfig is the part of a client's config every platform takes from
// the source and env alike: name, address, timeout, rate, redaction,
// logging, transport, observer and the longest Retry-After waited out.
func (env Env) ClientConfig(src *config.Source, logger *slog.Logger) ClientConfig {
	return ClientConfig{
		Source:        src.Name,
		BaseURL:       src.BaseURL,
		Timeout:       src.Timeout.Std(),
		RateLimit:     src.RateLimit / float64(max(env.RateShare, 1)),
		Redactor:      env.Redactor,
		Logger:        logger,
		HTTPClient:    env.HTTPClient,
		Observer:      env.Observer,
		MaxRetryAfter: env.MaxRetryAfter,
	}
}

// Platform is what one platform offers: its streams and the files it
// exports. Each platform package registers one in its init.
type Platform struct {
	Name    string
	Streams []StreamSpec
	// Open builds the named streams (a subset of Streams, in that order) of
	// a configured source of this platform.
	Open    func(src *config.Source, streams []string, env Env) ([]Stream, error)
	Formats []FileFormat
	// Webhook, when the platform sends webhooks, reads one delivery
	// (the body of POST /webhooks/{source}) into its records; nil when it
	// sends none.
	Webhook *WebhookSpec
	// Check, when set, reaches a configured source of this platform with
	// its credentials (syncer check): one cheap request per kind of stream
	// the source syncs, sent through a Prober, and nothing written. It
	// gives one result per request, none when the source syncs nothing
	// that syncer asks the platform for.
	Check func(ctx context.Context, src *config.Source, env Env) []CheckResult
}

// WebhookSpec reads a platform's webhook deliveries.
type WebhookSpec struct {
	// Decode reads one delivery's body into a slice of the platform's
	// webhook record type; the platform's mapping registered under the
	// name WebhookStream takes the same type. An error means the body
	// cannot be read at all (it goes to quarantine).
	Decode func(body []byte) (any, error)
}

// WebhookStream is the name webhook deliveries go by: in sync_runs,
// quarantine and the transform registry.
const WebhookStream = "webhooks"

// Stream returns the spec of the named stream.
func (p *Platform) Stream(name string) (StreamSpec, bool) {
	i := slices.IndexFunc(p.Streams, func(s StreamSpec) bool { return s.Name == name })
	if i < 0 {
		return StreamSpec{}, false
	}
	return p.Streams[i], true
}

// FileFormat reads one kind of file a platform exports (syncer import).
type FileFormat struct {
	Name string
	// Read reads the file from f, handing its records to emit in pages of
	// a bounded size, in file order, so that memory stays flat however
	// large the file. A line that cannot be read is a BadLine of its page;
	// an error means the file cannot be read at all (or emit failed).
	Read func(ctx context.Context, f File, src *config.Source, emit func(FilePage) error) error
}

// File is an open file to import.
type File struct {
	Name string // its base name, which goes into records and bad lines
	R    io.Reader
	Size int64 // bytes; 0 when unknown
	// Latin1 says the file is not valid UTF-8: read it as ISO-8859-1, the
	// usual other encoding of Brazilian spreadsheets.
	Latin1 bool
}

// FilePage is a part of a file: its records and its bad lines.
type FilePage struct {
	// Records is a slice of the format's record type; the format's
	// transform takes the same type.
	Records any
	Bad     []BadLine
	// Done counts the records and bad lines of the file up to the end of
	// this page. Pages are cut at the same places every time the same file
	// is read, so an import that stopped after committing a page resumes
	// after it.
	Done int64
	// Offset is how many bytes of the file are behind this page (for
	// progress).
	Offset int64
}

// BadLine is a line (or lines) of a file that could not be read. It covers
// the physical lines Line..EndLine (a CSV record whose quoted cell holds
// newlines spans several).
type BadLine struct {
	Line    int    `json:"line"` // 1-based; in a CSV the header is line 1
	EndLine int    `json:"end_line"`
	Reason  string `json:"reason"`
	Text    string `json:"text"` // the lines as written, joined with "\n"
}

var registry = struct {
	sync.RWMutex
	platforms map[string]*Platform
}{platforms: map[string]*Platform{}}

// Register adds a platform. It panics when the name is taken or the
// platform is incomplete: registration happens in init, where a mistake is
// a programming error.
func Register(p Platform) {
	if p.Name == "" || p.Open == nil {
		panic("extract: Register needs a name and Open")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.platforms[p.Name]; dup {
		panic("extract: platform " + p.Name + " registered twice")
	}
	registry.platforms[p.Name] = &p
}

// Lookup returns the registered platform called name.
func Lookup(name string) (*Platform, bool) {
	registry.RLock()
	defer registry.RUnlock()
	p, ok := registry.platforms[name]
	return p, ok
}

// Platforms lists the registered platforms by name.
func Platforms() []*Platform {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]*Platform, 0, len(registry.platforms))
	for _, p := range registry.platforms {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Format finds a registered file format by name, and its platform.
func Format(name string) (*Platform, FileFormat, bool) {
	for _, p := range Platforms() {
		for _, f := range p.Formats {
			if f.Name == name {
				return p, f, true
			}
		}
	}
	return nil, FileFormat{}, false
}

// NotBuiltError is a platform, stream or format that the config contract
// knows but this version of syncer does not read yet.
type NotBuiltError struct{ What string }

func (e *NotBuiltError) Error() string {
	return fmt.Sprintf("%s is not built yet in this version of syncer", e.What)
}

// Credentials is what a check learned of a source's credentials.
type Credentials string

// What a check learns of the credentials.
const (
	// CredentialsAccepted: the platform answered the request (2xx).
	CredentialsAccepted Credentials = "accepted"
	// CredentialsRefused: the platform answered 401 or 403.
	CredentialsRefused Credentials = "refused"
	// CredentialsUnknown: no answer said (the platform unreachable, rate
	// limited, or answering something else).
	CredentialsUnknown Credentials = "unknown"
)

// CheckResult is what one request of a platform's Check found.
type CheckResult struct {
	// Check says what was asked: "token" (a password grant) or what a
	// kind of stream reads ("messages", "sessions"...).
	Check string
	// Reachable: the platform answered, with anything but a 5xx.
	Reachable   bool
	Credentials Credentials
	// RateLimited: the platform answered 429 or 420; it is reachable, and
	// whether it accepts the credentials is unknown.
	RateLimited bool
	// RateLimit lists the rate-limit headers of the platform's last answer,
	// named as Go canonicalises them ("X-Ratelimit-Remaining: 98",
	// "Retry-After: 1"), sorted.
	RateLimit []string
	Took      time.Duration
	// Err says what went wrong, redacted; nil when the platform answered
	// as a sync needs.
	Err error
}

// Failed reports whether the check failed: the platform unreachable, the
// credentials refused, or an answer a sync could not use (a 404 from a
// wrong base_url, say). Being rate limited alone is no failure.
func (r CheckResult) Failed() bool {
	return !r.Reachable || r.Credentials == CredentialsRefused || (r.Err != nil && !r.RateLimited)
}

// checkTimeout bounds each attempt of a check, whatever the source's
// timeout (a check asks for little).
const checkTimeout = 10 * time.Second

// Prober sends the requests of a platform's Check and watches what comes
// back: the status and rate-limit headers of each answer, which the
// Client's errors do not carry. It runs one check at a time.
type Prober struct {
	redactor *redact.Redactor

	mu     sync.Mutex
	status int      // of the current check's last answer; 0: none came
	header []string // its rate-limit headers
}

// NewProber returns a Prober and cc made for checks, on which the check
// builds its client: every answer passes the prober's watch, and the
// retry budget is short (a 5xx or a network error is retried once, a
// Retry-After is not waited out, a 429 without one is retried once: the
// Client takes no fewer) with attempts of at most 10s, so that a check is
// quick.
func NewProber(cc ClientConfig) (*Prober, ClientConfig) {
	p := &Prober{redactor: cc.Redactor}
	hc := cc.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	watched := *hc
	next := watched.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	watched.Transport = &watchingTransport{next: next, p: p}
	cc.HTTPClient = &watched
	cc.MaxRetries = 1
	cc.MaxRateLimitRetries = 1 // 0 would take the Client's default of 10
	cc.MaxRetryAfter = time.Millisecond
	cc.MinBackoff, cc.MaxBackoff = 200*time.Millisecond, time.Second
	if cc.Timeout <= 0 || cc.Timeout > checkTimeout {
		cc.Timeout = checkTimeout
	}
	return p, cc
}

// Probe runs the check named check: ask sends its request through a
// client built on the config NewProber returned, and its error (nil when
// the platform answered as a sync needs) and the answer the prober saw
// make the result.
func (p *Prober) Probe(ctx context.Context, check string, ask func(ctx context.Context) error) CheckResult {
	p.mu.Lock()
	p.status, p.header = 0, nil
	p.mu.Unlock()
	began := time.Now()
	err := ask(ctx)
	r := CheckResult{Check: check, Took: time.Since(began), Credentials: CredentialsUnknown}
	p.mu.Lock()
	status := p.status
	r.RateLimit = p.header
	p.mu.Unlock()
	r.Reachable = status != 0 && status < 500
	var authErr *AuthError
	var rateErr *RateLimitError
	switch {
	case err == nil:
		r.Reachable, r.Credentials = true, CredentialsAccepted
	case errors.As(err, &authErr):
		r.Credentials = CredentialsRefused
	case errors.As(err, &rateErr):
		r.RateLimited = rateErr.Status != http.StatusServiceUnavailable
		err = &busyCheck{rateErr}
	}
	r.Err = p.redactor.Error(err)
	return r
}

// saw notes an answer of the current check.
func (p *Prober) saw(resp *http.Response) {
	var header []string
	for name, values := range resp.Header {
		if isRateLimitHeader(name) {
			header = append(header, name+": "+p.redactor.String(strings.Join(values, ", ")))
		}
	}
	sort.Strings(header)
	p.mu.Lock()
	p.status, p.header = resp.StatusCode, header
	p.mu.Unlock()
}

// isRateLimitHeader reports whether a header says something of the rate
// limit: X-RateLimit-Remaining, RateLimit-Policy, X-Rate-Limit-Reset,
// Retry-After and the like.
func isRateLimitHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "retry-after" || strings.Contains(n, "ratelimit") || strings.Contains(n, "rate-limit")
}

// watchingTransport shows every answer to its Prober.
type watchingTransport struct {
	next http.RoundTripper
	p    *Prober
}

func (t *watchingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		t.p.saw(resp)
	}
	return resp, err
}

// busyCheck is a check that the platform rate-limited (429, 420) or said
// it was unavailable (503), said for a check rather than for a run.
type busyCheck struct{ err *RateLimitError }

func (e *busyCheck) Error() string {
	status := fmt.Sprintf("HTTP %d", e.err.Status)
	if e.err.RetryAfter > 0 {
		status += fmt.Sprintf(", Retry-After %s", e.err.RetryAfter)
	}
	if e.err.Status == http.StatusServiceUnavailable {
		return fmt.Sprintf("source %q: the platform is unavailable (%s); check again later", e.err.Source, status)
	}
	return fmt.Sprintf("source %q: rate limited by the platform (%s): it is reachable, but did not say whether it accepts the credentials; check again later",
		e.err.Source, status)
}

func (e *busyCheck) Unwrap() error { return e.err }
