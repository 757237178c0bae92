// Package platforms knows which streams each platform has and wires each
// one: the source's HTTP client, its extractor and its transform. It holds
// no logic of its own beyond choosing; the platforms' stories live in
// extract/<platform> and transform/<platform>.go.
package platforms

import (
	"fmt"
	"log/slog"
	"time"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/extract/digisac"
	"syncer/internal/extract/ogmma"
	"syncer/internal/pipeline"
	"syncer/internal/redact"
	"syncer/internal/transform"
)

// Options of Jobs.
type Options struct {
	// Streams filters the source's configured streams; nil means all.
	Streams []string
	// Request is copied into every job.
	Request extract.Request
	// Redactor hides the credentials in errors and log lines; it must know
	// this source's. Share the logger's, so that tokens the source learns
	// at run time are hidden there too. Default: one for this source's
	// credentials alone.
	Redactor *redact.Redactor
	Logger   *slog.Logger
	// Now is the clock of the extractors (when a run starts); default
	// time.Now.
	Now func() time.Time
}

// Jobs returns one job per selected stream of src.
func Jobs(src *config.Source, opts Options) ([]pipeline.Job, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(slog.String("source", src.Name))
	streams, req, redactor := opts.Streams, opts.Request, opts.Redactor
	if redactor == nil {
		redactor = redact.New(src.Token.Reveal(), src.Password.Reveal(), src.APIKey.Reveal(), src.WebhookSecret.Reveal())
	}
	cc := extract.ClientConfig{
		Source:    src.Name,
		BaseURL:   src.BaseURL,
		Timeout:   src.Timeout.Std(),
		RateLimit: src.RateLimit,
		Redactor:  redactor,
		Logger:    logger,
	}
	var client *extract.Client
	var dsac *digisac.Source
	var err error
	if src.Platform == config.Digisac {
		dsac, err = digisac.New(digisac.Config{Client: cc, Token: src.Token.Reveal(), Username: src.Username,
			Password: src.Password.Reveal(), PageSize: src.PageSize, Now: opts.Now, Logger: logger})
	} else {
		client, err = extract.NewClient(cc)
	}
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", src.Name, err)
	}
	if req.StartDate.IsZero() {
		req.StartDate = src.StartDate
	}
	var jobs []pipeline.Job
	for _, name := range src.Streams {
		if streams != nil && !contains(streams, name) {
			continue
		}
		job := pipeline.Job{Source: src.Name, Platform: src.Platform, Request: req}
		switch {
		case src.Platform == config.Ogmma && name == "messages":
			channels := make([]ogmma.Channel, len(src.Channels))
			for i, c := range src.Channels {
				channels[i] = ogmma.Channel{ID: c.ID, Conversations: c.Conversations, Discover: c.Discover}
			}
			s, err := ogmma.NewMessages(ogmma.Config{
				Client:      client,
				APIKey:      src.APIKey.Reveal(),
				Channels:    channels,
				PageSize:    src.PageSize,
				Concurrency: src.Concurrency,
				Logger:      logger.With(slog.String("stream", name)),
			})
			if err != nil {
				return nil, fmt.Errorf("source %q: %w", src.Name, err)
			}
			job.Stream, job.Transform = s, transform.Ogmma
		case src.Platform == config.Digisac && name == "services":
			job.Stream, job.Transform, job.FullRefreshTable = dsac.Services(), transform.DigisacServices, "channels"
		case src.Platform == config.Digisac && name == "users":
			job.Stream, job.Transform, job.FullRefreshTable = dsac.Users(), transform.DigisacUsers, "agents"
		case src.Platform == config.Digisac && name == "departments":
			job.Stream, job.Transform, job.FullRefreshTable = dsac.Departments(), transform.DigisacDepartments, "departments"
		case src.Platform == config.Digisac && name == "contacts":
			job.Stream, job.Transform = dsac.Contacts(), transform.DigisacContacts
		case src.Platform == config.Digisac && name == "tickets":
			job.Stream, job.Transform = dsac.Tickets(), transform.DigisacTickets
		case src.Platform == config.Digisac && name == "messages":
			job.Stream, job.Transform = dsac.Messages(), transform.DigisacMessages
		case src.Platform == config.Digisac && name == "transcripts":
			opts, err := digisac.NewTranscriptOptions(src.TimeZone, src.TranscriptLinePattern, src.TranscriptTimeLayouts)
			if err != nil {
				return nil, fmt.Errorf("source %q: %w", src.Name, err)
			}
			job.Stream, job.Transform = dsac.Transcripts(opts, src.HasStream("messages")), transform.DigisacTranscriptRecords
		default:
			return nil, fmt.Errorf("source %q: the %s stream of %s is not built yet in this version of syncer; remove it from streams (or the source) to sync the rest", src.Name, name, src.Platform)
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
