package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DownloadTarget receives the body of a Download. Download empties it
// (Seek to 0, Truncate to 0) before each attempt, so that a retry after a
// body cut off midway does not append to what that attempt wrote. An
// *os.File is one.
type DownloadTarget interface {
	io.Writer
	io.Seeker
	Truncate(size int64) error
}

// Download fetches rawURL, an absolute download link that a platform
// handed out (Wavy's file_url), into dst, and returns how many bytes it
// wrote. It goes through the same retries, rate limit, timeout per
// attempt (here the longest wait for data, not for the whole file),
// User-Agent and redaction as Do, with a cap of its own
// (ClientConfig.MaxDownloadBytes), and streams the body to dst so that
// memory stays flat however large the file.
//
// It never sends the credentials of the platform's API: Auth is not called
// and Renew is not tried (a 401 or 403 from the download host is a
// *StatusError). The link must be https to a host in allowHosts (host
// names compared without case, exactly; any port), and every redirect it
// leads to must be https to the link's own host: anything else is a
// *DownloadURLError, before any byte is sent to it. Errors show the link
// without its query, which may be a signature.
func (c *Client) Download(ctx context.Context, rawURL string, allowHosts []string, dst DownloadTarget) (int64, error) {
	u, err := ParseDownloadURL(rawURL, allowHosts)
	if err != nil {
		return 0, fmt.Errorf("source %q: download: %w", c.cfg.Source, c.redactErr(err))
	}
	hc := *c.cfg.HTTPClient
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return &permanentError{fmt.Errorf("stopped after %d redirects", maxRedirects)}
		}
		if err := CheckDownloadURL(req.URL, allowHosts); err != nil {
			if e := (*DownloadURLError)(nil); errors.As(err, &e) {
				e.Redirect = true
			}
			return &permanentError{err}
		}
		if from := via[0].URL.Hostname(); !strings.EqualFold(req.URL.Hostname(), from) {
			return &permanentError{&DownloadURLError{URL: displayURL(req.URL), Scheme: "https", Host: strings.ToLower(req.URL.Hostname()),
				Redirect: true, From: strings.ToLower(from)}}
		}
		return nil
	}
	dl := &download{client: &hc, dst: dst, limit: c.cfg.MaxDownloadBytes}
	if _, err := c.send(ctx, &request{method: http.MethodGet, url: u, dl: dl}); err != nil {
		return 0, err
	}
	return dl.n, nil
}

// download is what Download adds to a request.
type download struct {
	client *http.Client // CheckRedirect enforces the download rules
	dst    DownloadTarget
	limit  int64
	n      int64  // bytes written by the last attempt
	alive  func() // called as data arrives: the attempt's timeout starts again
}

// errStalled cancels a download attempt that waited Timeout for data.
var errStalled = errors.New("the download stalled")

// receive writes a 2xx body to dst. Write errors and a body over the
// limit are permanent; read errors are the transport's, for send to retry.
func (d *download) receive(resp *http.Response) error {
	if resp.ContentLength > d.limit {
		return &permanentError{fmt.Errorf("%w (%d bytes announced, limit %d)", ErrBodyTooLarge, resp.ContentLength, d.limit)}
	}
	if _, err := d.dst.Seek(0, io.SeekStart); err != nil {
		return &permanentError{fmt.Errorf("write the download: %w", err)}
	}
	if err := d.dst.Truncate(0); err != nil {
		return &permanentError{fmt.Errorf("write the download: %w", err)}
	}
	src := &readErrors{r: io.LimitReader(resp.Body, d.limit+1), alive: d.alive}
	n, err := io.Copy(d.dst, src)
	d.n = n
	switch {
	case n > d.limit:
		return &permanentError{fmt.Errorf("%w (limit %d bytes)", ErrBodyTooLarge, d.limit)}
	case err != nil && src.err != nil:
		return src.err
	case err != nil:
		return &permanentError{fmt.Errorf("write the download: %w", err)}
	}
	return nil
}

// readErrors remembers the error of its reader, to tell a body cut off
// from a destination that cannot be written.
type readErrors struct {
	r     io.Reader
	err   error
	alive func()
}

func (r *readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 && r.alive != nil {
		r.alive()
	}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// DownloadURLError is a download link, or a redirect of one, that
// Download does not follow: not https, or to a host not allowed.
// errors.Is(err, ErrURLNotAllowed) is true.
type DownloadURLError struct {
	URL      string // the link as shown: without userinfo nor query
	Scheme   string // lowercased
	Host     string // the host name, lowercased, without port
	Redirect bool   // a redirect of the link led there
	From     string // the link's host, when a redirect left it (allowed or not)
	Invalid  bool   // not an absolute URL at all
}

func (e *DownloadURLError) Error() string {
	what := "the download link"
	if e.Redirect {
		what = "a redirect of the download link"
	}
	switch {
	case e.Invalid:
		return fmt.Sprintf("%s %q is not an absolute URL: %v", what, e.URL, ErrURLNotAllowed)
	case e.Scheme != "https":
		return fmt.Sprintf("%s %s uses %s://, and only https links are followed: %v", what, e.URL, e.Scheme, ErrURLNotAllowed)
	case e.From != "":
		return fmt.Sprintf("%s goes to host %q (%s), another host than the link's (%q), and redirects are followed only within the link's host: %v",
			what, e.Host, e.URL, e.From, ErrURLNotAllowed)
	default:
		return fmt.Sprintf("%s goes to host %q (%s), which is not among the allowed download hosts: %v", what, e.Host, e.URL, ErrURLNotAllowed)
	}
}

// Is reports whether target is ErrURLNotAllowed.
func (e *DownloadURLError) Is(target error) bool { return target == ErrURLNotAllowed }

// ParseDownloadURL parses rawURL and checks it as CheckDownloadURL does.
func ParseDownloadURL(rawURL string, allowHosts []string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		shown := rawURL
		if u != nil && err == nil {
			shown = displayURL(u)
		} else if i := strings.IndexAny(shown, "?#"); i >= 0 {
			shown = shown[:i] + "?…"
		}
		return nil, &DownloadURLError{URL: snippet(shown), Invalid: true}
	}
	return u, CheckDownloadURL(u, allowHosts)
}

// CheckDownloadURL reports whether Download may follow u: https, to a host
// in allowHosts (compared without case, exactly, any port).
func CheckDownloadURL(u *url.URL, allowHosts []string) error {
	host := strings.ToLower(u.Hostname())
	e := &DownloadURLError{URL: displayURL(u), Scheme: strings.ToLower(u.Scheme), Host: host}
	if e.Scheme != "https" {
		return e
	}
	for _, h := range allowHosts {
		if host != "" && strings.EqualFold(h, host) {
			return nil
		}
	}
	return e
}

// displayURL is u as errors and logs show a download link: scheme, host
// and path, without userinfo, and "?…" for a query.
func displayURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := v.String()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	return s
}
