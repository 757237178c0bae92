package load_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"syncer/internal/load"
	"syncer/internal/transform"
)

// OnCommit hears each batch committed, with its stream and time, and not
// a batch that failed.
func TestOnCommitHearsCommittedBatches(t *testing.T) {
	_, l, run := setup(t)
	type heard struct {
		source, stream string
		took           time.Duration
	}
	var mu sync.Mutex
	var got []heard
	l.OnCommit = func(source, stream string, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, heard{source, stream, took})
	}
	b := &transform.Batch{Messages: []transform.Message{msg("m1", t0, "Olá")}}
	if _, err := l.Commit(t.Context(), run, load.Commit{Batch: b, Pages: 1, RowsRead: 1}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Commit(cancelled, run, load.Commit{Batch: b, Pages: 1, RowsRead: 1}); err == nil {
		t.Fatal("a commit with a cancelled context succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].source != "acme-ogmma" || got[0].stream != "messages" || got[0].took <= 0 {
		t.Fatalf("OnCommit heard %+v; want the one committed batch of acme-ogmma messages", got)
	}
}
