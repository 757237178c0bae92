package digisac

import (
	"context"
	"fmt"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// Platform is Digisac's name in the config and the registry.
const Platform = "digisac"

// The file formats of syncer import for Digisac sources.
const (
	FormatTicketsCSV    = "digisac-tickets-csv"
	FormatTranscriptTXT = "digisac-transcript-txt"
)

// ImportPageSize is how many records of a file go into one commit.
const ImportPageSize = 5000

func init() {
	extract.Register(extract.Platform{
		Name: Platform,
		Streams: []extract.StreamSpec{
			{Name: "services", Mode: extract.ModeFullRefresh, Table: "channels"},
			{Name: "users", Mode: extract.ModeFullRefresh, Table: "agents"},
			{Name: "departments", Mode: extract.ModeFullRefresh, Table: "departments"},
			{Name: "contacts", Mode: extract.ModeIncremental},
			{Name: "tickets", Mode: extract.ModeIncremental},
			{Name: "messages", Mode: extract.ModeIncremental},
			{Name: "transcripts", Mode: extract.ModeExport},
		},
		Open: open,
		Formats: []extract.FileFormat{
			{Name: FormatTicketsCSV, Read: readTicketsCSV},
			{Name: FormatTranscriptTXT, Read: readTranscriptTXT},
		},
		Webhook: &extract.WebhookSpec{Decode: DecodeWebhook},
		Check:   check,
	})
}

// open builds the named streams of a configured Digisac source; they share
// one HTTP client and one access token.
func open(src *config.Source, streams []string, env extract.Env) ([]extract.Stream, error) {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(Config{
		Client: env.ClientConfig(src, logger),
		Token:  src.Token.Reveal(), Username: src.Username, Password: src.Password.Reveal(),
		PageSize: src.PageSize, Now: env.Now, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	var out []extract.Stream
	for _, name := range streams {
		switch name {
		case "services":
			out = append(out, s.Services())
		case "users":
			out = append(out, s.Users())
		case "departments":
			out = append(out, s.Departments())
		case "contacts":
			out = append(out, s.Contacts())
		case "tickets":
			out = append(out, s.Tickets())
		case "messages":
			out = append(out, s.Messages())
		case "transcripts":
			opts, err := NewTranscriptOptions(src.TimeZone, src.TranscriptLinePattern, src.TranscriptTimeLayouts)
			if err != nil {
				return nil, err
			}
			out = append(out, s.Transcripts(opts, src.HasStream("messages")))
		default:
			return nil, fmt.Errorf("digisac has no %s stream", name)
		}
	}
	return out, nil
}

func readTicketsCSV(ctx context.Context, f extract.File, src *config.Source, emit func(extract.FilePage) error) error {
	opts, err := NewTranscriptOptions(src.TimeZone, src.TranscriptLinePattern, src.TranscriptTimeLayouts)
	if err != nil {
		return err
	}
	_, err = ReadTicketsCSV(f.Name, f.R, f.Latin1, opts.Location, ImportPageSize, func(p TicketsPage) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return emit(extract.FilePage{Records: p.Rows, Bad: p.Bad, Done: p.Done, Offset: p.Offset})
	})
	return err
}

func readTranscriptTXT(ctx context.Context, f extract.File, src *config.Source, emit func(extract.FilePage) error) error {
	opts, err := NewTranscriptOptions(src.TimeZone, src.TranscriptLinePattern, src.TranscriptTimeLayouts)
	if err != nil {
		return err
	}
	_, err = ReadTranscript(f.Name, f.R, f.Latin1, opts, ImportPageSize, func(p TranscriptPage) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return emit(extract.FilePage{Records: []Transcript{p.Transcript}, Bad: p.Bad, Done: p.Done, Offset: p.Offset})
	})
	return err
}
