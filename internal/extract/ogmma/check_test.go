package ogmma

import (
	"net/http/httptest"
	"testing"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/redact"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// TestCheckAsksForOneMessage: a check asks for the newest message of the
// first configured conversation; a source whose channels only discover
// their conversations asks for the first one's list instead.
func TestCheckAsksForOneMessage(t *testing.T) {
	t.Parallel()
	og := ogmmasim.New(ogmmasim.Config{Seed: 7, Channels: 2, ConversationsPerChannel: 2})
	srv := httptest.NewServer(sim.NewServer(og))
	t.Cleanup(srv.Close)
	chs := og.Channels()
	src := &config.Source{Name: "acme-ogmma", Platform: Platform, BaseURL: srv.URL + "/ogmma", APIKey: config.Secret(og.APIKey()),
		Channels: []config.OgmmaChannel{{ID: chs[0].ID, Discover: true}, {ID: chs[1].ID, Conversations: chs[1].Conversations}}}
	env := extract.Env{Redactor: redact.New(og.APIKey())}

	results := check(t.Context(), src, env)
	if len(results) != 1 || results[0].Check != "messages" || results[0].Failed() || results[0].Credentials != extract.CredentialsAccepted {
		t.Fatalf("check: %+v", results)
	}
	src.Channels = src.Channels[:1]
	results = check(t.Context(), src, env)
	if len(results) != 1 || results[0].Check != "conversations" || results[0].Failed() {
		t.Fatalf("check of a discovering channel: %+v", results)
	}
	if s := og.Stats(); s.Requests != 2 {
		t.Errorf("%d requests, want 2", s.Requests)
	}
}
