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
	for _, want := range []string{"First sync:", "messages/s", "Digisac simulator:", "demo-digisac", "A sync with nothing new wrote 0 rows.", "daily_message_volume", "median_seconds"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
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
