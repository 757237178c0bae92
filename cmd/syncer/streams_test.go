package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
)

// TestStreamsCatalog: syncer streams lists every stream of each source's
// platform (those not enabled too), how it reads, its schedule, and after
// a sync its cursor and last run, as a table and as JSON.
func TestStreamsCatalog(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ds := digisacsim.New(digisacsim.Config{Seed: 81, Contacts: 10, Tickets: 20, MessagesPerTicket: 3})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n"+
		"    webhook_secret: hook-secret-81\n    schedules: {messages: '@every 1m'}\n", srv.URL, ds.Token()))
	if code, out, errs := cli(t, "sync", "--config", cfg, "--database-url", db.URL, "--stream", "messages", "--log-level", "error"); code != exitOK {
		t.Fatalf("sync: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := cli(t, "streams", "--config", cfg, "--database-url", db.URL)
	if code != exitOK {
		t.Fatalf("streams: %d\n%s", code, errs)
	}
	for _, want := range []string{"services  full refresh → channels", "messages  incremental", "@every 1m", "succeeded",
		"transcripts  export", "off (not in streams)", "webhooks  webhook", "as deliveries come"} {
		if !strings.Contains(strings.Join(strings.Fields(out), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("streams lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = cli(t, "streams", "--json", "--source", "acme-digisac", "--config", cfg, "--database-url", db.URL)
	var got struct {
		Streams []catalogEntry `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil {
		t.Fatalf("streams --json: %d %v\n%s", code, err, out)
	}
	byName := map[string]catalogEntry{}
	for _, c := range got.Streams {
		byName[c.Stream] = c
	}
	if m := byName["messages"]; m.Mode != "incremental" || m.Schedule != "@every 1m" || m.Cursor == nil || m.LastRun == nil || !m.Enabled {
		t.Errorf("messages: %+v", m)
	}
	if u := byName["users"]; u.Mode != "full refresh" || u.Table != "agents" || u.Schedule != "@every 5m" || u.LastRun != nil {
		t.Errorf("users: %+v", u)
	}
	if tr := byName["transcripts"]; tr.Enabled {
		t.Errorf("transcripts is listed as enabled: %+v", tr)
	}
	if w := byName["webhooks"]; w.Webhooks == nil || w.Webhooks.Path != "/webhooks/acme-digisac" {
		t.Errorf("webhooks: %+v", w)
	}
	if strings.Contains(out, "hook-secret-81") {
		t.Error("the webhook secret is printed")
	}
	if code, _, errs := cli(t, "streams", "--source", "nope", "--config", cfg, "--database-url", db.URL); code != exitUsage || !strings.Contains(errs, "acme-digisac") {
		t.Errorf("unknown source: %d %s", code, errs)
	}
}
