package fleet

import (
	"testing"
	"time"

	"syncer/internal/config"
)

func TestChunksCoverTheWindowOnce(t *testing.T) {
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	chunks, err := Chunks("acme", "messages", since, until, 732*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 12 {
		t.Fatalf("%d chunks, want 12", len(chunks))
	}
	at := since
	for i, c := range chunks {
		if !c.Since.Equal(at) || !c.Until.After(c.Since) || c.Chunk != i+1 || c.Chunks != 12 || c.Backfill != chunks[0].Backfill {
			t.Fatalf("chunk %d: %+v (want it to start at %s)", i, c, at)
		}
		at = c.Until
	}
	if !at.Equal(until) {
		t.Fatalf("chunks end at %s, want %s", at, until)
	}
	// A window that does not divide evenly: the last chunk is shorter.
	chunks, err = Chunks("acme", "messages", since, since.Add(50*time.Hour), 24*time.Hour)
	if err != nil || len(chunks) != 3 || chunks[2].Until.Sub(chunks[2].Since) != 2*time.Hour {
		t.Fatalf("50h in 24h chunks: %+v, %v", chunks, err)
	}
	for _, bad := range []struct {
		since, until time.Time
		chunk        time.Duration
	}{{until, since, time.Hour}, {since, since, time.Hour}, {since, until, 0}, {since, until, time.Second},
		{time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), until, 720 * time.Hour}} { // a window past time.Duration's range
		if _, err := Chunks("acme", "messages", bad.since, bad.until, bad.chunk); err == nil {
			t.Errorf("Chunks(%s, %s, %s) gave no error", bad.since, bad.until, bad.chunk)
		}
	}
}

func TestJitterShiftsEachKeyBySomethingOfItsOwn(t *testing.T) {
	sched, err := config.ParseSchedule("@every 5m")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	offsets := map[time.Duration]bool{}
	for _, key := range []string{"a/messages", "b/messages", "c/messages", "d/tickets", "e/users"} {
		j := Jitter(sched, key, now)
		first := j.Next(now)
		// @every 5m ticks at whole 5 minutes plus the key's offset.
		off := first.Sub(now.Truncate(5 * time.Minute))
		if off <= 0 || off > 5*time.Minute+30*time.Second || off%(5*time.Minute) >= 30*time.Second {
			t.Errorf("%s: first tick %s, want within 30s after a whole 5 minutes", key, first)
		}
		off %= 5 * time.Minute
		if again := Jitter(sched, key, now).Next(now); !again.Equal(first) {
			t.Errorf("%s: jitter changed between calls: %s, %s", key, first, again)
		}
		// Ticks stay one interval apart.
		if next := j.Next(first); next.Sub(first) != 5*time.Minute {
			t.Errorf("%s: ticks %s then %s, want 5m apart", key, first, next)
		}
		offsets[off] = true
	}
	if len(offsets) < 3 {
		t.Errorf("five keys got %d different offsets; want them spread", len(offsets))
	}
	// A cron spec keeps its minute: the jitter is a tenth of the interval.
	hourly, _ := config.ParseSchedule("*/10 * * * *")
	next := Jitter(hourly, "x", now).Next(now)
	if off := next.Sub(next.Truncate(10 * time.Minute)); !next.After(now) || off >= time.Minute {
		t.Errorf("*/10: next tick %s after %s, want under a minute past a tenth minute", next, now)
	}
}
