// Package ogmma reads Ogmma conversation messages through
// GET /v1/channels/{channelId}/conversations/{conversationId}?limit=N.
//
// That endpoint is the whole of Ogmma's documented API: it answers the newest
// N messages of one conversation (N at most 500) and has no paging. So a run
// reads the newest page of every configured conversation, and when every
// message of a full page is newer than the saved cursor, older messages may
// have been missed: the page is marked as a suspected gap. The package
// fetches and decodes, and registers the platform's streams; it must not map
// records to rows (that is transform/ogmma) nor touch the warehouse.
package ogmma

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"syncer/internal/cursor"
	"syncer/internal/extract"
)

// MaxPageSize is the documented maximum of limit.
const MaxPageSize = 500

// Channel is a configured channel and the conversations to read in it.
type Channel struct {
	ID            string
	Conversations []string
	// Discover also lists the channel's conversations through
	// GET /v1/channels/{id}/conversations, an endpoint nobody has confirmed.
	Discover bool
}

// Config of the messages stream.
type Config struct {
	Client   *extract.Client
	APIKey   string
	Channels []Channel
	PageSize int // default and maximum 500
	// Concurrency bounds the conversations read at once, default 2.
	Concurrency int
	Logger      *slog.Logger
}

// Messages is the "messages" stream of an Ogmma source: one partition per
// conversation, "channelId/conversationId".
type Messages struct {
	cfg Config
}

var _ extract.Stream = (*Messages)(nil)

// NewMessages validates cfg and returns the stream.
func NewMessages(cfg Config) (*Messages, error) {
	if cfg.Client == nil {
		return nil, errors.New("ogmma: no HTTP client")
	}
	if cfg.PageSize <= 0 || cfg.PageSize > MaxPageSize {
		if cfg.PageSize > MaxPageSize {
			return nil, fmt.Errorf("ogmma: page_size %d is above the API's maximum of %d", cfg.PageSize, MaxPageSize)
		}
		cfg.PageSize = MaxPageSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Messages{cfg: cfg}, nil
}

// Name is the stream's name in config, sync_state and sync_runs.
func (s *Messages) Name() string { return "messages" }

func (s *Messages) auth() http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+s.cfg.APIKey)
	return h
}

type conversationRef struct{ channel, id string }

// Extract reads the newest page of every conversation. A conversation that
// fails does not stop the others; refused credentials and an exhausted rate
// limit stop the stream at once.
func (s *Messages) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	refs, err := s.conversations(ctx)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	var mu sync.Mutex
	var failed []error
	// A page that cannot be committed (the database, a lost lease) stops
	// the stream: the next conversations could not be committed either.
	commit := func(ctx context.Context, p extract.Page) error {
		if err := emit(ctx, p); err != nil {
			return &commitError{err}
		}
		return nil
	}
	for _, ref := range refs {
		g.Go(func() error {
			err := s.readConversation(gctx, req, ref, commit)
			if err == nil {
				return nil
			}
			if ce := (*commitError)(nil); errors.As(err, &ce) {
				return ce.err
			}
			if errors.Is(err, extract.ErrUnauthorized) || errors.Is(err, extract.ErrRateLimited) || gctx.Err() != nil {
				return err // stops the stream
			}
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(failed) == len(refs):
		return errors.Join(failed...)
	default:
		return &extract.PartialError{Err: fmt.Errorf("%d of %d conversations could not be read: %w", len(failed), len(refs), errors.Join(failed...))}
	}
}

func (s *Messages) conversations(ctx context.Context) ([]conversationRef, error) {
	var refs []conversationRef
	seen := map[conversationRef]bool{}
	addRef := func(r conversationRef) {
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	for _, ch := range s.cfg.Channels {
		for _, id := range ch.Conversations {
			addRef(conversationRef{ch.ID, id})
		}
		if !ch.Discover {
			continue
		}
		var body struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		path := "/v1/channels/" + url.PathEscape(ch.ID) + "/conversations"
		if _, err := s.cfg.Client.GetJSON(ctx, path, nil, s.auth(), &body); err != nil {
			return nil, fmt.Errorf("list the conversations of ogmma channel %s: %w", ch.ID, err)
		}
		for _, c := range body.Data {
			if c.ID != "" {
				addRef(conversationRef{ch.ID, c.ID})
			}
		}
	}
	return refs, nil
}

// listing is the response of the conversation endpoint.
type listing struct {
	Data []json.RawMessage `json:"data"`
}

// key is what the stream itself needs of a message: its position.
type key struct {
	ID        string `json:"id"`
	CreatedAt string `json:"createdAt"`
}

func (s *Messages) readConversation(ctx context.Context, req extract.Request, ref conversationRef, emit extract.Emit) error {
	partition := ref.channel + "/" + ref.id
	path := "/v1/channels/" + url.PathEscape(ref.channel) + "/conversations/" + url.PathEscape(ref.id)
	q := url.Values{"limit": {strconv.Itoa(s.cfg.PageSize)}}
	var page listing
	if _, err := s.cfg.Client.GetJSON(ctx, path, q, s.auth(), &page); err != nil {
		return fmt.Errorf("read ogmma conversation %s: %w", partition, err)
	}

	records := []json.RawMessage{}
	var oldest, newest cursor.Cursor
	positioned := 0
	for _, raw := range page.Data {
		var k key
		_ = json.Unmarshal(raw, &k) // a record that does not decode goes on to transform, which rejects it
		t, err := extract.ParseTime(k.CreatedAt)
		if err != nil || t.IsZero() || k.ID == "" {
			records = append(records, raw)
			continue
		}
		c := cursor.Cursor{TS: t, ID: k.ID}
		if positioned == 0 || c.Less(oldest) {
			oldest = c
		}
		newest = newest.Max(c)
		positioned++
		if req.InWindow(t) {
			records = append(records, raw)
		}
	}

	out := extract.Page{Partition: partition, Records: records, Newest: newest.TS}
	if !req.Backfill && positioned > 0 {
		out.Cursor = &newest
	}
	lower := req.Lower(partition)
	if len(page.Data) >= s.cfg.PageSize && positioned > 0 && lower.Less(oldest) && !req.Backfill {
		out.SuspectedGap = true
		s.cfg.Logger.WarnContext(ctx, "suspected gap: a full page of messages is newer than the saved cursor, so older ones may be missing; run more often or lower the load on this conversation",
			slog.String("partition", partition), slog.Int("page_size", s.cfg.PageSize),
			slog.String("cursor", lower.String()), slog.String("oldest_in_page", oldest.String()))
	}
	return emit(ctx, out)
}

// commitError is an error of emit: the page could not be committed.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }
