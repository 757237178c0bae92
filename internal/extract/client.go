// Package extract owns talking to the platforms over HTTP: one client with
// retries, rate limits and redaction that every platform's extractor under
// extract/<platform> uses. It must not know about the warehouse.
package extract

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"syncer/internal/redact"
	"syncer/internal/version"
)

const (
	defaultTimeout             = 30 * time.Second
	defaultMaxRetries          = 5
	defaultMaxRateLimitRetries = 10
	defaultMinBackoff          = 500 * time.Millisecond
	defaultMaxBackoff          = 30 * time.Second
	defaultMinRetryAfter       = 250 * time.Millisecond
	defaultMaxRetryAfter       = 5 * time.Minute
	defaultMaxBodyBytes        = 64 << 20
	defaultMaxDownloadBytes    = 1 << 30

	errorBodyBytes = 64 << 10 // how much of a non-2xx body is read
	snippetRunes   = 200      // how much of a body goes into an error
	maxRedirects   = 10
)

// ClientConfig configures a Client. Zero values take the defaults given.
type ClientConfig struct {
	Source string // source name from config, e.g. "acme-ogmma"; appears in every error
	// BaseURL is e.g. "https://oapi.ogmma.com.br"; it may have a path
	// prefix, request paths are appended to it. http:// is refused unless
	// the host is loopback (localhost, 127.0.0.0/8, ::1): it would send the
	// credentials in clear text.
	BaseURL    string
	Timeout    time.Duration // per attempt, body included; default 30s
	RateLimit  float64       // requests per second to this source, shared by all goroutines; 0 = unlimited
	RateBurst  int           // requests let through at once before RateLimit applies; default 1
	MaxRetries int           // retries after the first attempt for 5xx, network errors and cut bodies; default 5
	// MaxRateLimitRetries bounds retries for 429, 420 and 503; default 10.
	MaxRateLimitRetries int
	MinBackoff          time.Duration // default 500ms
	MaxBackoff          time.Duration // default 30s
	MinRetryAfter       time.Duration // floor for Retry-After (so "0" is never a busy loop); default 250ms
	MaxRetryAfter       time.Duration // a longer Retry-After ends the retries at once as rate limited; default 5m
	MaxBodyBytes        int64         // cap on a response body; default 64 MiB
	MaxDownloadBytes    int64         // cap on a file Download writes; default 1 GiB
	// Redactor hides the credentials in errors and log lines; it must know
	// every credential the client sends. Share the logger's, so that a
	// credential learned at run time (AddSecret) is hidden there too.
	// Default: one that hides only userinfo passwords.
	Redactor *redact.Redactor
	// Auth, if set, puts the credentials on each attempt.
	Auth func(ctx context.Context, req *http.Request) error
	// Renew, if set, is called when the platform answers 401 or 403; the
	// request is then sent once more, and a second refusal fails. Several
	// requests may call it at once. Requests made with the ctx it is given
	// never call it again.
	Renew  func(ctx context.Context) error
	Logger *slog.Logger // default discards
	// Observer, if set, hears of every attempt, retry and rate-limit wait
	// (metrics); nil: nobody does.
	Observer Observer
	// HTTPClient sends the requests; default a client with its own transport.
	// Its CheckRedirect is replaced; timeouts come from Timeout through ctx.
	// Tests give one that trusts their TLS servers (httptest's Client()).
	HTTPClient *http.Client
	Sleep      func(ctx context.Context, d time.Duration) error // default waits on a timer or ctx.Done
	Now        func() time.Time                                 // default time.Now
	Rand       func() float64                                   // jitter in [0, 1); default math/rand/v2
}

// Client sends requests to one source with retries, a rate limit, a body size
// cap and redaction. It is safe for concurrent use.
type Client struct {
	cfg     ClientConfig // defaults applied
	base    *url.URL
	api     *http.Client // follows redirects only within the same host and scheme
	limiter *limiter     // nil: unlimited
	// answered is set by the first 2xx; a 404 before it hints at base_url.
	answered atomic.Bool
}

