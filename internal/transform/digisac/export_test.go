package digisac

import (
	"encoding/json"
	"testing"
	"time"

	dg "syncer/internal/extract/digisac"
	"syncer/internal/golden"
	"syncer/internal/transform"
	tt "syncer/internal/transform/transformtest"
)

func TestDigisacExportGolden(t *testing.T) {
	var rows []dg.TicketRow
	tt.ReadJSON(t, "digisac_export_tickets.json", &rows)
	golden.JSON(t, "digisac_export_tickets.golden.json", TicketsCSV(rows))

	var tr dg.Transcript
	tt.ReadJSON(t, "digisac_export_transcript.json", &tr)
	golden.JSON(t, "digisac_export_transcript.golden.json", Transcript(tr, "9c00e1f2-api-ticket"))
}

func TestDigisacTicketsCSVMapping(t *testing.T) {
	opened := time.Date(2024, 1, 15, 13, 28, 0, 0, time.UTC)
	closed := opened.Add(time.Hour)
	yes, no := true, false
	for _, tc := range []struct {
		name  string
		row   dg.TicketRow
		check func(transform.Conversation) bool
	}{
		{"closed by its closing time", dg.TicketRow{Protocol: "1", OpenedAt: opened, ClosedAt: closed},
			func(c transform.Conversation) bool { return !*c.IsOpen && c.UpdatedAt.Equal(closed) }},
		{"open without a closing time", dg.TicketRow{Protocol: "1", OpenedAt: opened},
			func(c transform.Conversation) bool {
				return *c.IsOpen && c.UpdatedAt.Equal(opened) && c.ClosedAt.IsZero()
			}},
		{"status wins over the closing time", dg.TicketRow{Protocol: "1", ClosedAt: closed, IsOpen: &yes},
			func(c transform.Conversation) bool { return *c.IsOpen }},
		{"status closed without a closing time", dg.TicketRow{Protocol: "1", IsOpen: &no},
			func(c transform.Conversation) bool { return !*c.IsOpen }},
		{"by protocol, a ticket, no ids", dg.TicketRow{Protocol: "2025102948644", Agent: "João", Department: "Suporte", Contact: "Ana"},
			func(c transform.Conversation) bool {
				return c.ByProtocol && c.Kind == "ticket" && c.Protocol == "2025102948644" && c.ExternalID == "" &&
					c.AgentID == "" && c.DepartmentID == "" && c.ContactID == "" && c.ChannelID == ""
			}},
		{"topics", dg.TicketRow{Protocol: "1", Topics: []string{"a", "b"}},
			func(c transform.Conversation) bool { return len(c.Topics) == 2 && c.Topics[1] == "b" }},
		{"raw holds every column, the line and the file", dg.TicketRow{File: "x.csv", Line: 7, Protocol: "1",
			Columns: []dg.Column{{Header: "Protocolo", Value: "1"}, {Header: "Obs", Value: "a"}, {Header: "Obs", Value: "b"}, {Header: "line", Value: "L"}}},
			func(c transform.Conversation) bool {
				var raw map[string]any
				if json.Unmarshal(c.Raw, &raw) != nil {
					return false
				}
				return raw["Protocolo"] == "1" && raw["Obs"] == "a" && raw["Obs (2)"] == "b" && raw["line (column)"] == "L" &&
					raw["line"] == 7.0 && raw["file"] == "x.csv" && len(raw) == 6
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := TicketsCSV([]dg.TicketRow{tc.row})
			if len(b.Conversations) != 1 || len(b.Rejections) != 0 || !tc.check(b.Conversations[0]) {
				t.Errorf("got %+v", b)
			}
		})
	}
}

func TestDigisacTranscriptMapping(t *testing.T) {
	at := time.Date(2024, 1, 15, 13, 28, 0, 0, time.UTC)
	base := dg.Transcript{File: "t.txt", Protocol: "2025102948644", Contact: " Ana Souza ", OpenedAt: at}
	for _, tc := range []struct {
		author          string
		direction, kind string
		bot             bool
	}{
		{"Ana Souza", "inbound", "text", false},
		{"ana souza", "inbound", "text", false},
		{"João Lima", "outbound", "text", false},
		{"Sistema", "internal", "system", false},
		{"System", "internal", "system", false},
		{"João Lima (comentário interno)", "internal", "comment", false},
		{"João Lima (Comentario Interno)", "internal", "comment", false},
		{"Bot", "outbound", "text", true},
		{"Robô", "outbound", "text", true},
	} {
		t.Run(tc.author, func(t *testing.T) {
			tr := base
			tr.Messages = []dg.TranscriptMessage{{N: 4, Line: 12, EndLine: 13, Time: at, TimeText: "15/01/2024 10:28:00", Author: tc.author, Text: "oi\ntudo bem"}}
			b := Transcript(tr, "protocol:2025102948644")
			if len(b.Messages) != 1 || len(b.Conversations) != 1 {
				t.Fatalf("got %+v", b)
			}
			m := b.Messages[0]
			if m.Direction != tc.direction || m.Kind != tc.kind || m.IsBot != tc.bot {
				t.Errorf("direction %s kind %s bot %v; want %s %s %v", m.Direction, m.Kind, m.IsBot, tc.direction, tc.kind, tc.bot)
			}
			if m.ExternalID != "txt:2025102948644:4" || m.ConversationID != "protocol:2025102948644" || m.From != tc.author ||
				m.Body != "oi\ntudo bem" || !m.SentAt.Equal(at) || !m.UpdatedAt.Equal(at) {
				t.Errorf("message %+v", m)
			}
			var raw map[string]any
			if err := json.Unmarshal(m.Raw, &raw); err != nil {
				t.Fatal(err)
			}
			if raw["file"] != "t.txt" || raw["line"] != 12.0 || raw["author"] != tc.author || raw["time"] != "15/01/2024 10:28:00" || raw["text"] != "oi\ntudo bem" {
				t.Errorf("raw %s", m.Raw)
			}
		})
	}
	t.Run("the ticket", func(t *testing.T) {
		b := Transcript(base, "x")
		c := b.Conversations[0]
		if !c.ByProtocol || c.Kind != "ticket" || c.Protocol != base.Protocol || !*c.IsOpen || !c.OpenedAt.Equal(at) || len(b.Messages) != 0 {
			t.Errorf("open ticket: %+v", c)
		}
		closedT := base
		closedT.Closed = true
		if c := Transcript(closedT, "x").Conversations[0]; *c.IsOpen {
			t.Error("a transcript with Fechado em is open")
		}
	})
}
