package demo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"syncer/internal/dbtest"
)

func TestDemoPrintsItsSummary(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Pool: db.Pool, Messages: 1600, Out: &out, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"First sync:", "messages/s", "Digisac simulator:", "demo-digisac", "Wavy simulator:", "Oxenty simulator:",
		"Wavy posted", "to syncer's webhook handler; all were in the warehouse", "demo-wavy", "A sync with nothing new wrote 0 rows.",
		"Wavy sessions", "inbound and", "Oxenty sessions, and the 2 removed marked deleted", "v_daily_volume", "median_seconds"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// Wavy posted a body twice (the seed says so at this size): the inbox
	// kept both copies, the processor processed every delivery, and the
	// reconciliation inside Run found each message once.
	var kept, distinct, waiting, runs int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT payload), count(*) FILTER (WHERE processed_at IS NULL OR error IS NOT NULL),
		(SELECT count(*) FROM sync_runs WHERE mode = 'webhook' AND status = 'succeeded') FROM webhook_inbox`).Scan(&kept, &distinct, &waiting, &runs); err != nil {
		t.Fatal(err)
	}
	if kept <= distinct || waiting != 0 || runs == 0 {
		t.Errorf("webhook_inbox: %d deliveries of %d bodies, %d not processed or set aside; %d webhook runs succeeded", kept, distinct, waiting, runs)
	}
	// Ogmma's channels carry the names and kind the demo's config gives
	// them (its API names none).
	var names string
	if err := db.Pool.QueryRow(context.Background(), `SELECT string_agg(coalesce(c.name, '-') || '/' || coalesce(c.kind, '-'), ' ' ORDER BY c.name)
		FROM channels c JOIN sources s ON s.id = c.source_id WHERE s.platform = 'ogmma'`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "Financeiro/whatsapp Pós-venda/whatsapp Suporte/whatsapp Vendas/whatsapp" {
		t.Errorf("Ogmma's channels: %s", names)
	}
}

// At 100,000 messages the simulators once dated records after their own
// clock, past the sync's upper bound: the demo announced 29,891 Digisac
// messages and loaded 29,748. Run reconciles the two after every sync.
func TestDemoAddsUpAt100000Messages(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 messages: not with -short")
	}
	t.Parallel()
	db := dbtest.New(t)
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Pool: db.Pool, Messages: 100_000, Out: &out, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "The warehouse holds every record the simulators serve") {
		t.Fatalf("no reconciliation in the summary:\n%s", out.String())
	}
}
