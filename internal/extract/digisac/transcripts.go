package digisac

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"syncer/internal/extract"
)

// TranscriptRecord is what the transcripts stream hands to its transform:
// the ticket, and its TXT export read (or why it could not be).
type TranscriptRecord struct {
	TicketID string
	Protocol string
	File     *TranscriptFile
	Error    string
}

// Transcripts is the "transcripts" stream (off by default): for closed
// tickets whose messages the warehouse lacks (and, when the source syncs
// messages too, that the messages stream has read past), it fetches the ticket's TXT
// export (POST /api/v1/tickets/export {protocol}) and loads its lines. It
// pages closed tickets like the tickets stream, with a cursor of its own.
type Transcripts struct {
	src  *Source
	opts TranscriptOptions
	// afterMessages: the source also syncs messages, so a ticket is
	// exported only once that stream has read past it (by TranscriptMargin):
	// before then, "no messages in the warehouse" may only mean "not read
	// yet", and the export would store the ticket's messages twice.
	afterMessages bool
}

// TranscriptMargin is how far the messages stream must have read past a
// ticket's last update before the ticket counts as having no messages.
const TranscriptMargin = 24 * time.Hour

var _ extract.Stream = (*Transcripts)(nil)

// Transcripts returns the stream; opts reads the exported text.
// afterMessages says the source syncs the messages stream too.
func (s *Source) Transcripts(opts TranscriptOptions, afterMessages bool) *Transcripts {
	return &Transcripts{src: s, opts: opts, afterMessages: afterMessages}
}

// Name is the stream's name.
func (st *Transcripts) Name() string { return "transcripts" }

type closedTicket struct {
	ID       string          `json:"id"`
	Protocol json.RawMessage `json:"protocol"`
}

// Extract pages through closed tickets from the cursor and exports those
// without messages in the warehouse.
func (st *Transcripts) Extract(ctx context.Context, req extract.Request, emit extract.Emit) error {
	if req.Warehouse == nil {
		return fmt.Errorf("digisac transcripts: no warehouse to ask which tickets lack messages")
	}
	w := st.src.window(req)
	if st.afterMessages {
		mc, ok, err := req.Warehouse.Cursor(ctx, "messages")
		if err != nil {
			return err
		}
		if !ok {
			st.src.cfg.Logger.InfoContext(ctx, "transcripts wait for the messages stream's first run", slog.String("stream", "transcripts"))
			return nil
		}
		if bound := mc.TS.Add(-TranscriptMargin); bound.Before(w.upper) {
			w.upper = bound
		}
	}
	closed := []any{map[string]any{"isOpen": false}}
	return st.src.walk(ctx, req, st.Name(), "tickets", w, closed, nil, emit,
		func(ctx context.Context, data []json.RawMessage) (any, error) {
			return st.exportMissing(ctx, req.Warehouse, data)
		})
}

// exportMissing exports, of a page of closed tickets, those without
// messages in the warehouse, and returns their transcript records.
func (st *Transcripts) exportMissing(ctx context.Context, wh extract.Warehouse, data []json.RawMessage) ([]TranscriptRecord, error) {
	var tickets []closedTicket
	var ids []string
	for _, raw := range data {
		var t closedTicket
		if json.Unmarshal(raw, &t) != nil || t.ID == "" {
			continue // the tickets stream quarantines it
		}
		tickets = append(tickets, t)
		ids = append(ids, t.ID)
	}
	missing, err := wh.ConversationsWithoutMessages(ctx, ids)
	if err != nil {
		return nil, err
	}
	records := []TranscriptRecord{}
	for _, t := range tickets {
		if !slices.Contains(missing, t.ID) {
			continue
		}
		rec, err := st.export(ctx, t)
		if err != nil {
			return nil, err
		}
		records = append(records, rec)
	}
	return records, nil
}

// export fetches and reads one ticket's transcript. A ticket without a
// protocol, or a transcript that cannot be read at all, becomes a record
// with the reason (quarantined by the transform); a failed request stops
// the stream.
func (st *Transcripts) export(ctx context.Context, t closedTicket) (TranscriptRecord, error) {
	rec := TranscriptRecord{TicketID: t.ID}
	protocol := ProtocolText(t.Protocol)
	if protocol == "" {
		rec.Error = "the ticket has no protocol to export by"
		return rec, nil
	}
	rec.Protocol = protocol
	body, err := json.Marshal(map[string]string{"protocol": protocol})
	if err != nil {
		return rec, err
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"text/plain, */*"}}
	resp, err := st.src.client.Do(ctx, http.MethodPost, "/api/v1/tickets/export", nil, h, body)
	if err != nil {
		return rec, fmt.Errorf("export the transcript of ticket %s (protocol %s): %w", t.ID, protocol, err)
	}
	f, err := ParseTranscript(protocol+".txt", resp.Body, st.opts)
	if err != nil {
		rec.Error = err.Error()
		return rec, nil //nolint:nilerr // an unreadable transcript is quarantined, not a stream failure
	}
	rec.File = f
	return rec, nil
}
