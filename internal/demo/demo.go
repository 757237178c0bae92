// Package demo runs `syncer demo`: the platform simulators in process, a
// real sync of their data into PostgreSQL, and a short summary with two
// analyst queries. It owns nothing the real sync path depends on.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/config"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
	"syncer/internal/state"
	"syncer/sql/queries"
)

// Options of a demo run.
type Options struct {
	Pool     *pgxpool.Pool // on a freshly migrated schema
	Messages int           // about how many Ogmma messages to generate, default 20,000
	Out      io.Writer
	Logger   *slog.Logger
}

// Run runs the demo and prints its summary to opts.Out.
func Run(ctx context.Context, opts Options) error {
	if opts.Messages <= 0 {
		opts.Messages = 20_000
	}
	const channels, perConversation = 4, 200
	convsPerChannel := max(1, opts.Messages/(channels*perConversation))
	now := time.Now().UTC()
	span := 30 * 24 * time.Hour
	og := ogmmasim.New(ogmmasim.Config{
		Seed:                    2024,
		Channels:                channels,
		ConversationsPerChannel: convsPerChannel,
		MessagesPerConversation: perConversation,
		Start:                   now.Add(-2 * span),
		Step:                    span / perConversation,
		Now:                     time.Now,
	})
	tickets := max(50, opts.Messages/40)
	ds := digisacsim.New(digisacsim.Config{
		Seed:              2024,
		Contacts:          tickets * 3 / 5,
		Tickets:           tickets,
		MessagesPerTicket: 12,
		Start:             now.Add(-time.Duration(tickets) * time.Hour),
		TicketEvery:       time.Hour,
		Now:               time.Now,
	})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Ogmma: og, Digisac: ds}))
	defer srv.Close()

	src := config.Source{
		Name:        "demo-ogmma",
		Platform:    config.Ogmma,
		BaseURL:     srv.URL + "/ogmma",
		APIKey:      config.Secret(og.APIKey()),
		RateLimit:   1000,
		Concurrency: 4,
	}
	conversations := 0
	for _, ch := range og.Channels() {
		src.Channels = append(src.Channels, config.OgmmaChannel{ID: ch.ID, Conversations: ch.Conversations})
		conversations += len(ch.Conversations)
	}
	dsrc := config.Source{
		Name:      "demo-digisac",
		Platform:  config.Digisac,
		BaseURL:   srv.URL + "/digisac",
		Token:     config.Secret(ds.Token()),
		RateLimit: 1000,
	}
	cfg := config.Config{Sources: []config.Source{src, dsrc}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	var jobs []pipeline.Job
	for i := range cfg.Sources {
		j, err := pipeline.Jobs(&cfg.Sources[i], pipeline.Options{Logger: opts.Logger})
		if err != nil {
			return err
		}
		jobs = append(jobs, j...)
	}
	store := state.New(opts.Pool, opts.Logger)
	runner := pipeline.NewRunner(store, opts.Logger, cfg.SafetyLag.Std())

	fmt.Fprintf(opts.Out, "Ogmma simulator: %d channels, %d conversations, %d messages\n",
		channels, conversations, og.MessageCount())
	fmt.Fprintf(opts.Out, "Digisac simulator: %d connections, %d contacts, %d tickets, %d messages\n",
		ds.Count("services"), ds.Count("contacts"), ds.Count("tickets"), ds.Count("messages"))
	start := time.Now()
	first := schedule.RunAll(ctx, runner, jobs, cfg.Concurrency)
	took := time.Since(start)
	if err := failed(first); err != nil {
		return err
	}
	if err := reconcile(ctx, store, og, ds); err != nil {
		return err
	}
	counts, order, err := store.TableCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nFirst sync: %s, %.0f messages/s\n\n", took.Round(time.Millisecond), float64(counts["messages"])/took.Seconds())
	tw := tabwriter.NewWriter(opts.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\t")
	for _, name := range order {
		fmt.Fprintf(tw, "%s\t%d\t\n", name, counts[name])
	}
	tw.Flush()

	added := len(og.AddMessages(300)) + len(ds.Create("messages", 100))
	touched := len(og.Touch(100)) + len(ds.Edit("tickets", 20))
	start = time.Now()
	second := schedule.RunAll(ctx, runner, jobs, cfg.Concurrency)
	if err := failed(second); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nThe simulators received %d new messages and %d changed records; the next sync wrote %d rows in %s.\n",
		added, touched, written(second), time.Since(start).Round(time.Millisecond))
	if err := reconcile(ctx, store, og, ds); err != nil {
		return err
	}
	third := schedule.RunAll(ctx, runner, jobs, cfg.Concurrency)
	if err := failed(third); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "A sync with nothing new wrote %d rows.\n", written(third))
	if err := reconcile(ctx, store, og, ds); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "The warehouse holds every record the simulators serve: %d Ogmma messages; %d Digisac messages, %d tickets and %d contacts.\n",
		og.MessageCount(), ds.Count("messages"), ds.Count("tickets"), ds.Count("contacts"))

	fmt.Fprintln(opts.Out, "\nMessages per day, last 7 days (daily_message_volume):")
	if err := printQuery(ctx, opts, "demo_daily_volume"); err != nil {
		return err
	}
	fmt.Fprintln(opts.Out, "\nFirst human response per channel, in seconds (conversation_first_response):")
	return printQuery(ctx, opts, "demo_first_response_by_channel")
}

// reconcile checks that the warehouse holds as many records of each
// source as its simulator serves, so that the numbers the demo announces
// are the numbers it loads.
func reconcile(ctx context.Context, store *state.Store, og *ogmmasim.Simulator, ds *digisacsim.Simulator) error {
	got, err := store.CountsBySource(ctx)
	if err != nil {
		return err
	}
	convs := 0
	for _, ch := range og.Channels() {
		convs += len(ch.Conversations)
	}
	for _, c := range []struct {
		what      string
		want, got int64
	}{
		{"demo-ogmma messages", int64(og.MessageCount()), got["demo-ogmma"].Messages},
		{"demo-ogmma conversations", int64(convs), got["demo-ogmma"].Conversations},
		{"demo-digisac messages", int64(ds.Count("messages")), got["demo-digisac"].Messages},
		{"demo-digisac tickets", int64(ds.Count("tickets")), got["demo-digisac"].Conversations},
		{"demo-digisac contacts", int64(ds.Count("contacts")), got["demo-digisac"].Contacts},
	} {
		if c.want != c.got {
			return fmt.Errorf("the demo's numbers do not add up: the simulator serves %d %s, the warehouse holds %d", c.want, c.what, c.got)
		}
	}
	return nil
}

func failed(outcomes []pipeline.Outcome) error {
	for _, o := range outcomes {
		if o.Status != state.StatusSucceeded {
			return fmt.Errorf("demo sync of %s/%s ended %s: %w", o.Source, o.Stream, o.Status, o.Err)
		}
	}
	return nil
}

func written(outcomes []pipeline.Outcome) int64 {
	var n int64
	for _, o := range outcomes {
		n += o.Totals.RowsWritten
	}
	return n
}

func printQuery(ctx context.Context, opts Options, name string) error {
	rows, err := opts.Pool.Query(ctx, queries.Get(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(opts.Out, 0, 0, 2, ' ', 0)
	for i, f := range rows.FieldDescriptions() {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, f.Name)
	}
	fmt.Fprintln(tw)
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, v := range vals {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cell(v))
		}
		fmt.Fprintln(tw)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case time.Time:
		return x.Format("2006-01-02")
	case float64:
		return fmt.Sprintf("%.0f", x)
	default:
		return fmt.Sprint(x)
	}
}
