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
