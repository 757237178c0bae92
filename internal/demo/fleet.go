package demo

import (
	"context"
	"fmt"
	"time"

	"syncer/internal/config"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/sim/clock"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
)

// The demo's sources.
const (
	ogmmaSource   = "demo-ogmma"
	digisacSource = "demo-digisac"
	wavySource    = "demo-wavy"
	oxentySource  = "demo-oxenty"
)

// Ogmma's shape: channels of conversations of perConversation messages.
const channels, perConversation = 4, 200

// wavyLead is how far behind now Wavy's clock starts; the demo's webhooks
// bring it up to now.
const wavyLead = 3 * time.Hour

// wavyWebhookSecret is the webhook_secret of the demo's Wavy source, and
// the token Wavy's webhooks are posted with.
const wavyWebhookSecret = "demo-wavy-webhook-secret"

// fleet is the demo's four simulators, and what the demo did to them that
// the warehouse must show.
type fleet struct {
	og *ogmmasim.Simulator
	ds *digisacsim.Simulator
	wv *wavysim.Simulator
	ox *oxentysim.Simulator
	// wavyClock is the Wavy simulator's clock; listed are the sessions
	// its file listed at a sync.
	wavyClock *clock.Manual
	listed    map[wavysim.Session]bool
	// posted posts Wavy's webhooks and records each delivery; set once
	// the webhook handler is up.
	posted *wavysim.Sender
	// removed are the Oxenty sessions removed, which the warehouse must
	// keep marked deleted.
	removed []string
}

// newFleet builds the simulators, sized for about messages Ogmma
// messages, their data dated up to now.
func newFleet(messages int, now time.Time) *fleet {
	span := 30 * 24 * time.Hour
	tickets := max(50, messages/40)
	// Wavy runs on a clock of its own, which moves only while Wavy posts
	// webhooks: from wavyLead before now, up to now. Its file lists the
	// sessions opened in the 24 hours before that clock, so some sessions
	// leave it during the demo; the warehouse keeps them.
	wclock := clock.NewManual(now.Add(-wavyLead))
	return &fleet{
		og: ogmmasim.New(ogmmasim.Config{
			Seed:                    2024,
			Channels:                channels,
			ConversationsPerChannel: max(1, messages/(channels*perConversation)),
			MessagesPerConversation: perConversation,
			Start:                   now.Add(-2 * span),
			Step:                    span / perConversation,
			Now:                     time.Now,
		}),
		ds: digisacsim.New(digisacsim.Config{
			Seed:              2024,
			Contacts:          tickets * 3 / 5,
			Tickets:           tickets,
			MessagesPerTicket: 12,
			Start:             now.Add(-time.Duration(tickets) * time.Hour),
			TicketEvery:       time.Hour,
			Now:               time.Now,
		}),
		// Capped: the Wavy simulator looks its users over for each new one.
		wv:        wavysim.New(wavysim.Config{Seed: 2024, Sessions: min(max(20, messages/100), 5_000), Now: wclock.Now}),
		ox:        oxentysim.New(oxentysim.Config{Seed: 2024, Sessions: min(max(5, messages/1000), 1_000), Now: time.Now}),
		wavyClock: wclock,
		listed:    map[wavysim.Session]bool{},
	}
}

// config is the config of the demo's sources, served at base.
func (f *fleet) config(base string) (config.Config, error) {
	og := config.Source{
		Name:        ogmmaSource,
		Platform:    config.Ogmma,
		BaseURL:     base + "/ogmma",
		APIKey:      config.Secret(f.og.APIKey()),
		RateLimit:   1000,
		Concurrency: 4,
	}
	for i, ch := range f.og.Channels() {
		og.Channels = append(og.Channels, config.OgmmaChannel{ID: ch.ID, Name: OgmmaChannelName(i), Kind: "whatsapp", Conversations: ch.Conversations})
	}
	cfg := config.Config{Sources: []config.Source{og, {
		Name:      digisacSource,
		Platform:  config.Digisac,
		BaseURL:   base + "/digisac",
		Token:     config.Secret(f.ds.Token()),
		RateLimit: 1000,
	}, {
		Name:          wavySource,
		Platform:      config.Wavy,
		BaseURL:       base + "/wavy",
		Username:      f.wv.Username(),
		Token:         config.Secret(f.wv.Token()),
		CustomerID:    f.wv.CustomerID(),
		FileHosts:     []string{"127.0.0.1"}, // the file host's
		WebhookSecret: wavyWebhookSecret,
		RateLimit:     1000,
	}, {
		Name:      oxentySource,
		Platform:  config.Oxenty,
		BaseURL:   base + "/oxenty",
		APIKey:    config.Secret(f.ox.APIKey()),
		RateLimit: 1000,
	}}}
	cfg.ApplyDefaults()
	return cfg, cfg.Validate()
}

// conversations counts the Ogmma simulator's conversations.
func (f *fleet) conversations() int {
	n := 0
	for _, ch := range f.og.Channels() {
		n += len(ch.Conversations)
	}
	return n
}

// sync runs every job once. Wavy's clock stands still meanwhile, so the
// file the sessions stream reads lists the sessions OpenSessions gives
// before the sync.
func (f *fleet) sync(ctx context.Context, runner *pipeline.Runner, jobs []pipeline.Job, concurrency int) []pipeline.Outcome {
	for _, s := range f.wv.OpenSessions() {
		f.listed[s] = true
	}
	return schedule.RunAll(ctx, runner, jobs, concurrency)
}

// OgmmaChannelName is the name the demo's config gives the simulated
// Ogmma channel i (Ogmma's API names no channel; an operator's config
// does).
func OgmmaChannelName(i int) string {
	names := []string{"Vendas", "Suporte", "Financeiro", "Pós-venda"}
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("Canal %d", i+1)
}
