package oxenty

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"

	"syncer/internal/extract"
)

// Extract reads every session and, when it can tell that it read the
// list whole, marks the sessions it did not see as deleted (the last page
// it emits carries Complete and Seen).
//
// Page-number paging over a list that changes while it is read skips a
// record whenever one that was already read leaves the list (or moves
// further down) before the next page is served: everything after it moves
// up one place and the record on the page boundary is never served. A pass
// therefore checks, page by page, what such a move leaves behind:
//
//   - meta.total and meta.totalPages stay those of page 1 (a session
//     created or deleted meanwhile changes them);
//   - every page but the last holds exactly meta.limit sessions, and the
//     pages hold meta.total sessions in all;
//   - no id comes twice (a session that moved down, or one created in front
//     of the pages read, pushes the boundary record onto the next page);
//   - meta.page is the page asked for, and every session has an id.
//
// One deletion and one creation between two pages can keep the total and
// still shift the pages. So a list longer than one page is complete only
// when two passes in a row pass those checks and saw the same ids. A skip
// in a pass needs a session that pass had read to leave the list during
// it, and the next pass cannot see that session, so the two differ. A
// session that equal passes both missed therefore did not exist when the
// first began: no pass stored it, and marking cannot touch it. One answer
// that holds the whole list is complete by itself.
//
// Every page is emitted as it comes, with those of its records that the
// run has not emitted as they are: a second pass over a list that held
// still emits empty pages (the last one carrying Complete), so that the
// records are neither counted nor quarantined twice.
//
// A pass that fails a check is read again, up to MaxPasses in all (it stops
// at the first failed check unless it is the last one allowed, which reads
// on so that every session listed is stored). When none is complete, every
// session read is stored, nothing is marked deleted, and Extract returns
// an *extract.PartialError that says why. A backfill reads the list once
// and never marks anything.
func (s *Sessions) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	if req.Backfill {
		_, err := s.pass(ctx, emit, passOptions{final: true, sent: committed{}})
		return err
	}
	var prev []string // sorted ids of the pass just before, when it passed every check
	why := ""
	sent := committed{}
	for n := 1; ; n++ {
		p, err := s.pass(ctx, emit, passOptions{final: n == s.cfg.MaxPasses, mark: true, prev: prev, sent: sent})
		if err != nil {
			return err
		}
		if p.complete {
			if n > 1 {
				s.cfg.Logger.InfoContext(ctx, "oxenty session list read whole", slog.Int("passes", n), slog.Int("sessions", len(p.ids)))
			}
			return nil
		}
		confirming := p.reason == "" && prev == nil // checks passed over several pages: a second pass must agree
		switch {
		case confirming:
			why = "no second pass could confirm the first"
		case p.reason == "":
			why = "two passes in a row saw different sessions"
		default:
			why = p.reason
		}
		prev = p.ids // nil when a check failed
		if n == s.cfg.MaxPasses || (p.reason != "" && !p.retry) {
			break
		}
		if confirming {
			s.cfg.Logger.DebugContext(ctx, "reading the oxenty session list again to confirm it", slog.Int("pass", n), slog.Int("pages", p.pages))
		} else {
			s.cfg.Logger.WarnContext(ctx, "the oxenty session list moved while it was read; reading it again",
				slog.Int("pass", n), slog.String("reason", why))
		}
	}
	s.cfg.Logger.WarnContext(ctx, "no oxenty session is marked deleted this run", slog.String("reason", why))
	return &extract.PartialError{Err: fmt.Errorf(
		"oxenty sessions: the list was not read whole (%s); every session read is stored, but none is marked deleted this run; the next run tries again", why)}
}

// passOptions say how one pass ends.
type passOptions struct {
	final bool     // the last pass allowed: read to the end whatever the checks say
	mark  bool     // a complete pass marks sessions deleted (never in a backfill)
	prev  []string // sorted ids of the pass just before, when it passed every check
	sent  committed
}

// committed is what the run has handed on of each session: the hash of its
// record as last emitted. A later pass over the same list hands on only
// the sessions whose record changed since, so that reading a list twice
// neither counts its records twice nor quarantines a bad one twice.
type committed map[string][sha256.Size]byte