// Response is a response whose body was read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	URL    string // final URL, redacted
}

// NewClient validates cfg and applies its defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Source == "" {
		return nil, errors.New("new HTTP client: source name is empty")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("source %q: new HTTP client: "+format, append([]any{cfg.Source}, args...)...)
	}
	base, err := url.Parse(cfg.BaseURL)
	switch {
	case err != nil:
		return nil, fail("base URL is not a valid URL")
	case base.Scheme != "http" && base.Scheme != "https":
		return nil, fail("base URL must start with http:// or https://")
	case base.Host == "":
		return nil, fail("base URL has no host")
	case base.Scheme == "http" && !isLoopback(base.Hostname()):
		return nil, fail("base URL %s uses http://, which sends the credentials in clear text; use https:// (http:// only to a loopback host: localhost, 127.0.0.1, ::1)",
			cfg.Redactor.String(base.Redacted()))
	case base.Fragment != "":
		return nil, fail("base URL must not have a #fragment")
	}
	if math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0) || cfg.RateLimit < 0 {
		return nil, fail("rate limit must be a number >= 0, got %v", cfg.RateLimit)
	}
	if cfg.RateBurst < 0 || cfg.MaxRetries < 0 || cfg.MaxRateLimitRetries < 0 || cfg.MaxBodyBytes < 0 || cfg.MaxDownloadBytes < 0 ||
		cfg.Timeout < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MinRetryAfter < 0 || cfg.MaxRetryAfter < 0 {
		return nil, fail("negative limits are not allowed")
	}

	setDefault(&cfg.Timeout, defaultTimeout)
	setDefault(&cfg.RateBurst, 1)
	setDefault(&cfg.MaxRetries, defaultMaxRetries)
	setDefault(&cfg.MaxRateLimitRetries, defaultMaxRateLimitRetries)
	setDefault(&cfg.MinBackoff, defaultMinBackoff)
	setDefault(&cfg.MaxBackoff, defaultMaxBackoff)
	setDefault(&cfg.MinRetryAfter, defaultMinRetryAfter)
	setDefault(&cfg.MaxRetryAfter, defaultMaxRetryAfter)
	setDefault(&cfg.MaxBodyBytes, defaultMaxBodyBytes)
	setDefault(&cfg.MaxDownloadBytes, defaultMaxDownloadBytes)
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 16
		cfg.HTTPClient = &http.Client{Transport: transport}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Redactor == nil {
		cfg.Redactor = redact.New()
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}

	c := &Client{cfg: cfg, base: base}
	api := *cfg.HTTPClient
	api.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if len(via) >= maxRedirects {
			return &permanentError{fmt.Errorf("stopped after %d redirects", maxRedirects)}
		}
		if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
			return &permanentError{fmt.Errorf("%w: redirect to another host or to plain http", ErrURLNotAllowed)}
		}
		return nil
	}
	c.api = &api
	if cfg.RateLimit > 0 {
		c.limiter = newLimiter(cfg.RateLimit, cfg.RateBurst)
	}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Source returns the source name the Client was made for.
func (c *Client) Source() string { return c.cfg.Source }

// Do sends one logical request with retries. path is an escaped path appended
// to BaseURL ("/v1/channels/x"; escape outside values with url.PathEscape);
// query and header may be nil; body may be nil and is re-sent on each
// attempt. Any 2xx answer is a success.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, header http.Header, body []byte) (*Response, error) {
	u, err := c.resolve(path, query)
	if err != nil {
		return nil, fmt.Errorf("source %q: %s %s: %w", c.cfg.Source, method, c.Redact(path), err)
	}
	return c.send(ctx, &request{method: method, url: u, header: header, body: body})
}

