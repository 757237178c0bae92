package webhook

import (
	"context"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/state"
)

// Sources are the configured sources that take webhooks, for a Handler:
// those with a webhook_secret whose platform reads webhooks in this
// version (the others are logged once, at ERROR). Each is registered in
// the warehouse now, so that a delivery is kept at once.
func Sources(ctx context.Context, store *state.Store, logger *slog.Logger, sources []config.Source) (map[string]Source, error) {
	out := map[string]Source{}
	for i := range sources {
		src := &sources[i]
		if src.WebhookSecret == "" {
			continue
		}
		if p, ok := extract.Lookup(src.Platform); !ok || p.Webhook == nil {
			logger.ErrorContext(ctx, "webhook_secret is set, but this version of syncer takes no webhooks from the platform; POST /webhooks/"+src.Name+" answers 404",
				slog.String("source", src.Name), slog.String("platform", src.Platform))
			continue
		}
		s, err := store.Source(ctx, src.Name, src.Platform)
		if err != nil {
			return nil, err
		}
		out[src.Name] = Source{Source: s, Secret: src.WebhookSecret.Reveal()}
	}
	return out, nil
}
