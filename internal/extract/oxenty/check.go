package oxenty

import (
	"context"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// check reaches a configured Oxenty source with its API key (syncer
// check): the first page of the sessions list, one session long.
func check(ctx context.Context, src *config.Source, env extract.Env) []extract.CheckResult {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, cc := extract.NewProber(env.ClientConfig(src, logger))
	s, err := New(Config{Client: cc, APIKey: src.APIKey.Reveal(), PageSize: 1, Logger: logger})
	if err != nil {
		return []extract.CheckResult{{Check: "sessions", Credentials: extract.CredentialsUnknown, Err: env.Redactor.Error(err)}}
	}
	return []extract.CheckResult{p.Probe(ctx, "sessions", func(ctx context.Context) error {
		_, err := s.fetch(ctx, 1)
		return err
	})}
}
