package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"syncer/internal/extract"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	ogmmasim "syncer/internal/sim/ogmma"
	"syncer/internal/state"
)

// codes is an extract.Observer that counts the answers it hears.
type codes struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *codes) Request(code string, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[code]++
}
func (c *codes) Retry(extract.RetryReason, time.Duration) {}
func (c *codes) RateLimitWait(time.Duration)              {}

// Options.Observer reaches the client each source's streams use, made
// for that source's platform and name; the batches' commits reach the
// loader's OnCommit.
func TestObserversHearTheRun(t *testing.T) {
	h := newHarness(t, ogmmasim.Config{Seed: 3, ConversationsPerChannel: 2, MessagesPerConversation: 10}, nil)
	heard := &codes{n: map[string]int{}}
	var asked []string
	jobs, err := pipeline.Jobs(&h.src, pipeline.Options{Observer: func(platform, source string) extract.Observer {
		asked = append(asked, platform+"/"+source)
		return heard
	}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var committed int
	h.runner.Loader.OnCommit = func(source, stream string, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if source == "acme-ogmma" && stream == "messages" {
			committed++
		}
	}
	out := schedule.RunAll(context.Background(), h.runner, jobs, 4)
	if len(out) != 1 || out[0].Status != state.StatusSucceeded {
		t.Fatalf("outcomes %+v", out)
	}
	if len(asked) != 1 || asked[0] != "ogmma/acme-ogmma" {
		t.Errorf("observers asked for %q; want one for ogmma/acme-ogmma", asked)
	}
	heard.mu.Lock()
	defer heard.mu.Unlock()
	if heard.n["200"] == 0 || len(heard.n) != 1 {
		t.Errorf("answers heard %v; want only 200s", heard.n)
	}
	mu.Lock()
	defer mu.Unlock()
	if committed == 0 {
		t.Error("OnCommit heard no batch of the run")
	}
}
