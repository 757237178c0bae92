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
// for the next run. records, when set, turns a page's records into the
// ones to emit (of the stream's record type); the cursor (none in a
// backfill) moves to the page's last record either way.
func (s *Source) walk(ctx context.Context, req extract.Request, stream, resource string, w window, filters, include []any, emit extract.Emit,
	records func(context.Context, []json.RawMessage) (any, error)) error {
	op := "$lte"
	if w.upperOpen {
		op = "$lt"
	}
	lower, inclusive := w.lower, true
	for read := 1; ; read++ {
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
			t, err := extract.ParseTime(p.UpdatedAt)
			if err != nil || t.IsZero() {
				continue
			}
			if c := (cursor.Cursor{TS: t, ID: p.ID}); last.Less(c) {
				last, moved = c, true
			}
		}
		page := extract.Page{Records: env.Data, Pages: passPages(env, read)}
		if records != nil {
			if page.Records, err = records(ctx, env.Data); err != nil {
				return err
			}
		}
		if !req.Backfill && moved {
			page.Cursor, page.Newest = &last, last.TS
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

// passPages is how many pages a keyset pass has in all, as far as the
// list answer of its page read (1-based) tells: every request asks for
// page 1 of what remains, so lastPage counts this page and those after
// it. 0 when the answer has no lastPage.
func passPages(env *envelope, read int) int {
	if env.LastPage <= 0 {
		return 0
	}
	return read - 1 + env.LastPage
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