// GetJSON is Do(GET) followed by json.Unmarshal of the body into v. A body
// that is not valid JSON (cut off midway, say) is retried like a network
// error; valid JSON that does not fit v fails at once. A 204 leaves v alone.
func (c *Client) GetJSON(ctx context.Context, path string, query url.Values, header http.Header, v any) (*Response, error) {
	u, err := c.resolve(path, query)
	if err != nil {
		return nil, fmt.Errorf("source %q: GET %s: %w", c.cfg.Source, c.Redact(path), err)
	}
	return c.sendJSON(ctx, &request{method: http.MethodGet, url: u, header: header, wantJSON: true}, v)
}

// PostJSON marshals in (nil: no body), POSTs it with Content-Type:
// application/json and unmarshals the answer into out (which may be nil).
// It retries like Do, so use it only for requests that are safe to repeat
// (token grants, searches).
func (c *Client) PostJSON(ctx context.Context, path string, in, out any) (*Response, error) {
	u, err := c.resolve(path, nil)
	if err != nil {
		return nil, fmt.Errorf("source %q: POST %s: %w", c.cfg.Source, c.Redact(path), err)
	}
	var body []byte
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("source %q: POST %s: encode request: %w", c.cfg.Source, c.Redact(u.String()), err)
		}
	}
	header := http.Header{"Content-Type": {"application/json"}}
	return c.sendJSON(ctx, &request{method: http.MethodPost, url: u, header: header, body: body, wantJSON: out != nil}, out)
}

// isLoopback reports whether host is localhost or a loopback address
// (127.0.0.0/8, ::1), the only hosts plain http:// may go to.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// resolve appends the escaped path to the base URL and merges query into the
// base URL's own query.
func (c *Client) resolve(path string, query url.Values) (*url.URL, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("path must not hold a query or fragment; pass query values instead")
	}
	u := *c.base
	rawPath := strings.TrimSuffix(c.base.EscapedPath(), "/")
	if path != "" {
		rawPath += "/" + strings.TrimPrefix(path, "/")
	}
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("path is not validly escaped: %w", err)
	}
	u.Path, u.RawPath = p, rawPath
	if len(query) > 0 {
		q := c.base.Query()
		for k, vs := range query {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
	}
	return &u, nil
}

// request is one logical request; send may put it on the wire several times.
type request struct {
	method   string
	url      *url.URL
	header   http.Header
	body     []byte
	wantJSON bool      // a 2xx body that is not valid JSON is retried
	dl       *download // set by Download: no credentials, the body goes to a file
}

// shown is the request's URL as errors and logs give it: redacted, and
// without the query of a download link (a signed link's query is a
// credential of its own).
func (c *Client) shown(r *request) string {
	if r.dl != nil {
		return c.Redact(displayURL(r.url))
	}
	return c.Redact(r.url.String())
}

func (c *Client) sendJSON(ctx context.Context, r *request, v any) (*Response, error) {
	resp, err := c.send(ctx, r)
	if err != nil || v == nil || resp.Status == http.StatusNoContent {
		return resp, err
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return nil, fmt.Errorf("source %q: %s %s: decode response: %w", c.cfg.Source, r.method, resp.URL, err)
	}
	return resp, nil
}

type renewingKey struct{}

