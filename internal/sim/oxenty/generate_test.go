package oxentysim

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"syncer/internal/sim/clock"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGenerateIsSeeded(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return testNow }
	a := New(Config{Seed: 8, Sessions: 30, Now: now}).Sessions()
	b := New(Config{Seed: 8, Sessions: 30, Now: now}).Sessions()
	c := New(Config{Seed: 9, Sessions: 30, Now: now}).Sessions()
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different sessions")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("two seeds gave the same sessions")
	}
	names := map[string]bool{}
	for _, s := range a {
		if !uuidRE.MatchString(s.ID) {
			t.Errorf("id %q is not a version 4 UUID", s.ID)
		}
		if names[s.Name] {
			t.Errorf("name %q twice", s.Name)
		}
		names[s.Name] = true
		paired := s.Status == StatusConnected || s.Status == StatusDisconnected
		if paired && (s.Phone == nil || s.ConnectedAt == nil) {
			t.Errorf("%s session without phone or connectedAt: %+v", s.Status, s)
		}
		if s.Status == StatusQR && (s.Phone != nil || s.ConnectedAt != nil) {
			t.Errorf("qr session already paired: %+v", s)
		}
	}
}

func TestBadShare(t *testing.T) {
	t.Parallel()
	ss := New(Config{Seed: 10, Sessions: 40, BadShare: 0.5, Now: func() time.Time { return testNow }}).Sessions()
	bad := 0
	for _, s := range ss {
		_, errC := time.Parse(time.RFC3339Nano, s.CreatedAt)
		errP := error(nil)
		if s.ConnectedAt != nil {
			_, errP = time.Parse(time.RFC3339Nano, *s.ConnectedAt)
		}
		if errC != nil || errP != nil {
			bad++
		}
	}
	if bad < 10 || bad > 30 {
		t.Errorf("%d malformed sessions of 40 at BadShare 0.5", bad)
	}
}

// Nothing is dated after the clock: not the initial sessions, not those
// Add makes, not the connections SetStatus makes.
func TestNothingAfterTheClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start.Add(10 * 24 * time.Hour))
	o := New(Config{Seed: 11, Sessions: 50, Start: start, Now: clk.Now})
	if n := o.Count(); n < 5 || n > 15 {
		t.Fatalf("%d of 50 sessions a day apart exist 10 days after the start", n)
	}
	check := func() {
		t.Helper()
		for _, s := range o.Sessions() {
			for _, ts := range []*string{&s.CreatedAt, s.ConnectedAt} {
				if ts == nil {
					continue
				}
				at, err := time.Parse(time.RFC3339Nano, *ts)
				if err != nil {
					t.Fatalf("%q is not a time", *ts)
				}
				if at.After(clk.Now()) {
					t.Fatalf("session %s dated %s, after the clock %s", s.ID, *ts, clk.Now())
				}
			}
		}
	}
	check()
	o.Add(3)
	o.SetStatus(o.Count(), StatusConnected)
	check()
	clk.Advance(time.Minute)
	o.SetStatus(o.Count(), "")
	check()
}
