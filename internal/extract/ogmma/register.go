package ogmma

import (
	"fmt"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// Platform is Ogmma's name in the config and the registry.
const Platform = "ogmma"

func init() {
	extract.Register(extract.Platform{
		Name:    Platform,
		Streams: []extract.StreamSpec{{Name: "messages", Mode: extract.ModeIncremental}},
		Open:    open,
		Check:   check,
	})
}

// open builds the streams of a configured Ogmma source.
func open(src *config.Source, streams []string, env extract.Env) ([]extract.Stream, error) {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := extract.NewClient(env.ClientConfig(src, logger))
	if err != nil {
		return nil, err
	}
	var out []extract.Stream
	for _, name := range streams {
		if name != "messages" {
			return nil, fmt.Errorf("ogmma has no %s stream", name)
		}
		channels := make([]Channel, len(src.Channels))
		for i, c := range src.Channels {
			channels[i] = Channel{ID: c.ID, Name: c.Name, Kind: c.Kind, Conversations: c.Conversations, Discover: c.Discover}
		}
		s, err := NewMessages(Config{
			Client:      client,
			APIKey:      src.APIKey.Reveal(),
			Channels:    channels,
			PageSize:    src.PageSize,
			Concurrency: src.Concurrency,
			Logger:      logger.With(slog.String("stream", name)),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
