package wavy

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// check reaches a configured Wavy source with its userName and
// authenticationToken (syncer check) through GET /v1/session, the only
// request Wavy documents: it answers a small JSON link, and the session
// file behind the link is not downloaded; the link is only checked
// against file_hosts, as a sync would. A source that syncs no sessions
// (webhooks only) has nothing to check: Wavy calls syncer, not the other
// way round.
func check(ctx context.Context, src *config.Source, env extract.Env) []extract.CheckResult {
	if !src.HasStream("sessions") {
		return nil
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, cc := extract.NewProber(env.ClientConfig(src, logger))
	cc.Auth = authHeaders(src.Username, src.Token.Reveal())
	const name = "session link"
	client, err := extract.NewClient(cc)
	if err != nil {
		return []extract.CheckResult{{Check: name, Credentials: extract.CredentialsUnknown, Err: env.Redactor.Error(err)}}
	}
	q := url.Values{"customerId": {src.CustomerID}}
	if src.SubAccountID != "" {
		q.Set("subAccountId", src.SubAccountID)
	}
	var link sessionLink
	r := p.Probe(ctx, name, func(ctx context.Context) error {
		_, err := client.GetJSON(ctx, "/v1/session", q, nil, &link)
		return err
	})
	if r.Err != nil {
		return []extract.CheckResult{r}
	}
	// The credentials were accepted; whether a sync could fetch the file
	// is another matter, which the result says without undoing that.
	if link.FileURL == "" {
		r.Err = fmt.Errorf("source %q: wavy answered GET /v1/session without a file_url", src.Name)
	} else if _, err := extract.ParseDownloadURL(link.FileURL, src.FileHosts); err != nil {
		s := &Sessions{cfg: Config{Client: client}}
		r.Err = env.Redactor.Error(s.refused(err))
	}
	return []extract.CheckResult{r}
}
