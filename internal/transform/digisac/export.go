package digisac

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	dg "syncer/internal/extract/digisac"
	"syncer/internal/transform"
)

// Digisac exported files: the UI's ticket-history CSV and the per-ticket
// TXT transcript. extract/digisac reads the files into records (times
// already in UTC, bad lines already set aside); the functions here map
// them. The files name a ticket only by its protocol, so their
// conversations are ByProtocol: they fill the API's row of that protocol
// or wait under "protocol:<n>" for it. Transcript lines are stand-ins
// (FromTranscript): the loader keeps them only for a ticket without API
// messages, and drops them when API messages for it arrive.

// TicketsCSV maps the good rows of a ticket-history CSV: one ticket per
// row. Agent, department and contact are names, not the platform ids the
// warehouse keys them by, so they stay in raw.
func TicketsCSV(rows []dg.TicketRow) transform.Batch {
	var b transform.Batch
	for i := range rows {
		r := &rows[i]
		open := r.IsOpen
		if open == nil {
			v := r.ClosedAt.IsZero()
			open = &v
		}
		raw := map[string]any{}
		for _, c := range r.Columns {
			raw[exportKey(raw, c.Header)] = c.Value
		}
		raw["line"], raw["file"] = r.Line, r.File
		b.Conversations = append(b.Conversations, transform.Conversation{
			Kind:       transform.ConversationTicket,
			Protocol:   r.Protocol,
			IsOpen:     open,
			OpenedAt:   r.OpenedAt.UTC(),
			ClosedAt:   r.ClosedAt.UTC(),
			Topics:     r.Topics,
			UpdatedAt:  exportLatest(r.OpenedAt, r.ClosedAt),
			Raw:        exportJSON(raw),
			ByProtocol: true,
		})
	}
	return b
}

// Transcript maps a transcript: its ticket and one message per message
// line, under conversationID (the API ticket's id), or, when it is empty,
// under the ticket of the transcript's protocol. A message's id is
// "txt:<protocol>:<n>", stable when a later export appends lines.
func Transcript(t dg.Transcript, conversationID string) transform.Batch {
	var b transform.Batch
	open := !t.Closed
	raw := map[string]any{}
	for _, f := range t.Header {
		raw[exportKey(raw, f.Key)] = f.Value
	}
	raw["file"] = t.File
	updated := exportLatest(t.OpenedAt, t.ClosedAt)
	for _, m := range t.Messages {
		updated = exportLatest(updated, m.Time)
	}
	b.Conversations = append(b.Conversations, transform.Conversation{
		Kind:       transform.ConversationTicket,
		Protocol:   t.Protocol,
		IsOpen:     &open,
		OpenedAt:   t.OpenedAt.UTC(),
		ClosedAt:   t.ClosedAt.UTC(),
		UpdatedAt:  updated,
		Raw:        exportJSON(raw),
		ByProtocol: true,
	})
	contact := strings.ToLower(strings.TrimSpace(t.Contact))
	for _, m := range t.Messages {
		msg := transform.Message{
			ExternalID:     "txt:" + t.Protocol + ":" + strconv.Itoa(m.N),
			ConversationID: conversationID,
			Direction:      transform.DirectionOutbound,
			Kind:           "text",
			Body:           m.Text,
			From:           m.Author,
			SentAt:         m.Time.UTC(),
			UpdatedAt:      m.Time.UTC(),
			Raw:            exportJSON(map[string]any{"file": t.File, "line": m.Line, "author": m.Author, "time": m.TimeText, "text": m.Text}),
			FromTranscript: true,
		}
		if conversationID == "" {
			msg.ConversationProtocol = t.Protocol
		}
		author := strings.TrimSpace(m.Author)
		switch folded := exportFold(author); {
		case folded == "sistema" || folded == "system":
			msg.Direction, msg.Kind = transform.DirectionInternal, "system"
		case strings.HasSuffix(folded, "(comentario interno)") || strings.HasSuffix(folded, "(internal comment)"):
			msg.Direction, msg.Kind = transform.DirectionInternal, "comment"
		case contact != "" && strings.ToLower(author) == contact:
			msg.Direction = transform.DirectionInbound
		case folded == "bot" || folded == "robo":
			msg.IsBot = true
		}
		b.Messages = append(b.Messages, msg)
	}
	return b
}

// exportKey gives the raw key of a header: the header itself, or with
// " (2)", " (3)"... when the row already holds that key (a header given
// twice, or one named like the keys "line" and "file" added after).
func exportKey(raw map[string]any, header string) string {
	key := header
	if header == "line" || header == "file" {
		key = header + " (column)"
	}
	for n := 2; ; n++ {
		if _, dup := raw[key]; !dup {
			return key
		}
		key = header + " (" + strconv.Itoa(n) + ")"
	}
}

func exportLatest(a, b time.Time) time.Time {
	if b.After(a) {
		return b.UTC()
	}
	return a.UTC()
}

func exportJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil { // strings, numbers and maps of them always marshal
		panic("transform: " + err.Error())
	}
	return b
}

// exportFold lowercases s and strips the accents of Portuguese letters.
func exportFold(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'á', 'à', 'â', 'ã', 'ä', 'Á', 'À', 'Â', 'Ã', 'Ä':
			return 'a'
		case 'é', 'è', 'ê', 'ë', 'É', 'È', 'Ê', 'Ë':
			return 'e'
		case 'í', 'ì', 'î', 'ï', 'Í', 'Ì', 'Î', 'Ï':
			return 'i'
		case 'ó', 'ò', 'ô', 'õ', 'ö', 'Ó', 'Ò', 'Ô', 'Õ', 'Ö':
			return 'o'
		case 'ú', 'ù', 'û', 'ü', 'Ú', 'Ù', 'Û', 'Ü':
			return 'u'
		case 'ç', 'Ç':
			return 'c'
		}
		return r
	}, strings.ToLower(s))
}

// TranscriptRecords maps the records of the transcripts stream: each
// closed ticket's export, read (its lines that could not be read become
// rejections), or why it could not be read at all (a rejection).
func TranscriptRecords(records []dg.TranscriptRecord) transform.Batch {
	var b transform.Batch
	for _, r := range records {
		if r.File == nil {
			reason := r.Error
			if reason == "" {
				reason = "no transcript"
			}
			payload := exportJSON(map[string]any{"ticketId": r.TicketID, "protocol": r.Protocol, "error": reason})
			b.Reject(r.TicketID, payload, "transcript of ticket "+r.TicketID+": "+reason)
			continue
		}
		one := Transcript(r.File.Transcript, r.TicketID)
		b.Conversations = append(b.Conversations, one.Conversations...)
		b.Messages = append(b.Messages, one.Messages...)
		for _, bad := range r.File.Bad {
			b.Rejections = append(b.Rejections, transform.BadLine(r.File.Transcript.File, bad.Line, bad.Reason, bad.Text))
		}
	}
	return b
}

// TranscriptFiles maps the pages of imported transcripts: their messages
// go under the ticket of their protocol.
func TranscriptFiles(pages []dg.Transcript) transform.Batch {
	var b transform.Batch
	for _, t := range pages {
		if t.Protocol == "" {
			continue // a page of header lines that could not be read, before the protocol is known
		}
		one := Transcript(t, "")
		b.Conversations = append(b.Conversations, one.Conversations...)
		b.Messages = append(b.Messages, one.Messages...)
	}
	return b
}
