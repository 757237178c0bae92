package digisac

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"syncer/internal/cursor"
	"syncer/internal/extract"
	"syncer/internal/transform"
)

// envelope is Digisac's list answer:
// {"data":[...],"total":111,"limit":15,"skip":0,"currentPage":1,"lastPage":8,"from":0,"to":15}.
type envelope struct {
	Data        []json.RawMessage `json:"data"`
	Total       int               `json:"total"`
	CurrentPage int               `json:"currentPage"`
	LastPage    int               `json:"lastPage"`
}

// position is what paging needs of a record.
type position struct {
	ID        string `json:"id"`
	UpdatedAt string `json:"updatedAt"`
}

// timeFormat is how times go into filters: UTC, milliseconds, as Digisac
// writes them.
const timeFormat = "2006-01-02T15:04:05.000Z"

func (s *Source) list(ctx context.Context, resource string, query map[string]any) (*envelope, error) {
	q, err := json.Marshal(query)
	if err != nil {
		return nil, err
	}
	var env envelope
	if _, err := s.client.GetJSON(ctx, "/api/v1/"+resource, url.Values{"query": {string(q)}}, nil, &env); err != nil {
		return nil, fmt.Errorf("list digisac %s: %w", resource, err)
	}
	return &env, nil
}

// Incremental is a stream read in (updatedAt, id) order from its cursor.
// Every request asks for the first page of what lies past the last record
// read (keyset paging), bounded above by the moment the run started: a
// record updated while the run pages moves past that bound and is read by
// the next run, so nothing is skipped and a busy list cannot keep a run
// going forever.
type Incremental struct {
	src      *Source
	name     string
	resource string
	include  []any
	// revisitMedia: after the pass, read again the recent media messages
	// stored without a file url (Digisac fills file.url a while after the
	// message arrives, without touching updatedAt).
	revisitMedia bool
}

// MediaRevisitWindow is how long after sending a media message without a
// url is read again; MediaRevisitMax bounds how many one run reads again.
const (
	MediaRevisitWindow = 24 * time.Hour
	MediaRevisitMax    = 5000
)

var _ extract.Stream = (*Incremental)(nil)

// Name is the stream's name.
func (st *Incremental) Name() string { return st.name }

// Contacts is the contacts stream.
func (s *Source) Contacts() *Incremental {
	return &Incremental{src: s, name: "contacts", resource: "contacts"}
}

// Tickets is the tickets stream; the contact is included for its service.
func (s *Source) Tickets() *Incremental {
	return &Incremental{src: s, name: "tickets", resource: "tickets",
		include: []any{"ticketTopics", "ticketTransfers", map[string]any{"model": "contact", "attributes": []string{"id", "serviceId"}}}}
}

// Messages is the messages stream, with the file for media_url.
func (s *Source) Messages() *Incremental {
	return &Incremental{src: s, name: "messages", resource: "messages", include: []any{"file"}, revisitMedia: true}
}

// Extract pages from the cursor (or the backfill window) to the end.
func (st *Incremental) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	w := st.src.window(req)
	if err := st.src.walk(ctx, req, st.name, st.resource, w, nil, st.include, emit, nil); err != nil {
		return err
	}
	if st.revisitMedia && !req.Backfill && req.Warehouse != nil {
		return st.revisit(ctx, req, emit, w.upper)
	}
	return nil
}

// window is where a keyset walk reads: from lower (inclusive) to upper.
type window struct {
	lower     cursor.Cursor
	upper     time.Time
	upperOpen bool // upper itself is out (a backfill's --until)
}

// window is the request's: from the saved cursor (or a backfill's since)
// to the moment the run started (or a backfill's until).
func (s *Source) window(req extract.Request) window {
	w := window{lower: req.Lower(""), upper: s.cfg.Now().UTC()}
	if req.Backfill {
		w.lower = cursor.Cursor{TS: req.Since}
		if !req.Until.IsZero() {
			w.upperOpen = true
			if req.Until.Before(w.upper) {
				w.upper = req.Until
			}
		}
	}
	return w
}

