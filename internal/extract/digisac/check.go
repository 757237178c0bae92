package digisac

import (
	"context"
	"log/slog"

	"syncer/internal/config"
	"syncer/internal/extract"
)

// check reaches a configured Digisac source (syncer check): the password
// grant ("token") when the source has no personal access token, then one
// list request of one record (perPage=1) for each kind of list stream it
// syncs: the first full-refresh one and the first incremental one of its
// streams (tickets stands for transcripts, which page closed tickets and
// export them one by one: no export is asked for). A refused grant ends
// the check, since every list would ask for it again.
func check(ctx context.Context, src *config.Source, env extract.Env) []extract.CheckResult {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p, cc := extract.NewProber(env.ClientConfig(src, logger))
	grant := src.Token.Reveal() == ""
	s, err := New(Config{Client: cc, Token: src.Token.Reveal(), Username: src.Username, Password: src.Password.Reveal(),
		PageSize: 1, Logger: logger})
	if err != nil {
		return []extract.CheckResult{{Check: "token", Credentials: extract.CredentialsUnknown, Err: env.Redactor.Error(err)}}
	}
	var out []extract.CheckResult
	if grant {
		// The grant goes through a client of its own, which does not renew
		// on 401: the source's client would answer a refused grant with
		// another grant, sending a wrong password twice.
		plain, err := extract.NewClient(cc)
		if err != nil {
			return []extract.CheckResult{{Check: "token", Credentials: extract.CredentialsUnknown, Err: env.Redactor.Error(err)}}
		}
		g := &Source{cfg: s.cfg, client: plain}
		r := p.Probe(ctx, "token", g.renew)
		out = append(out, r)
		if r.Err != nil {
			return out
		}
		s.token = g.token // no request of s is under way yet
	}
	for _, resource := range checkedLists(src) {
		out = append(out, p.Probe(ctx, resource, func(ctx context.Context) error {
			_, err := s.list(ctx, resource, map[string]any{"page": 1, "perPage": 1})
			return err
		}))
	}
	return out
}

// checkedLists is the lists a check asks for: the resource of the
// source's first full-refresh stream and of its first incremental one,
// or tickets when it exports transcripts only.
func checkedLists(src *config.Source) []string {
	p, ok := extract.Lookup(Platform)
	if !ok {
		return nil
	}
	var full, incremental string
	exports := false
	for _, name := range src.Streams {
		spec, ok := p.Stream(name)
		switch {
		case !ok:
		case spec.Mode == extract.ModeFullRefresh && full == "":
			full = name
		case spec.Mode == extract.ModeIncremental && incremental == "":
			incremental = name
		case spec.Mode == extract.ModeExport:
			exports = true
		}
	}
	if incremental == "" && exports {
		incremental = "tickets"
	}
	var out []string
	for _, r := range []string{full, incremental} {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}
