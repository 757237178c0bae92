package oxenty

import (
	"fmt"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// Platform is Oxenty's name in the config and the registry.
const Platform = "oxenty"

func init() {
	extract.Register(extract.Platform{
		Name:    Platform,
		Streams: []extract.StreamSpec{{Name: "sessions", Mode: extract.ModeFullRefresh, Table: "channels"}},
		Open:    open,
		Check:   check,
	})
}

// open builds the streams of a configured Oxenty source.
func open(src *config.Source, streams []string, env extract.Env) ([]extract.Stream, error) {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var out []extract.Stream
	for _, name := range streams {
		if name != "sessions" {
			return nil, fmt.Errorf("oxenty has no %s stream", name)
		}
		s, err := New(Config{
			Client:   env.ClientConfig(src, logger),
			APIKey:   src.APIKey.Reveal(),
			PageSize: src.PageSize,
			Logger:   logger.With(slog.String("stream", name)),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
