// Package platforms knows which streams each platform has and wires each
// one: the source's HTTP client, its extractor and its transform. It holds
// no logic of its own beyond choosing; the platforms' stories live in
// extract/<platform> and transform/<platform>.go.
package platforms

import (
	"fmt"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/extract/ogmma"
	"syncer/internal/pipeline"
	"syncer/internal/transform"
)

// Jobs returns one job per selected stream of src. streams filters the
// source's configured streams (nil: all of them); req is copied into every
// job. secrets are all the credentials to redact, not just this source's.
func Jobs(src *config.Source, streams []string, req extract.Request, secrets []string, logger *slog.Logger) ([]pipeline.Job, error) {
	logger = logger.With(slog.String("source", src.Name))
	client, err := extract.NewClient(extract.ClientConfig{
		Source:    src.Name,
		BaseURL:   src.BaseURL,
		Timeout:   src.Timeout.Std(),
		RateLimit: src.RateLimit,
		Secrets:   secrets,
		Logger:    logger,
	})
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
