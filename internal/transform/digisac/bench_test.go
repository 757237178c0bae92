package digisac

import (
	"testing"

	digisacsim "syncer/internal/sim/digisac"
)

// BenchmarkMessages maps 500 messages of the API as the simulator renders
// them: the transform's share of a Digisac backfill.
func BenchmarkMessages(b *testing.B) {
	ds := digisacsim.New(digisacsim.Config{Seed: 1, Tickets: 60, MessagesPerTicket: 12})
	page := ds.Records("messages")[:500]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if batch := Messages(page); len(batch.Messages)+len(batch.Rejections) < len(page) {
			b.Fatalf("%d messages from %d records", len(batch.Messages), len(page))
		}
	}
	b.ReportMetric(float64(b.N*len(page))/b.Elapsed().Seconds(), "records/s")
}
