// Package demo runs `syncer demo`: the four platform simulators in
// process, a real sync of their data into PostgreSQL (Wavy's webhooks
// through syncer's own webhook handler and processor), and a short summary
// with two analyst queries. It owns nothing the real sync path depends on.
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
	"syncer/internal/sim"
	wavysim "syncer/internal/sim/wavy"
	"syncer/internal/state"
	"syncer/sql/queries"
)

// Options of a demo run.
type Options struct {
	Pool     *pgxpool.Pool // on a freshly migrated schema
	Messages int           // about how many Ogmma messages to generate, default 20,000
	Out      io.Writer
	Logger   *slog.Logger
	// Progress, when set, hears the runs of every sync (the progress
	// display); nil: none.
	Progress pipeline.ProgressFunc
}

// Run runs the demo and prints its summary to opts.Out.
func Run(ctx context.Context, opts Options) error {
	if opts.Messages <= 0 {
		opts.Messages = 20_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := newFleet(opts.Messages, time.Now().UTC())
	// syncer follows only https links to Wavy's session files, and only
	// to a host in file_hosts: the files are served over https with a
	// certificate made for this run, which the Wavy source's client trusts.
	files, err := wavysim.NewFileHost(f.wv.Files(), "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer files.Close()
	f.wv.SetFileBase(files.URL)
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Ogmma: f.og, Digisac: f.ds, Wavy: f.wv, Oxenty: f.ox}))
	defer srv.Close()
	cfg, err := f.config(srv.URL)
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	var jobs []pipeline.Job
	for i := range cfg.Sources {
		po := pipeline.Options{Logger: opts.Logger}
		if cfg.Sources[i].Platform == config.Wavy {
			po.HTTPClient = files.Client()
		}
		j, err := pipeline.Jobs(&cfg.Sources[i], po)
		if err != nil {
			return err
		}
		jobs = append(jobs, j...)
	}
	store := state.New(opts.Pool, opts.Logger)
	runner := pipeline.NewRunner(store, opts.Logger, cfg.SafetyLag.Std())
	runner.Progress = opts.Progress
	hooks, err := startIntake(ctx, store, opts.Logger, cfg.Sources)
	if err != nil {
		return err
	}
	defer hooks.Close()
	f.posted = wavysim.NewSender(wavysim.SenderConfig{
		URL:    hooks.URL(wavySource),
		Token:  wavyWebhookSecret,
		Client: hooks.Client(),
		// Wavy waits 200 ms for the 200 before it posts again. A slower
		// answer is harmless to the rows (the copy it keeps is a
		// duplicate), but it might be kept after the demo saw the inbox
		// empty: the demo waits longer, for a busy laptop.
		Timeout:        5 * time.Second,
		DuplicateShare: 0.1,
		Seed:           2024,
	})

	fmt.Fprintf(opts.Out, "Ogmma simulator: %d channels, %d conversations, %d messages\n",
		channels, f.conversations(), f.og.MessageCount())
	fmt.Fprintf(opts.Out, "Digisac simulator: %d connections, %d contacts, %d tickets, %d messages\n",
		f.ds.Count("services"), f.ds.Count("contacts"), f.ds.Count("tickets"), f.ds.Count("messages"))
	fmt.Fprintf(opts.Out, "Wavy simulator: %d open sessions (a CSV file behind an https link); MO messages and status callbacks come as webhooks\n",
		len(f.wv.OpenSessions()))
	fmt.Fprintf(opts.Out, "Oxenty simulator: %d sessions\n", f.ox.Count())
	start := time.Now()
	first := f.sync(ctx, runner, jobs, cfg.Concurrency)
	took := time.Since(start)
	if err := failed(first); err != nil {
		return err
	}
	if err := f.reconcile(ctx, store); err != nil {
		return err
	}
	counts, _, err := store.TableCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nFirst sync: %s, %.0f messages/s\n", took.Round(time.Millisecond), float64(counts["messages"])/took.Seconds())
	// Capped: the Wavy simulator looks its outbound messages over for
	// each status callback.
	mo := min(max(20, opts.Messages/20), 10_000)
	round, err := f.postWavy(ctx, hooks, mo, mo/2, wavyLead*2/3)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "%s\n\n", round)
	if err := f.reconcile(ctx, store); err != nil {
		return err
	}
	counts, order, err := store.TableCounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(opts.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\t")
	for _, name := range order {
		fmt.Fprintf(tw, "%s\t%d\t\n", name, counts[name])
	}
	tw.Flush()

	added := len(f.og.AddMessages(300)) + len(f.ds.Create("messages", 100))
	touched := len(f.og.Touch(100)) + len(f.ds.Edit("tickets", 20))
	opened := len(f.wv.AddSessions(min(max(5, opts.Messages/1000), 500)))
	// Removed before any is added, so that each removed session is one
	// the warehouse holds and must mark deleted.
	f.removed = append(f.removed, f.ox.Remove(2)...)
	connected := len(f.ox.Add(3))
	moved := len(f.ox.SetStatus(4, ""))
	start = time.Now()
	second := f.sync(ctx, runner, jobs, cfg.Concurrency)
	if err := failed(second); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\nThe simulators received %d new messages, %d changed records, %d new sessions (%d Wavy, %d Oxenty) and %d Oxenty sessions removed; the next sync wrote %d rows in %s.\n",
		added, touched+moved, opened+connected, opened, connected, len(f.removed), written(second), time.Since(start).Round(time.Millisecond))
	if err := f.reconcile(ctx, store); err != nil {
		return err
	}
	round, err = f.postWavy(ctx, hooks, mo/10, mo/5, wavyLead/3)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "%s\n", round)
	if err := f.reconcile(ctx, store); err != nil {
		return err
	}
	third := f.sync(ctx, runner, jobs, cfg.Concurrency)
	if err := failed(third); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "A sync with nothing new wrote %d rows.\n", written(third))
	if err := f.reconcile(ctx, store); err != nil {
		return err
	}
	served, err := f.served()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "The warehouse holds every record the simulators serve: %s.\n", served)

	fmt.Fprintln(opts.Out, "\nMessages per local day, last 7 days (v_daily_volume):")
	if err := printQuery(ctx, opts, "demo_daily_volume"); err != nil {
		return err
	}
	fmt.Fprintln(opts.Out, "\nFirst human response per channel, in seconds (v_conversation_metrics):")
	return printQuery(ctx, opts, "demo_first_response_by_channel")
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
