package ogmma

import (
	"context"
	"log/slog"
	"net/url"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// check reaches a configured Ogmma source with its API key (syncer
// check): the newest message (limit=1) of its first configured
// conversation, or, when its channels only discover their conversations,
// the first such channel's conversation list.
func check(ctx context.Context, src *config.Source, env extract.Env) []extract.CheckResult {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, cc := extract.NewProber(env.ClientConfig(src, logger))
	client, err := extract.NewClient(cc)
	if err != nil {
		return []extract.CheckResult{{Check: "messages", Credentials: extract.CredentialsUnknown, Err: env.Redactor.Error(err)}}
	}
	s := &Messages{cfg: Config{Client: client, APIKey: src.APIKey.Reveal()}}
	for _, ch := range src.Channels {
		if len(ch.Conversations) == 0 {
			continue
		}
		path := "/v1/channels/" + url.PathEscape(ch.ID) + "/conversations/" + url.PathEscape(ch.Conversations[0])
		return []extract.CheckResult{p.Probe(ctx, "messages", func(ctx context.Context) error {
			_, err := s.read(ctx, path, 1)
			return err
		})}
	}
	for _, ch := range src.Channels {
		if !ch.Discover {
			continue
		}
		s.cfg.Channels = []Channel{{ID: ch.ID, Discover: true}}
		return []extract.CheckResult{p.Probe(ctx, "conversations", func(ctx context.Context) error {
			_, err := s.conversations(ctx)
			return err
		})}
	}
	return nil
}
