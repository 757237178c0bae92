package digisac

import (
	"context"
	"encoding/json"
	"fmt"

	"syncer/internal/extract"
)

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
	// recheckMedia: after the pass, ask again for the media messages
	// stored without a file url (Digisac fills file.url a while after the
	// message arrives, without touching updatedAt).
	recheckMedia bool
}

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
	return &Incremental{src: s, name: "messages", resource: "messages", include: []any{"file"}, recheckMedia: true}
}

// Extract pages from the cursor (or the backfill window) to the end.
func (st *Incremental) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	w := st.src.window(req)
	if err := st.src.walk(ctx, req, st.name, st.resource, w, nil, st.include, emit, nil); err != nil {
		return err
	}
	if st.recheckMedia && !req.Backfill && req.Warehouse != nil {
		return st.recheck(ctx, req, emit, w.upper)
	}
	return nil
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

// Services is the connections stream.
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
	seen := []string{}
	after := ""
	for read := 1; ; read++ {
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
		page := extract.Page{Records: env.Data, Pages: passPages(env, read)}
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
