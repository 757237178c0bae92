package wavy

import (
	"strings"
	"testing"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/redact"
)

// TestCheckAsksForTheLinkOnly: a check asks GET /v1/session with the
// source's account, never downloads the file, and says when the link is
// one a sync would refuse while the credentials were accepted; a source
// that syncs no sessions has nothing to check, and wrong credentials are
// refused.
func TestCheckAsksForTheLinkOnly(t *testing.T) {
	t.Parallel()
	fw := newFakeWavy(t, "origem;session_created_at\n")
	env := extract.Env{Redactor: redact.New(testToken), HTTPClient: fw.files.Client()}
	withStreams := func(s *config.Source) { s.Streams = []string{"sessions"}; s.SubAccountID = "1291" }

	results := check(t.Context(), fw.source(withStreams), env)
	if len(results) != 1 || results[0].Check != "session link" || results[0].Failed() || results[0].Credentials != extract.CredentialsAccepted {
		t.Fatalf("check: %+v", results)
	}

	elsewhere := fw.source(func(s *config.Source) { withStreams(s); s.FileHosts = []string{"chatclub-cdn.wavy.global"} })
	results = check(t.Context(), elsewhere, env)
	if r := results[0]; !r.Failed() || !r.Reachable || r.Credentials != extract.CredentialsAccepted || r.Err == nil ||
		!strings.Contains(r.Err.Error(), "not in file_hosts") || strings.Contains(r.Err.Error(), "sig=abc") {
		t.Errorf("check of a link to a host not in file_hosts: %+v", r)
	}

	wrong := fw.source(func(s *config.Source) { withStreams(s); s.Token = "wavy-wrong-token-987654321" })
	results = check(t.Context(), wrong, extract.Env{Redactor: redact.New("wavy-wrong-token-987654321")})
	if r := results[0]; !r.Failed() || r.Credentials != extract.CredentialsRefused || strings.Contains(r.Err.Error(), "wavy-wrong-token") {
		t.Errorf("check with a wrong token: %+v", r)
	}

	if results := check(t.Context(), fw.source(nil), env); len(results) != 0 {
		t.Errorf("a source without the sessions stream was checked: %+v", results)
	}

	fw.mu.Lock()
	defer fw.mu.Unlock()
	if len(fw.fileHeaders) != 0 {
		t.Errorf("the session file was downloaded %d times", len(fw.fileHeaders))
	}
	if want := []string{"customerId=42&subAccountId=1291"}; len(fw.apiQueries) != 3 || fw.apiQueries[0] != want[0] {
		t.Errorf("queries %q, want three of %q", fw.apiQueries, want[0])
	}
}
