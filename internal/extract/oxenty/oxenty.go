// Package oxenty reads Oxenty's API: the WhatsApp sessions (connections) of
// a tenant through GET /api/sessions?page=&limit=, with the X-API-Key
// header, the one endpoint oxenty-list-sessions.txt documents.
//
// That list is paged by page number, and page numbers over a list that
// changes while it is read can skip a session. Sessions is a full-refresh
// stream: a pass that skipped one would mark it deleted. So a pass reports
// itself complete (extract.Page.Complete) only when nothing shows that the
// list moved under it, and, when it took more than one request, when a
// second pass right after it saw the same sessions (sessions.go says why
// that is enough). Otherwise it reads the list again, a bounded number of
// times, and then gives up on marking anything deleted this run.
//
// The package fetches and decodes, and registers the platform's stream; it
// must not map records to rows (that is transform/oxenty) nor touch the
// warehouse.
package oxenty

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"syncer/internal/extract"
)

// MaxPageSize is the largest limit syncer asks for. Oxenty documents no
// maximum; 100 is the usual cap of such APIs, and the config refuses a
// larger page_size for Oxenty sources.
const MaxPageSize = 100

// DefaultMaxPasses is how many times a run reads the whole list at most
// while trying to get a pass it can call complete.
const DefaultMaxPasses = 3

// Config of an Oxenty source's stream.
type Config struct {
	Client extract.ClientConfig // Auth is set here
	APIKey string
	// PageSize is the limit of each request; default and maximum
	// MaxPageSize.
	PageSize int
	// MaxPasses bounds the reads of the whole list in one run; default
	// DefaultMaxPasses, at least 2: a list of more than one page is
	// complete only once a second pass agrees with the first.
	MaxPasses int
	Logger    *slog.Logger
}

// Sessions is the "sessions" stream of an Oxenty source.
type Sessions struct {
	cfg    Config
	client *extract.Client
}

var _ extract.Stream = (*Sessions)(nil)

// New validates cfg and builds the stream with its HTTP client.
func New(cfg Config) (*Sessions, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("oxenty: an api_key is required")
	}
	switch {
	case cfg.PageSize <= 0:
		cfg.PageSize = MaxPageSize
	case cfg.PageSize > MaxPageSize:
		return nil, fmt.Errorf("oxenty: page_size %d is above %d", cfg.PageSize, MaxPageSize)
	}
	switch {
	case cfg.MaxPasses == 0:
		cfg.MaxPasses = DefaultMaxPasses
	case cfg.MaxPasses < 2:
		return nil, fmt.Errorf("oxenty: MaxPasses %d is below 2", cfg.MaxPasses)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sessions{cfg: cfg}
	cc := cfg.Client
	cc.Auth = s.authorize
	c, err := extract.NewClient(cc)
	if err != nil {
		return nil, err
	}
	s.client = c
	return s, nil
}

// authorize puts the API key on a request.
func (s *Sessions) authorize(_ context.Context, req *http.Request) error {
	req.Header.Set("X-API-Key", s.cfg.APIKey)
	return nil
}

// Name is the stream's name in config, sync_state and sync_runs.
func (s *Sessions) Name() string { return "sessions" }
