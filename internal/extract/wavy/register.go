package wavy

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// Platform is Wavy's name in the config and the registry.
const Platform = "wavy"

// The file formats of syncer import for Wavy sources.
const (
	FormatSessionsCSV = "wavy-sessions-csv"
	FormatMOJSON      = "wavy-mo-json"
)

// ImportPageSize is how many records of a file go into one commit.
const ImportPageSize = 5000

func init() {
	extract.Register(extract.Platform{
		Name: Platform,
		// The file is read whole on every run, but sessions are
		// conversations, not a dimension to mark deleted: an export, not a
		// full refresh.
		Streams: []extract.StreamSpec{{Name: "sessions", Mode: extract.ModeExport}},
		Open:    open,
		Check:   check,
		Formats: []extract.FileFormat{
			{Name: FormatSessionsCSV, Read: readSessionsCSV},
			{Name: FormatMOJSON, Read: readMOJSON},
		},
		Webhook: &extract.WebhookSpec{Decode: decodeWebhooks},
	})
}

// open builds the streams of a configured Wavy source.
func open(src *config.Source, streams []string, env extract.Env) ([]extract.Stream, error) {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	loc, err := location(src)
	if err != nil {
		return nil, err
	}
	cc := env.ClientConfig(src, logger)
	cc.Auth = authHeaders(src.Username, src.Token.Reveal())
	client, err := extract.NewClient(cc)
	if err != nil {
		return nil, err
	}
	var out []extract.Stream
	for _, name := range streams {
		if name != "sessions" {
			return nil, fmt.Errorf("wavy has no %s stream", name)
		}
		s, err := NewSessions(Config{
			Client:       client,
			CustomerID:   src.CustomerID,
			SubAccountID: src.SubAccountID,
			FileHosts:    src.FileHosts,
			Location:     loc,
			Logger:       logger.With(slog.String("stream", name)),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// location is the source's time_zone (config validated it), default
// America/Sao_Paulo.
func location(src *config.Source) (*time.Location, error) {
	tz := src.TimeZone
	if tz == "" {
		tz = config.DefaultTimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone %q: %w", tz, err)
	}
	return loc, nil
}

func readSessionsCSV(ctx context.Context, f extract.File, src *config.Source, emit func(extract.FilePage) error) error {
	loc, err := location(src)
	if err != nil {
		return err
	}
	_, err = ReadSessionsCSV(f.Name, f.R, f.Latin1, loc, ImportPageSize, func(p SessionsPage) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return emit(extract.FilePage{Records: p.Rows, Bad: p.Bad, Done: p.Done, Offset: p.Offset})
	})
	return err
}

// readMOJSON reads saved webhook bodies. JSON is UTF-8: a file that is not
// is read as it is (invalid bytes become U+FFFD), never as ISO-8859-1.
func readMOJSON(ctx context.Context, f extract.File, _ *config.Source, emit func(extract.FilePage) error) error {
	return ReadWebhookFile(f.Name, f.R, ImportPageSize, func(p WebhookFilePage) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		records := p.Bodies
		if records == nil {
			records = []Webhook{}
		}
		return emit(extract.FilePage{Records: records, Bad: p.Bad, Done: p.Done, Offset: p.Offset})
	})
}
