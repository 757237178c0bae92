// Package digisac reads Digisac's REST API (/api/v1): connections
// (services), users, departments, contacts, tickets and messages, and the
// ticket-history exports (CSV files and per-ticket TXT transcripts). It
// authenticates with a personal access token or a password grant renewed
// once on 401, and pages without holes: lists are read in (updatedAt, id)
// order with the lower bound moved forward after every page, never by page
// number over a list that moves. It fetches and decodes, reads the export
// files in constant memory, and registers the platform's streams and file
// formats; it must not map records to rows (that is transform/digisac) nor
// touch the warehouse.
package digisac

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"syncer/internal/extract"
)

// MaxPageSize is the largest perPage syncer asks for.
const MaxPageSize = 1000

// Config of a Digisac source's streams.
type Config struct {
	Client extract.ClientConfig // Auth and Renew are set here
	// Token is a personal access token; or Username and Password for the
	// password grant.
	Token              string
	Username, Password string
	PageSize           int // perPage, default 500
	Now                func() time.Time
	Logger             *slog.Logger
}

// Source is the shared state of one Digisac source's streams: its client and
// its credentials.
type Source struct {
	cfg    Config
	client *extract.Client

	mu    sync.Mutex
	token string // current bearer token
}

// New validates cfg and builds the source's HTTP client.
func New(cfg Config) (*Source, error) {
	if cfg.Token == "" && (cfg.Username == "" || cfg.Password == "") {
		return nil, errors.New("digisac: a token, or a username and password, is required")
	}
	switch {
	case cfg.PageSize <= 0:
		cfg.PageSize = 500
	case cfg.PageSize > MaxPageSize:
		return nil, fmt.Errorf("digisac: page_size %d is above %d", cfg.PageSize, MaxPageSize)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: cfg, token: cfg.Token}
	cc := cfg.Client
	cc.Auth = s.authorize
	if cfg.Token == "" {
		cc.Renew = s.renew
	}
	c, err := extract.NewClient(cc)
	if err != nil {
		return nil, err
	}
	s.client = c
	return s, nil
}

// authorize sets the bearer token, getting one by password grant first when
// there is none yet. The token request itself carries no Authorization.
func (s *Source) authorize(ctx context.Context, req *http.Request) error {
	if strings.HasSuffix(req.URL.Path, "/oauth/token") {
		return nil
	}
	s.mu.Lock()
	tok := s.token
	s.mu.Unlock()
	if tok == "" {
		if err := s.renew(ctx); err != nil {
			return err
		}
		s.mu.Lock()
		tok = s.token
		s.mu.Unlock()
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// tokenResponse is the password grant's answer; FACTS.md calls its shape
// unconfirmed, so only access_token is required.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// renew gets a new access token with the password grant.
func (s *Source) renew(ctx context.Context) error {
	if s.cfg.Username == "" {
		return errors.New("no username and password to renew the token with")
	}
	body := map[string]string{"grant_type": "password", "client_id": "api", "client_secret": "secret",
		"username": s.cfg.Username, "password": s.cfg.Password}
	var out tokenResponse
	if _, err := s.client.PostJSON(ctx, "/api/v1/oauth/token", body, &out); err != nil {
		return fmt.Errorf("password grant: %w", err)
	}
	if out.AccessToken == "" {
		return fmt.Errorf("source %q: the password grant answered without an access_token", s.cfg.Client.Source)
	}
	s.client.AddSecret(out.AccessToken)
	s.mu.Lock()
	s.token = out.AccessToken
	s.mu.Unlock()
	s.cfg.Logger.Info("digisac access token obtained with the password grant", slog.Int("expires_in_s", out.ExpiresIn))
	return nil
}