// send runs the retry loop of one logical request.
func (c *Client) send(ctx context.Context, r *request) (*Response, error) {
	target := c.shown(r)
	fail := func(err error) error {
		return fmt.Errorf("source %q: %s %s: %w", c.cfg.Source, r.method, target, err)
	}
	var retries, rateRetries int
	// Renew at most once per logical request, and never from inside Renew.
	// A download carries no credentials, so it has none to renew.
	canRenew := c.cfg.Renew != nil && r.dl == nil && ctx.Value(renewingKey{}) == nil
	for attempt := 1; ; attempt++ {
		if err := c.waitTurn(ctx); err != nil {
			return nil, fail(err)
		}
		began := time.Now()
		resp, err := c.attempt(ctx, r)
		if err != nil && ctx.Err() != nil {
			return nil, fail(ctx.Err()) // not the platform's doing: not observed
		}
		c.cfg.Observer.Request(codeOf(resp, err), time.Since(began))
		if err == nil && r.wantJSON && isSuccess(resp.Status) && resp.Status != http.StatusNoContent && !json.Valid(resp.Body) {
			err = fmt.Errorf("response is not valid JSON (%d bytes; cut off?)", len(resp.Body))
		}

		var wait time.Duration
		var reason RetryReason
		switch status := statusOf(resp); {
		case err != nil:
			if perm := (*permanentError)(nil); errors.As(err, &perm) {
				return nil, fail(c.redactErr(perm.err))
			}
			if retries >= c.cfg.MaxRetries {
				return nil, fmt.Errorf("source %q: %s %s: %w (gave up after %d attempts)", c.cfg.Source, r.method, target, c.redactErr(err), attempt)
			}
			retries++
			wait, reason = c.backoff(retries), RetryNetwork
		case isSuccess(status):
			c.answered.Store(true)
			return resp, nil
		case (status == http.StatusUnauthorized || status == http.StatusForbidden) && r.dl != nil:
			return nil, &StatusError{Source: c.cfg.Source, Method: r.method, URL: resp.URL, Status: status, Body: snippet(c.Redact(string(resp.Body))),
				Hint: "the host of the download link refused it; such links expire, so the next run asks for a new one"}
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			if !canRenew {
				return nil, &AuthError{Source: c.cfg.Source, Status: status, Message: c.serverMessage(resp.Body)}
			}
			canRenew = false
			c.cfg.Observer.Retry(RetryCredentials, 0)
			c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "platform refused the credentials; renewing them",
				slog.String("source", c.cfg.Source), slog.Int("status", status))
			if err := c.cfg.Renew(context.WithValue(ctx, renewingKey{}, true)); err != nil {
				if authErr := (*AuthError)(nil); errors.As(err, &authErr) {
					return nil, authErr
				}
				return nil, fmt.Errorf("source %q: renew credentials: %w", c.cfg.Source, c.redactErr(err))
			}
			continue
		case status == http.StatusTooManyRequests || status == 420 || status == http.StatusServiceUnavailable:
			after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())
			if ok && after > c.cfg.MaxRetryAfter {
				return nil, &RateLimitError{Source: c.cfg.Source, Status: status, Attempts: attempt, RetryAfter: after, tooLong: true}
			}
			if rateRetries >= c.cfg.MaxRateLimitRetries {
				return nil, &RateLimitError{Source: c.cfg.Source, Status: status, Attempts: attempt, RetryAfter: after}
			}
			rateRetries++
			wait, reason = max(after, c.cfg.MinRetryAfter), RetryRateLimited
			if !ok {
				wait = c.backoff(rateRetries)
			}
		case status >= 500 && retries < c.cfg.MaxRetries:
			retries++
			wait, reason = c.backoff(retries), RetryServerError
		default: // other 4xx, unfollowed 3xx, 5xx past the budget
			se := &StatusError{Source: c.cfg.Source, Method: r.method, URL: resp.URL, Status: status, Body: snippet(c.Redact(string(resp.Body)))}
			if status == http.StatusNotFound && !c.answered.Load() && r.dl == nil {
				se.Hint = fmt.Sprintf("no request to this source has succeeded yet: check base_url in the config (%s); it should be the platform's address, syncer adds the API path itself", c.baseURL())
			}
			return nil, se
		}

		attrs := []slog.Attr{
			slog.String("source", c.cfg.Source), slog.String("method", r.method), slog.String("url", target),
			slog.Int("status", statusOf(resp)), slog.Int("attempt", attempt), slog.Duration("wait", wait),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", c.Redact(err.Error())))
		}
		c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "retrying request to platform", attrs...)
		c.cfg.Observer.Retry(reason, wait)
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, fail(err)
		}
	}
}

func isSuccess(status int) bool { return status >= 200 && status < 300 }

func statusOf(resp *Response) int {
	if resp == nil {
		return 0
	}
	return resp.Status
}

// codeOf is an attempt's answer as an Observer hears it: the status code,
// or "error" when there was no complete answer.
func codeOf(resp *Response, err error) string {
	if err != nil || resp == nil {
		return "error"
	}
	return strconv.Itoa(resp.Status)
}