// fresh reports whether raw (the record of session id) is not what the run
// last handed on for id, and notes it as handed on. Records without an id
// are always fresh.
func (c committed) fresh(id string, raw json.RawMessage) bool {
	if id == "" {
		return true
	}
	h := sha256.Sum256(raw)
	if last, ok := c[id]; ok && last == h {
		return false
	}
	c[id] = h
	return true
}

// passResult is what one pass over the list found.
type passResult struct {
	complete bool     // its last page was emitted with Complete
	ids      []string // sorted ids seen, when the checks passed
	reason   string   // the first check that failed; "" when all passed
	retry    bool     // whether reading again may pass that check
	pages    int
}

// pass reads the list from page 1, emitting every page as it comes with
// the records opt.sent has not seen as they are.
func (s *Sessions) pass(ctx context.Context, emit extract.Emit, opt passOptions) (passResult, error) {
	var (
		res   passResult
		first *Meta // meta of page 1
		size  = s.cfg.PageSize
		seen  = map[string]bool{}
		ids   []string
	)
	fail := func(retry bool, format string, args ...any) {
		if res.reason == "" {
			res.reason, res.retry = fmt.Sprintf(format, args...), retry
		}
	}
	for page := 1; ; page++ {
		l, err := s.fetch(ctx, page)
		if err != nil {
			return res, err
		}
		res.pages++
		m := l.Meta
		if page == 1 {
			first = m
			if m != nil && m.Limit > 0 {
				size = m.Limit // the server may serve fewer than asked; it says so here
			}
		}
		switch {
		case first == nil:
			fail(false, "the answer has no meta, so nothing says how many sessions there are")
		case m == nil:
			fail(true, "page %d came without meta", page)
		case m.Page != 0 && m.Page != page:
			fail(false, "asked for page %d, the answer says page %d", page, m.Page)
		case m.Total != first.Total || m.TotalPages != first.TotalPages:
			fail(true, "the list changed from %d sessions (%d pages) to %d (%d pages) between page 1 and page %d",
				first.Total, first.TotalPages, m.Total, m.TotalPages, page)
		}
		news := 0 // ids new to this pass
		records := make([]json.RawMessage, 0, len(l.Data))
		for _, raw := range l.Data {
			id := sessionID(raw)
			switch {
			case id == "":
				fail(false, "a session on page %d has no id", page)
			case seen[id]:
				fail(true, "session %s came again on page %d", id, page)
			default:
				seen[id] = true
				ids = append(ids, id)
				news++
			}
			if opt.sent.fresh(id, raw) {
				records = append(records, raw)
			}
		}

		var last bool
		if first != nil {
			last = page >= first.TotalPages || len(l.Data) == 0
			if page < first.TotalPages && len(l.Data) != size {
				fail(true, "page %d of %d held %d sessions, not %d", page, first.TotalPages, len(l.Data), size)
			}
			if last && len(ids) != first.Total {
				fail(true, "the pages held %d sessions, meta.total says %d", len(ids), first.Total)
			}
		} else {
			last = len(l.Data) < size
		}
		if news == 0 {
			last = true // a page with nothing new: paging is not moving on
		}

		p := extract.Page{Records: records}
		if last && res.reason == "" {
			res.ids = slices.Sorted(slices.Values(ids))
			if opt.mark && (res.pages == 1 || slices.Equal(opt.prev, res.ids)) {
				p.Complete, p.Seen, res.complete = true, ids, true
			}
		}
		if err := emit(ctx, p); err != nil {
			return res, err
		}
		if last || (res.reason != "" && res.retry && !opt.final) {
			return res, nil
		}
	}
}

// fetch gets and decodes one page of the list.
func (s *Sessions) fetch(ctx context.Context, page int) (*Listing, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(s.cfg.PageSize)}}
	var body json.RawMessage
	if _, err := s.client.GetJSON(ctx, "/api/sessions", q, nil, &body); err != nil {
		return nil, fmt.Errorf("list oxenty sessions, page %d: %w", page, err)
	}
	l, err := DecodePage(body)
	if err != nil {
		return nil, fmt.Errorf("source %q: list oxenty sessions, page %d: %s", s.client.Source(), page, s.client.Redact(err.Error()))
	}
	return l, nil
}