// walk reads resource in (updatedAt, id) order within w, with filters
// added to every request. Every request asks for the first page past the
// last record read (keyset paging), so a list that changes while it is read
// is neither skipped nor repeated, and records updated after w.upper wait
// for the next run. keep, when set, turns a page's records into the ones to
// emit; the cursor (none in a backfill) moves to the page's last record
// either way.
func (s *Source) walk(ctx context.Context, req extract.Request, stream, resource string, w window, filters, include []any, emit extract.Emit,
	keep func(context.Context, []json.RawMessage) ([]json.RawMessage, error)) error {
	op := "$lte"
	if w.upperOpen {
		op = "$lt"
	}
	lower, inclusive := w.lower, true
	for {
		where := append(slices.Clone(filters), keyset(lower, inclusive),
			map[string]any{"updatedAt": map[string]any{op: w.upper.Format(timeFormat)}})
		query := map[string]any{
			"where":   map[string]any{"$and": where},
			"order":   [][]string{{"updatedAt", "ASC"}, {"id", "ASC"}},
			"page":    1,
			"perPage": s.cfg.PageSize,
		}
		if include != nil {
			query["include"] = include
		}
		env, err := s.list(ctx, resource, query)
		if err != nil {
			return err
		}
		last, moved := lower, false
		for _, raw := range env.Data {
			var p position
			if json.Unmarshal(raw, &p) != nil || p.ID == "" {
				continue // its transform rejects it
			}
			t, err := transform.ParseTime(p.UpdatedAt)
			if err != nil || t.IsZero() {
				continue
			}
			if c := (cursor.Cursor{TS: t, ID: p.ID}); last.Less(c) {
				last, moved = c, true
			}
		}
		records := env.Data
		if keep != nil {
			if records, err = keep(ctx, env.Data); err != nil {
				return err
			}
		}
		page := extract.Page{Records: records}
		if !req.Backfill && moved {
			page.Cursor = &last
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
		if isLast(env, s.cfg.PageSize) {
			return nil
		}
		if !moved {
			return fmt.Errorf("digisac %s: a page of %s without a readable updatedAt and id; cannot page past it (the %s stream quarantines such records: check them there, then fix them or contact Digisac)", stream, resource, resource)
		}
		lower, inclusive = last, false
	}
}

// revisit reads again, by id, the recent media messages stored without a
// url. It moves no cursor; the merge writes only those that changed.
func (st *Incremental) revisit(ctx context.Context, req extract.Request, emit extract.Emit, now time.Time) error {
	ids, err := req.Warehouse.MessagesWithoutMedia(ctx, now.Add(-MediaRevisitWindow), MediaRevisitMax)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, st.src.cfg.PageSize) {
		env, err := st.src.list(ctx, st.resource, map[string]any{
			"where": map[string]any{"id": map[string]any{"$in": chunk}}, "include": st.include,
			"order": [][]string{{"id", "ASC"}}, "page": 1, "perPage": len(chunk),
		})
		if err != nil {
			return err
		}
		if err := emit(ctx, extract.Page{Records: env.Data}); err != nil {
			return err
		}
	}
	return nil
}

// isLast reports whether a keyset page is the last one. Every request asks
// for page 1 of what remains, so lastPage says whether more remains,
// whatever perPage the server really applied (a server that caps perPage
// below what was asked must not end a pass early, least of all a
// full-refresh pass, which would mark the unseen rows deleted). Only
// without lastPage does a short page mean the end.
func isLast(env *envelope, asked int) bool {
	switch {
	case len(env.Data) == 0:
		return true
	case env.LastPage > 0:
		return env.LastPage <= 1
	default:
		return len(env.Data) < asked
	}
}

// keyset selects the records at or after c (inclusive) or after it, in
// (updatedAt, id) order.
func keyset(c cursor.Cursor, inclusive bool) map[string]any {
	ts := c.TS.UTC().Format(timeFormat)
	if c.ID == "" {
		op := "$gte"
		if !inclusive {
			op = "$gt"
		}
		return map[string]any{"updatedAt": map[string]any{op: ts}}
	}
	idOp := "$gte"
	if !inclusive {
		idOp = "$gt"
	}
	return map[string]any{"$or": []any{
		map[string]any{"updatedAt": map[string]any{"$gt": ts}},
		map[string]any{"$and": []any{
			map[string]any{"updatedAt": map[string]any{"$eq": ts}},
			map[string]any{"id": map[string]any{idOp: c.ID}},
		}},
	}}
}

// FullRefresh is a small dimension read whole on every run, in id order
// (ids never change, so keyset paging over them cannot skip). A complete
// pass reports every id it saw, and the rows it did not see are marked
// deleted.
type FullRefresh struct {
	src      *Source
	name     string
	resource string
}

var _ extract.Stream = (*FullRefresh)(nil)

// Services, Users and Departments are the full-refresh streams.
func (s *Source) Services() *FullRefresh {
	return &FullRefresh{src: s, name: "services", resource: "services"}
}

// Users is the users stream.
func (s *Source) Users() *FullRefresh { return &FullRefresh{src: s, name: "users", resource: "users"} }

// Departments is the departments stream.
func (s *Source) Departments() *FullRefresh {
	return &FullRefresh{src: s, name: "departments", resource: "departments"}
}

// Name is the stream's name.
func (st *FullRefresh) Name() string { return st.name }

// Extract reads every record. A backfill reads them all too, but does not
// mark anything deleted.
func (st *FullRefresh) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	var seen []string
	after := ""
	for {
		where := map[string]any{}
		if after != "" {
			where["id"] = map[string]any{"$gt": after}
		}
		env, err := st.src.list(ctx, st.resource, map[string]any{
			"where": where, "order": [][]string{{"id", "ASC"}}, "page": 1, "perPage": st.src.cfg.PageSize,
		})
		if err != nil {
			return err
		}
		next := after
		for _, raw := range env.Data {
			var p position
			if json.Unmarshal(raw, &p) != nil || p.ID == "" {
				continue
			}
			seen = append(seen, p.ID)
			next = max(next, p.ID)
		}
		done := isLast(env, st.src.cfg.PageSize)
		if !done && next == after {
			return fmt.Errorf("digisac %s: a page of records without ids; cannot page past it (the records are in quarantine)", st.resource)
		}
		page := extract.Page{Records: env.Data}
		if done && !req.Backfill {
			page.Complete, page.Seen = true, seen
		}
		if err := emit(ctx, page); err != nil {
			return err
		}
		if done {
			return nil
		}
		after = next
	}
}