// waitTurn waits for the rate limiter.
func (c *Client) waitTurn(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.limiter == nil {
		return nil
	}
	if d := c.limiter.reserve(c.cfg.Now()); d > 0 {
		c.cfg.Observer.RateLimitWait(d)
		return c.cfg.Sleep(ctx, d)
	}
	return nil
}

// attempt puts r on the wire once and reads the body. A non-2xx body is
// read only in part, for the error message.
func (c *Client) attempt(ctx context.Context, r *request) (*Response, error) {
	if r.dl != nil {
		// A file may take longer than Timeout to download whole: Timeout
		// bounds each wait for data instead (the answer, then every read).
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		timer := time.AfterFunc(c.cfg.Timeout, func() { cancel(errStalled) })
		defer timer.Stop()
		r.dl.alive = func() { timer.Reset(c.cfg.Timeout) }
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}

	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, &permanentError{err}
	}
	for k, vs := range r.header {
		req.Header[k] = slices.Clone(vs)
	}
	req.Header.Set("User-Agent", version.UserAgent())
	hc := c.api
	if r.dl != nil {
		// The credentials are the API's: never sent to a download host.
		hc = r.dl.client
		req.Header.Set("Accept", "*/*")
	} else {
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		if c.cfg.Auth != nil {
			if err := c.cfg.Auth(ctx, req); err != nil {
				return nil, &permanentError{fmt.Errorf("set credentials: %w", err)}
			}
		}
	}

	httpResp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err, r)
	}
	defer httpResp.Body.Close()

	ok := isSuccess(httpResp.StatusCode)
	if ok && r.dl != nil {
		if err := r.dl.receive(httpResp); err != nil {
			if perm := (*permanentError)(nil); errors.As(err, &perm) {
				return nil, err
			}
			return nil, fmt.Errorf("read response body: %w", c.transportError(ctx, err, r))
		}
		if errors.Is(context.Cause(ctx), errStalled) {
			// The transport may end a body cut off by the cancel as if whole.
			return nil, fmt.Errorf("read response body: %w", c.transportError(ctx, errStalled, r))
		}
		return &Response{Status: httpResp.StatusCode, Header: httpResp.Header, URL: c.Redact(displayURL(httpResp.Request.URL))}, nil
	}
	limit := c.cfg.MaxBodyBytes
	if !ok {
		limit = min(limit, errorBodyBytes)
	} else if httpResp.ContentLength > limit {
		return nil, &permanentError{fmt.Errorf("%w (%d bytes announced, limit %d)", ErrBodyTooLarge, httpResp.ContentLength, limit)}
	}
	b, err := io.ReadAll(io.LimitReader(httpResp.Body, limit+1))
	if int64(len(b)) > limit {
		if ok {
			return nil, &permanentError{fmt.Errorf("%w (limit %d bytes)", ErrBodyTooLarge, limit)}
		}
		b = b[:limit]
	} else if err != nil && ok {
		return nil, fmt.Errorf("read response body: %w", c.transportError(ctx, err, r))
	}
	shownURL := httpResp.Request.URL.String()
	if r.dl != nil {
		shownURL = displayURL(httpResp.Request.URL)
	}
	return &Response{
		Status: httpResp.StatusCode,
		Header: httpResp.Header,
		Body:   b,
		URL:    c.Redact(shownURL),
	}, nil
}

// transportError turns an error from the transport into what the retry loop
// needs: the attempt's own timeout said plainly, *url.Error unwrapped (it
// repeats the method and the unredacted URL), and the failures that waiting
// cannot mend (a host that does not exist, a certificate refused) made
// permanent, saying what to check: base_url for the API, the link's host
// for a download.
func (c *Client) transportError(attemptCtx context.Context, err error, r *request) error {
	if errors.Is(attemptCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete response within %s", c.cfg.Timeout)
	}
	if errors.Is(context.Cause(attemptCtx), errStalled) {
		return fmt.Errorf("the download stalled: no data for %s", c.cfg.Timeout)
	}
	if urlErr := (*url.Error)(nil); errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if r.dl != nil {
		switch dnsErr := (*net.DNSError)(nil); {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			return &permanentError{fmt.Errorf("%w: %w; the download link names host %s", ErrHostNotFound, err, r.url.Hostname())}
		case isCertificateError(err):
			return &permanentError{fmt.Errorf("%w: %w; check the certificate that the download host %s serves (valid for that name, not expired, signed by an authority this machine trusts)",
				ErrCertificate, err, r.url.Host)}
		}
		return err
	}
	if dnsErr := (*net.DNSError)(nil); errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return &permanentError{fmt.Errorf("%w: %w; check the host in base_url in the config (%s)", ErrHostNotFound, err, c.baseURL())}
	}
	if isCertificateError(err) {
		return &permanentError{fmt.Errorf("%w: %w; check the certificate that %s serves (valid for that name, not expired, signed by an authority this machine trusts) and the host in base_url (%s)",
			ErrCertificate, err, c.base.Host, c.baseURL())}
	}
	return err
}

// isCertificateError reports whether err is the server's certificate
// failing verification.
func isCertificateError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		roots     x509.SystemRootsError
		insecure  x509.InsecureAlgorithmError
		critical  x509.UnhandledCriticalExtension
		violation x509.ConstraintViolationError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &roots) || errors.As(err, &insecure) ||
		errors.As(err, &critical) || errors.As(err, &violation)
}

// baseURL is BaseURL as errors show it.
func (c *Client) baseURL() string { return c.Redact(c.base.Redacted()) }

// backoff is the wait before retry n (1-based): exponential with equal
// jitter, within [MinBackoff, MaxBackoff].
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.cfg.MinBackoff
	for i := 0; i < n && ceiling < c.cfg.MaxBackoff; i++ {
		if ceiling > c.cfg.MaxBackoff/2 {
			ceiling = c.cfg.MaxBackoff
		} else {
			ceiling *= 2
		}
	}
	d := ceiling/2 + time.Duration(c.cfg.Rand()*float64(ceiling/2))
	return min(max(d, c.cfg.MinBackoff), c.cfg.MaxBackoff)
}

// parseRetryAfter reads a Retry-After value: integer seconds or an HTTP date.
// Zero, negative and past values give 0; ok is false when v is absent or
// unparseable.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		const maxSecs = int64(math.MaxInt64 / time.Second)
		return time.Duration(min(max(secs, 0), maxSecs)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// serverMessage is what the platform said in an error body: its JSON
// "message" or "errorMessage" field, else a snippet of the body; redacted.
func (c *Client) serverMessage(body []byte) string {
	var fields struct {
		Message      json.RawMessage `json:"message"`
		ErrorMessage json.RawMessage `json:"errorMessage"`
	}
	if json.Unmarshal(body, &fields) == nil {
		for _, raw := range []json.RawMessage{fields.Message, fields.ErrorMessage} {
			var s string
			if json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
				return snippet(c.Redact(s))
			}
		}
	}
	return snippet(c.Redact(string(body)))
}

// snippet collapses whitespace and cuts s to snippetRunes runes. Redact
// before cutting, so that a secret cannot be cut in half and escape.
func snippet(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if utf8.RuneCountInString(s) <= snippetRunes {
		return s
	}
	return string([]rune(s)[:snippetRunes]) + "…"
}

// AddSecret adds a credential learned at run time (an access token from a
// password grant) to what the client's Redactor hides, and so to what
// every logger sharing that Redactor hides.
func (c *Client) AddSecret(secret string) { c.cfg.Redactor.Add(secret) }

// Redact hides the credentials in s as the client's Redactor does. Other
// packages use it for their own errors and log lines.
func (c *Client) Redact(s string) string { return c.cfg.Redactor.String(s) }

func (c *Client) redactErr(err error) error { return c.cfg.Redactor.Error(err) }

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
