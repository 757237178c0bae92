// Package wavy reads Wavy (Sinch) WhatsApp data: the sessions stream
// (GET /v1/session answers a link to a CSV file of the open sessions,
// downloaded only over https from the hosts in file_hosts), the same CSV
// saved by hand (wavy-sessions-csv), the webhook deliveries Wavy posts (MO
// messages and delivery status callbacks: DecodeWebhook) and those
// deliveries saved to files (wavy-mo-json). It registers the platform's
// streams, file formats and webhook decoder.
//
// It fetches and decodes; it must not map records to rows (that is
// transform/wavy), touch the warehouse, nor serve the webhook endpoint.
package wavy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"time"

	"syncer/internal/extract"
)

// Config of the sessions stream.
type Config struct {
	// Client talks to the API at base_url; it puts the userName and
	// authenticationToken headers on API requests (and never on downloads).
	Client       *extract.Client
	CustomerID   string
	SubAccountID string // optional
	// FileHosts are the hosts the session file may be downloaded from.
	FileHosts []string
	// Location is the time zone of local times in the file; default UTC.
	Location *time.Location
	// TempDir holds the downloaded file while it is read; default
	// os.TempDir().
	TempDir  string
	PageSize int // sessions per commit; default ImportPageSize
	Logger   *slog.Logger
}

// Sessions is the "sessions" stream of a Wavy source. Each run asks for
// the link to the file of open sessions, downloads it and reads it whole:
// a session already stored is written again only if it changed, so the
// same file twice writes nothing. There is no cursor, and sessions missing
// from a later file are not marked deleted: the file lists the sessions
// open now, and a session that closed is still history.
type Sessions struct {
	cfg Config
}

var _ extract.Stream = (*Sessions)(nil)

// NewSessions validates cfg and returns the stream.
func NewSessions(cfg Config) (*Sessions, error) {
	if cfg.Client == nil {
		return nil, errors.New("wavy: no HTTP client")
	}
	if cfg.CustomerID == "" {
		return nil, errors.New("wavy: customer_id is required")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = ImportPageSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sessions{cfg: cfg}, nil
}

// Name is the stream's name in config, sync_state and sync_runs.
func (s *Sessions) Name() string { return "sessions" }

// sessionLink is the answer of GET /v1/session.
type sessionLink struct {
	FileURL string `json:"file_url"`
}

// Extract asks for the link, downloads the file to a temporary file and
// reads it page by page. A link that is not https to a host of file_hosts
// fails the stream before anything is downloaded or written.
func (s *Sessions) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	c := s.cfg.Client
	q := url.Values{"customerId": {s.cfg.CustomerID}}
	if s.cfg.SubAccountID != "" {
		q.Set("subAccountId", s.cfg.SubAccountID)
	}
	var link sessionLink
	if _, err := c.GetJSON(ctx, "/v1/session", q, nil, &link); err != nil {
		return fmt.Errorf("ask wavy for the session file: %w", err)
	}
	if link.FileURL == "" {
		return fmt.Errorf("source %q: wavy answered GET /v1/session without a file_url", c.Source())
	}
	u, err := extract.ParseDownloadURL(link.FileURL, s.cfg.FileHosts)
	if err != nil {
		return s.refused(err)
	}

	f, err := os.CreateTemp(s.cfg.TempDir, "syncer-wavy-sessions-*.csv")
	if err != nil {
		return fmt.Errorf("source %q: a temporary file for the session file: %w", c.Source(), err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := c.Download(ctx, u.String(), s.cfg.FileHosts, f)
	if err != nil {
		if errors.Is(err, extract.ErrURLNotAllowed) {
			return s.refused(err)
		}
		return fmt.Errorf("download the wavy session file: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return fmt.Errorf("source %q: read the session file again: %w", c.Source(), err)
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" {
		name = "sessions.csv"
	}
	s.cfg.Logger.DebugContext(ctx, "session file downloaded", slog.String("file", name), slog.Int64("bytes", n))
	var commitErr error
	_, err = ReadSessionsCSV(name, f, false, s.cfg.Location, s.cfg.PageSize, func(p SessionsPage) error {
		kept := p.Rows[:0]
		for _, r := range p.Rows {
			if req.InWindow(r.CreatedAt) {
				kept = append(kept, r)
			}
		}
		p.Rows = kept
		if len(p.Rows)+len(p.Bad) == 0 {
			return nil
		}
		commitErr = emit(ctx, extract.Page{Records: []SessionsPage{p}})
		return commitErr
	})
	if commitErr != nil {
		return commitErr // the page could not be committed: the loader said why
	}
	if err != nil {
		return fmt.Errorf("source %q: read the wavy session file %s: %w", c.Source(), name, err)
	}
	return nil
}

// refused says which setting to change when the link (or its redirect) is
// not one syncer follows.
func (s *Sessions) refused(err error) error {
	src := s.cfg.Client.Source()
	var ue *extract.DownloadURLError
	if !errors.As(err, &ue) {
		return err
	}
	where := "the session file is"
	if ue.Redirect {
		where = "the session file's link redirects"
	}
	switch {
	case ue.Invalid:
		return fmt.Errorf("source %q: wavy gave a file_url that is not an absolute URL (%q); nothing was downloaded", src, ue.URL)
	case ue.Scheme != "https":
		return fmt.Errorf("source %q: %s at %s over %s:// (host %q); syncer downloads session files only over https, from the hosts in file_hosts",
			src, where, ue.URL, ue.Scheme, ue.Host)
	default:
		return fmt.Errorf("source %q: %s at host %q (%s), which is not in file_hosts; add it to file_hosts if it is Wavy's",
			src, where, ue.Host, ue.URL)
	}
}

// authHeaders puts Wavy's credentials on an API request, under the names
// the documentation gives them (Go would capitalise them through Set).
func authHeaders(username, token string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header["userName"] = []string{username}
		req.Header["authenticationToken"] = []string{token}
		return nil
	}
}
