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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/cursor"
	"syncer/internal/extract"
)

// MaxPageSize is the documented maximum of limit.
const MaxPageSize = 500

// ProbeSize is how many of a conversation's newest messages a run asks for
// first, and RereadEvery how often the whole page is read again anyway.
//
// The API cannot filter by time, so a run learns cheaply whether a
// conversation changed: it asks for the newest ProbeSize messages. When
// they reach back to the saved cursor (or are all the conversation has),
// nothing newer was missed and the run is done with that conversation;
// only when all of them are newer than the cursor does it ask for the full
// page (PageSize). Statuses move on messages already stored, mostly the
// newest ones, which the probe re-reads on every run; for older ones, the
// full page is read again once the last full read of the conversation is
// about RereadEvery old (kept in the cursor; 45 to 60 minutes, by
// conversation), and on every run with --full. A probe identical to the
// last one (a fingerprint kept in the cursor) is not passed on at all.
const (
	ProbeSize   = 50
	RereadEvery = time.Hour
)

// Channel is a configured channel and the conversations to read in it.
type Channel struct {
	ID string
	// Name and Kind are what the config says of the channel, for its
	// row: Ogmma's API names no channel.
	Name, Kind    string
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
	// Now is the clock of the full re-reads; default time.Now.
	Now func() time.Time
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
	if cfg.Now == nil {
		cfg.Now = time.Now
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

// Page is the record the messages stream hands the mapping: the messages
// of one conversation page as the API wrote them, with what the config
// says of their channel (Ogmma's API names no channel).
type Page struct {
	Messages    []json.RawMessage
	ChannelID   string
	ChannelName string // "" when the config gives none
	ChannelKind string
}

// Count is how many records the page holds, for the rows a run reads.
func (p Page) Count() int { return len(p.Messages) }

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
	lower := req.Lower(partition)
	now := s.cfg.Now()
	_, saved := req.Cursors[partition]
	full := req.Backfill || req.Full || !saved || now.Sub(lower.Reread) >= rereadAfter(partition)
	limit := s.cfg.PageSize
	if !full {
		limit = min(ProbeSize, s.cfg.PageSize)
	}
	page, err := s.read(ctx, path, limit)
	if err != nil {
		return fmt.Errorf("read ogmma conversation %s: %w", partition, err)
	}
	// All of a full probe newer than the cursor: read the full page. All
	// of it older than the cursor cannot happen when the API answers the
	// newest messages, as documented; should it answer the oldest, the
	// full page is read too rather than trusting the probe.
	if !full && len(page.records) >= limit && page.positioned > 0 && limit < s.cfg.PageSize &&
		(lower.Less(page.oldest) || page.newest.Less(lower)) {
		full = true
		limit = s.cfg.PageSize
		if page, err = s.read(ctx, path, limit); err != nil {
			return fmt.Errorf("read ogmma conversation %s: %w", partition, err)
		}
	}

	// A probe whose messages are byte for byte those of the last probe
	// (its fingerprint is kept in the cursor) has nothing to merge: the
	// run then writes nothing for the conversation, not even a staged row.
	var probe string
	if !full {
		probe = fingerprint(req.StartDate, page.records)
	}
	records := []json.RawMessage{}
	if probe == "" || probe != lower.Probe {
		for i, raw := range page.records {
			if t := page.times[i]; t.IsZero() || req.InWindow(t) {
				records = append(records, raw)
			}
		}
	}
	rec := Page{Messages: records, ChannelID: ref.channel}
	for _, ch := range s.cfg.Channels {
		if ch.ID == ref.channel {
			rec.ChannelName, rec.ChannelKind = ch.Name, ch.Kind
		}
	}
	out := extract.Page{Partition: partition, Records: []Page{rec}, Newest: page.newest.TS}
	if !req.Backfill && page.positioned > 0 {
		c := page.newest
		c.Reread, c.Probe = lower.Reread, probe
		if full {
			c.Reread = now.UTC()
		}
		out.Cursor = &c
	}
	if len(page.records) >= s.cfg.PageSize && page.positioned > 0 && lower.Less(page.oldest) && !req.Backfill {
		out.SuspectedGap = true
		s.cfg.Logger.WarnContext(ctx, "suspected gap: a full page of messages is newer than the saved cursor, so older ones may be missing; run more often or lower the load on this conversation",
			slog.String("partition", partition), slog.Int("page_size", s.cfg.PageSize),
			slog.String("cursor", lower.String()), slog.String("oldest_in_page", page.oldest.String()))
	}
	return emit(ctx, out)
}

// rereadAfter is how long after its last full read a conversation is read
// in full again: RereadEvery, less up to a quarter of it, drawn from the
// partition's name, so that conversations first read together are not
// all read again in full by one run.
func rereadAfter(partition string) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(partition))
	return RereadEvery - time.Duration(h.Sum32()%1000)*(RereadEvery/4)/1000
}

// fingerprint identifies a probe's records, as the API wrote them, and
// the start_date they were read with (a start_date moved back makes
// records pass that did not).
func fingerprint(start time.Time, records []json.RawMessage) string {
	h := sha256.New()
	h.Write([]byte(start.UTC().Format(time.RFC3339Nano)))
	h.Write([]byte{0})
	for _, r := range records {
		h.Write(r)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// conversationPage is one answer of the conversation endpoint, with the
// position of each message (times[i] zero for one without a readable id
// and createdAt, which goes on to transform, which rejects it).
type conversationPage struct {
	records        []json.RawMessage
	times          []time.Time
	oldest, newest cursor.Cursor
	positioned     int
}

func (s *Messages) read(ctx context.Context, path string, limit int) (conversationPage, error) {
	var body listing
	if _, err := s.cfg.Client.GetJSON(ctx, path, url.Values{"limit": {strconv.Itoa(limit)}}, s.auth(), &body); err != nil {
		return conversationPage{}, err
	}
	p := conversationPage{records: body.Data, times: make([]time.Time, len(body.Data))}
	for i, raw := range body.Data {
		var k key
		_ = json.Unmarshal(raw, &k)
		t, err := extract.ParseTime(k.CreatedAt)
		if err != nil || t.IsZero() || k.ID == "" {
			continue
		}
		p.times[i] = t
		c := cursor.Cursor{TS: t, ID: k.ID}
		if p.positioned == 0 || c.Less(p.oldest) {
			p.oldest = c
		}
		p.newest = p.newest.Max(c)
		p.positioned++
	}
	return p, nil
}

// commitError is an error of emit: the page could not be committed.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }
