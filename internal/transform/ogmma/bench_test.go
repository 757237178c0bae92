package ogmma

import (
	"encoding/json"
	"testing"

	ogmmasim "syncer/internal/sim/ogmma"
)

// BenchmarkMessages maps one full API page (500 messages, as the simulator
// renders them): the transform's share of a backfill.
func BenchmarkMessages(b *testing.B) {
	og := ogmmasim.New(ogmmasim.Config{Seed: 1, Channels: 1, ConversationsPerChannel: 1, MessagesPerConversation: 500})
	var page []json.RawMessage
	for _, m := range og.Messages() {
		raw, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		page = append(page, raw)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if batch := Messages(page); len(batch.Messages) != len(page) {
			b.Fatalf("%d messages from %d records", len(batch.Messages), len(page))
		}
	}
	b.ReportMetric(float64(b.N*len(page))/b.Elapsed().Seconds(), "records/s")
}
