package transform

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Digisac exported files: the UI's ticket-history CSV and the per-ticket
// TXT transcript. extract/digisac reads the files into the records below
// (times already in UTC, bad lines already set aside); the functions here
// map them. The files name a ticket only by its protocol, so their
// conversations are ByProtocol: they fill the API's row of that protocol
// or wait under "protocol:<n>" for it.

// ExportColumn is one cell of an exported file under its original header.
type ExportColumn struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// DigisacTicketRow is one good row of the ticket-history CSV.
type DigisacTicketRow struct {
	File    string `json:"file"`     // the file's base name
	Line    int    `json:"line"`     // physical line (1-based, the header is line 1) where the row starts
	EndLine int    `json:"end_line"` // where it ends: later when a quoted cell holds newlines

	Protocol   string    `json:"protocol"`
	Contact    string    `json:"contact,omitempty"`
	Phone      string    `json:"phone,omitempty"` // digits only
	Connection string    `json:"connection,omitempty"`
	Department string    `json:"department,omitempty"`
	Agent      string    `json:"agent,omitempty"`
	OpenedAt   time.Time `json:"opened_at"`
	ClosedAt   time.Time `json:"closed_at"`
	Topics     []string  `json:"topics,omitempty"`
	// Seconds of the handling and waiting time columns; nil when absent.
	HandlingSeconds *int64 `json:"handling_seconds,omitempty"`
	WaitingSeconds  *int64 `json:"waiting_seconds,omitempty"`
	// IsOpen from the status column; nil when the file has none or it says
	// something else than open or closed.
	IsOpen *bool `json:"is_open,omitempty"`
	// Every cell of the row, in file order, under its original header.
	Columns []ExportColumn `json:"columns"`
}

// DigisacTicketsCSV maps the good rows of a ticket-history CSV: one ticket
// per row. Agent, department and contact are names, not the platform ids
// the warehouse keys them by, so they stay in raw.
func DigisacTicketsCSV(rows []DigisacTicketRow) Batch {
	var b Batch
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
		b.Conversations = append(b.Conversations, Conversation{
			Kind:       ConversationTicket,
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

// Transcript is one ticket's TXT transcript.
type Transcript struct {
	File     string `json:"file"` // the file's base name
	Protocol string `json:"protocol"`
	// From the header ("Key: value" lines before the first message).
	Contact      string    `json:"contact,omitempty"`       // the name, without "(phone)"
	ContactPhone string    `json:"contact_phone,omitempty"` // digits only
	Connection   string    `json:"connection,omitempty"`
	Department   string    `json:"department,omitempty"`
	Agent        string    `json:"agent,omitempty"`
	OpenedAt     time.Time `json:"opened_at"`
	ClosedAt     time.Time `json:"closed_at"`
	Closed       bool      `json:"closed"` // the header has a "Fechado em" line
	// Every header line, known keys or not, in file order.
	Header   []TranscriptField   `json:"header"`
	Messages []TranscriptMessage `json:"messages"`
}

// TranscriptField is one "Key: value" header line.
type TranscriptField struct {
	Line  int    `json:"line"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TranscriptMessage is one message line and its continuation lines.
type TranscriptMessage struct {
	N        int       `json:"n"`        // 1-based index among the message lines of the file
	Line     int       `json:"line"`     // physical line of "[time] author: text"
	EndLine  int       `json:"end_line"` // last continuation line (Line when none)
	Time     time.Time `json:"time"`     // UTC
	TimeText string    `json:"time_text"`
	Author   string    `json:"author"`
	Text     string    `json:"text"` // continuation lines joined with "\n"
}

// DigisacTranscript maps a transcript: its ticket and one message per
// message line, under conversationID (the API ticket's id when the
// warehouse knows the protocol, else "protocol:<n>"). A message's id is
// "txt:<protocol>:<n>", stable when a later export appends lines.
func DigisacTranscript(t Transcript, conversationID string) Batch {
	var b Batch
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
	b.Conversations = append(b.Conversations, Conversation{
		Kind:       ConversationTicket,
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
		msg := Message{
			ExternalID:     "txt:" + t.Protocol + ":" + strconv.Itoa(m.N),
			ConversationID: conversationID,
			Direction:      DirectionOutbound,
			Kind:           "text",
			Body:           m.Text,
			From:           m.Author,
			SentAt:         m.Time.UTC(),
			UpdatedAt:      m.Time.UTC(),
			Raw:            exportJSON(map[string]any{"file": t.File, "line": m.Line, "author": m.Author, "time": m.TimeText, "text": m.Text}),
		}
		author := strings.TrimSpace(m.Author)
		switch folded := exportFold(author); {
		case folded == "sistema" || folded == "system":
			msg.Direction, msg.Kind = DirectionInternal, "system"
		case strings.HasSuffix(folded, "(comentario interno)") || strings.HasSuffix(folded, "(internal comment)"):
			msg.Direction, msg.Kind = DirectionInternal, "comment"
		case contact != "" && strings.ToLower(author) == contact:
			msg.Direction = DirectionInbound
		case folded == "bot" || folded == "robo":
			msg.IsBot = true
		}
		b.Messages = append(b.Messages, msg)
	}
	return b
}

// ExportBadLine is the rejection of a line of an exported file that could
// not be read: it goes to quarantine under "<file>:<line>".
func ExportBadLine(file string, line int, reason, text string) Rejection {
	return Rejection{
		ExternalID: file + ":" + strconv.Itoa(line),
		Reason:     "line " + strconv.Itoa(line) + ": " + reason,
		Payload:    exportJSON(map[string]any{"file": file, "line": line, "text": text}),
	}
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

// DigisacTranscriptRecords maps the records of the transcripts stream:
// {"ticketId", "protocol", "file": <the transcript read>, "error"}. Lines
// that could not be read, and transcripts that could not be read at all,
// become rejections.
func DigisacTranscriptRecords(records []json.RawMessage) Batch {
	var b Batch
	for _, raw := range records {
		var r struct {
			TicketID string `json:"ticketId"`
			Protocol string `json:"protocol"`
			File     *struct {
				Transcript Transcript `json:"transcript"`
				Bad        []struct {
					Line   int    `json:"line"`
					Reason string `json:"reason"`
					Text   string `json:"text"`
				} `json:"bad"`
			} `json:"file"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(raw, &r); err != nil || r.TicketID == "" {
			b.Reject(guessID(raw), raw, "not a transcript record")
			continue
		}
		if r.File == nil {
			reason := r.Error
			if reason == "" {
				reason = "no transcript"
			}
			b.Reject(r.TicketID, raw, "transcript of ticket "+r.TicketID+": "+reason)
			continue
		}
		one := DigisacTranscript(r.File.Transcript, r.TicketID)
		b.Conversations = append(b.Conversations, one.Conversations...)
		b.Messages = append(b.Messages, one.Messages...)
		b.Rejections = append(b.Rejections, one.Rejections...)
		for _, bad := range r.File.Bad {
			b.Rejections = append(b.Rejections, ExportBadLine(r.File.Transcript.File, bad.Line, bad.Reason, bad.Text))
		}
	}
	return b
}
