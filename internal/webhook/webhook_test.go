package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/load"
	"syncer/internal/pipeline"
	"syncer/internal/schedule"
	"syncer/internal/sim"
	"syncer/internal/sim/clock"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/state"

	"github.com/jackc/pgx/v5/pgxpool"
)

const secret = "hook-secret-1234"

type fixture struct {
	t    *testing.T
	db   *dbtest.DB
	srv  *httptest.Server
	proc *Processor
}

func setup(t *testing.T) *fixture {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	store := state.New(db.Pool, nil)
	src, err := store.Source(context.Background(), "acme-digisac", "digisac")
	if err != nil {
		t.Fatal(err)
	}
	wavy, err := store.Source(context.Background(), "acme-wavy", "wavy")
	if err != nil {
		t.Fatal(err)
	}
	proc := &Processor{Store: store, Loader: load.New(store, nil), Logger: slog.New(slog.DiscardHandler)}
	h := &Handler{Store: store, Sources: map[string]Source{"acme-digisac": {Source: src, Secret: secret}, "acme-wavy": {Source: wavy, Secret: secret}},
		Logger: slog.New(slog.DiscardHandler), Received: proc.Wake}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{source}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, db: db, srv: srv, proc: proc}
}

func (f *fixture) post(path, contentType string, body string, header map[string]string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// drain processes the inbox until it is empty.
func (f *fixture) drain() {
	f.t.Helper()
	for {
		did, err := f.proc.Next(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

func message(id, updated, text string) string {
	m := map[string]any{"event": "message.created", "data": map[string]any{"id": id, "isFromMe": false, "type": "chat",
		"timestamp": "2024-01-15T10:00:00.000Z", "contactId": "c1", "fromId": "c1", "serviceId": "s1", "ticketId": "t1",
		"text": text, "createdAt": "2024-01-15T10:00:00.000Z", "updatedAt": updated, "data": map[string]any{"ack": -1}}}
	b, _ := json.Marshal(m)
	return string(b)
}

// The handler keeps a delivery only from a caller with the source's
// secret, and only JSON of a bounded size; it answers 200 once the
// delivery is committed.
func TestHandler(t *testing.T) {
	f := setup(t)
	body := message("m1", "2024-01-15T10:00:01.000Z", "oi")
	hdr := map[string]string{"X-Webhook-Token": secret}
	for _, tc := range []struct {
		name, path, ct, body string
		header               map[string]string
		code                 int
	}{
		{"token in the header", "/webhooks/acme-digisac", "application/json", body, hdr, 200},
		{"token in the query", "/webhooks/acme-digisac?token=" + secret, "application/json; charset=utf-8", body, nil, 200},
		{"no content type", "/webhooks/acme-digisac?token=" + secret, "", body, nil, 200},
		{"wrong token", "/webhooks/acme-digisac?token=hook-secret-1235", "application/json", body, nil, 401},
		{"no token", "/webhooks/acme-digisac", "application/json", body, nil, 401},
		{"a prefix of the token", "/webhooks/acme-digisac?token=hook-secret", "application/json", body, nil, 401},
		{"unknown source", "/webhooks/nope", "application/json", body, hdr, 404},
		{"not JSON", "/webhooks/acme-digisac", "application/json", "{not json", hdr, 400},
		{"declared as text", "/webhooks/acme-digisac", "text/plain", body, hdr, 400},
		{"a lone surrogate (text cut mid-emoji): kept, as U+FFFD", "/webhooks/acme-digisac", "application/json", `{"a":"\ud83d"}`, hdr, 200},
		{"JSON that jsonb refuses: a number out of range", "/webhooks/acme-digisac", "application/json", `{"n":1e1000000}`, hdr, 400},
		{"too large", "/webhooks/acme-digisac", "application/json", `{"x":"` + strings.Repeat("a", MaxBody) + `"}`, hdr, 413},
	} {
		before := f.count("SELECT count(*) FROM webhook_inbox")
		code, resp := f.post(tc.path, tc.ct, tc.body, tc.header)
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, resp, tc.code)
		}
		stored := f.count("SELECT count(*) FROM webhook_inbox") - before
		if (tc.code == 200) != (stored == 1) {
			t.Errorf("%s: %d row(s) kept with answer %d", tc.name, stored, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/webhooks/acme-digisac?token="+secret, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// Deliveries become the rows the messages stream writes; the platform's
// retries store each message once; other events are kept and marked
// ignored; a delivery that cannot be read goes to quarantine with its
// inbox id and does not hold up the ones behind it.
func TestProcessor(t *testing.T) {
	f := setup(t)
	hdr := map[string]string{"X-Webhook-Token": secret}
	for _, b := range []string{
		message("m1", "2024-01-15T10:00:01.000Z", "oi"),
		message("m1", "2024-01-15T10:00:01.000Z", "oi"), // a retry
		`{"event":"ticket.created","data":{"id":"t9"}}`,
		`{"unexpected":true}`,
		strings.Replace(message("m1", "2024-01-15T10:05:00.000Z", "oi, editado"), "message.created", "message.updated", 1),
		message("m2", "2024-01-15T10:06:00.000Z", "tudo bem?"),
	} {
		if code, resp := f.post("/webhooks/acme-digisac", "application/json", b, hdr); code != 200 {
			t.Fatalf("post: %d %s", code, resp)
		}
	}
	f.drain()
	if n := f.count("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL"); n != 0 {
		t.Fatalf("%d deliveries left unprocessed", n)
	}
	if n := f.count("SELECT count(*) FROM messages"); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	var body string
	if err := f.db.Pool.QueryRow(context.Background(), "SELECT body FROM messages WHERE external_id = 'm1'").Scan(&body); err != nil || body != "oi, editado" {
		t.Fatalf("m1 body %q, %v; want the update", body, err)
	}
	if n := f.count("SELECT count(*) FROM webhook_inbox WHERE error = 'ignored: nothing to map'"); n != 1 {
		t.Fatalf("%d deliveries marked ignored, want 1 (ticket.created)", n)
	}
	if n := f.count(`SELECT count(*) FROM quarantine q JOIN webhook_inbox i ON q.external_id = 'inbox:' || i.id
		WHERE q.stream = 'webhooks' AND i.payload->>'unexpected' = 'true' AND i.error LIKE 'quarantined%'`); n != 1 {
		t.Fatalf("the unreadable delivery is not in quarantine with its inbox id (%d)", n)
	}
	if n := f.count(`SELECT count(*) FROM sync_runs WHERE mode = 'webhook' AND stream = 'webhooks'`); n != 1 {
		t.Fatalf("%d webhook runs, want 1", n)
	}
}

// Several processors at once process each delivery once.
func TestProcessorsShareTheInbox(t *testing.T) {
	f := setup(t)
	const n = 200
	hdr := map[string]string{"X-Webhook-Token": secret}
	for i := range n {
		if code, resp := f.post("/webhooks/acme-digisac", "application/json", message(fmt.Sprintf("m%d", i), "2024-01-15T10:00:01.000Z", "oi"), hdr); code != 200 {
			t.Fatalf("post: %d %s", code, resp)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		p := &Processor{Store: f.proc.Store, Loader: f.proc.Loader, Logger: slog.New(slog.DiscardHandler), Workers: 2, Poll: 10 * time.Millisecond}
		wg.Go(func() { _ = p.Run(ctx) })
	}
	deadline := time.Now().Add(time.Minute)
	for f.count("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the inbox did not drain within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if got := f.count("SELECT count(*) FROM messages"); got != n {
		t.Fatalf("%d messages, want %d", got, n)
	}
	if got := f.count("SELECT coalesce(sum(pages), 0) FROM sync_runs WHERE mode = 'webhook'"); got != n {
		t.Fatalf("the webhook runs count %d deliveries, want %d", got, n)
	}
}

// A delivery whose rows the database refuses (here an id too long for the
// index) goes to quarantine alone: the deliveries claimed with it land.
func TestAPoisonDeliveryDoesNotHoldUpTheOthers(t *testing.T) {
	f := setup(t)
	hdr := map[string]string{"X-Webhook-Token": secret}
	for _, b := range []string{
		message("ok1", "2024-01-15T10:00:01.000Z", "oi"),
		message(incompressible(10_000), "2024-01-15T10:00:01.000Z", "venenosa"),
		message("ok2", "2024-01-15T10:00:02.000Z", "tudo bem?"),
	} {
		if code, resp := f.post("/webhooks/acme-digisac", "application/json", b, hdr); code != 200 {
			t.Fatalf("post: %d %s", code, resp)
		}
	}
	f.drain()
	if n := f.count("SELECT count(*) FROM messages"); n != 2 {
		t.Fatalf("%d messages, want the 2 good ones", n)
	}
	if n := f.count("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL"); n != 0 {
		t.Fatalf("%d deliveries left unprocessed", n)
	}
	if n := f.count(`SELECT count(*) FROM quarantine WHERE stream = 'webhooks' AND external_id LIKE 'inbox:%' AND reason LIKE '%could not be written%'`); n != 1 {
		t.Fatalf("%d quarantined, want the poison delivery", n)
	}
}

// incompressible is n characters that no compression shortens.
func incompressible(n int) string {
	var b strings.Builder
	x := uint64(88172645463325252)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%016x", x)
	}
	return b.String()[:n]
}

// Digisac's message.created deliveries and its messages stream write the
// same rows for the same messages (media_url aside: the stream asks for
// the file, a delivery may not carry it).
func TestDigisacWebhooksAgreeWithTheAPI(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	ds := digisacsim.New(digisacsim.Config{Seed: 71, Contacts: 8, Tickets: 10, MessagesPerTicket: 5, Now: clk.Now})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	cfg := config.Config{Sources: []config.Source{{Name: "acme-api", Platform: "digisac", BaseURL: srv.URL + "/digisac",
		Token: config.Secret(ds.Token()), RateLimit: 1000, Streams: []string{"messages"}}}}
	cfg.ApplyDefaults()
	jobs, err := pipeline.Jobs(&cfg.Sources[0], pipeline.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	runner := pipeline.NewRunner(f.proc.Store, nil, 0)
	runner.Now = clk.Now
	for _, o := range schedule.RunAll(ctx, runner, jobs, 1) {
		if o.Status != state.StatusSucceeded {
			t.Fatalf("sync: %s %v", o.Status, o.Err)
		}
	}
	hook, err := f.proc.Store.Source(ctx, "acme-hook", "digisac")
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range ds.Records("messages") {
		body, _ := json.Marshal(map[string]any{"event": "message.created", "data": rec})
		if _, err := f.proc.Store.PutDelivery(ctx, hook, body); err != nil {
			t.Fatal(err)
		}
	}
	f.drain()
	rows := func(source string) map[string]string {
		t.Helper()
		r, err := f.db.Pool.Query(ctx, `SELECT m.external_id, concat_ws('|', m.conversation_external_id, m.channel_external_id,
			m.contact_external_id, m.direction, m.kind, m.status, m.body, m.from_addr, m.to_addr, m.sent_at, m.updated_at, m.is_bot)
			FROM messages m JOIN sources s ON s.id = m.source_id WHERE s.name = $1`, source)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		out := map[string]string{}
		for r.Next() {
			var id, row string
			if err := r.Scan(&id, &row); err != nil {
				t.Fatal(err)
			}
			out[id] = row
		}
		return out
	}
	api, hooks := rows("acme-api"), rows("acme-hook")
	if len(api) == 0 || len(api) != len(hooks) {
		t.Fatalf("%d messages from the API, %d from webhooks", len(api), len(hooks))
	}
	for id, want := range api {
		if hooks[id] != want {
			t.Fatalf("message %s:\n  webhooks %s\n  API      %s", id, hooks[id], want)
		}
	}
}

// A steady trickle of deliveries is one run, not one per delivery: a run
// ends once it has lingered unused, or when the processor stops.
func TestAWebhookRunLingers(t *testing.T) {
	f := setup(t)
	clk := clock.NewManual(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	p := &Processor{Store: f.proc.Store, Loader: f.proc.Loader, Logger: slog.New(slog.DiscardHandler), Poll: 5 * time.Millisecond,
		Linger: time.Minute, MaxRun: 10 * time.Minute, now: clk.Now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()

	hdr := map[string]string{"X-Webhook-Token": secret}
	waitFor := func(what, q string, want int, meanwhile func()) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for f.count(q) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d, want %d", what, f.count(q), want)
			}
			if meanwhile != nil {
				meanwhile()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send := func(i int) {
		t.Helper()
		if code, resp := f.post("/webhooks/acme-digisac", "application/json", message(fmt.Sprintf("m%d", i), "2024-01-15T10:00:01.000Z", "oi"), hdr); code != 200 {
			t.Fatalf("post: %d %s", code, resp)
		}
		p.Wake()
		waitFor("processed", `SELECT count(*) FROM webhook_inbox WHERE processed_at IS NOT NULL`, i+1, nil)
	}
	const runs = `SELECT count(*) FROM sync_runs WHERE mode = 'webhook'`
	const finished = `SELECT count(*) FROM sync_runs WHERE mode = 'webhook' AND status = 'succeeded' AND finished_at IS NOT NULL`
	for i := range 5 {
		send(i)
		clk.Advance(20 * time.Second) // a pause shorter than Linger
	}
	if n := f.count(runs); n != 1 {
		t.Fatalf("5 deliveries 20 s apart made %d runs, want 1", n)
	}
	if n := f.count(finished); n != 0 {
		t.Fatalf("the run ended while deliveries kept coming")
	}
	// The worker releases the run just after the commit the test waited
	// for, maybe after the clock moved: move it on until the run ends.
	waitFor("runs ended after a minute without deliveries", finished, 1, func() {
		clk.Advance(time.Minute)
		p.Wake()
	})
	if n := f.count(`SELECT pages FROM sync_runs WHERE mode = 'webhook'`); n != 5 {
		t.Fatalf("the run counts %d deliveries, want 5", n)
	}

	send(5) // a new run
	stop()
	if n, m := f.count(runs), f.count(finished); n != 2 || m != 2 {
		t.Fatalf("after the processor stopped: %d runs, %d ended; want 2 and 2", n, m)
	}
}

// A delivery whose commit fails for a reason that is not its own (here a
// lock timeout while another transaction holds the message) stays in the
// inbox and lands on a later try; it never goes to quarantine, which
// nothing replays.
func TestALockTimeoutIsTriedAgain(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	hdr := map[string]string{"X-Webhook-Token": secret}
	if code, resp := f.post("/webhooks/acme-digisac", "application/json", message("m1", "2024-01-15T10:00:01.000Z", "oi"), hdr); code != 200 {
		t.Fatalf("post: %d %s", code, resp)
	}
	f.drain()
	if code, resp := f.post("/webhooks/acme-digisac", "application/json", message("m1", "2024-01-15T10:00:02.000Z", "editada"), hdr); code != 200 {
		t.Fatalf("post: %d %s", code, resp)
	}

	pool, err := pgxpool.New(ctx, f.db.URL+"&lock_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := state.New(pool, nil)
	p := &Processor{Store: store, Loader: load.New(store, nil), Logger: slog.New(slog.DiscardHandler)}

	holder, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT 1 FROM messages WHERE external_id = 'm1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(ctx); err == nil {
		t.Fatal("the delivery was processed while its message was locked")
	}
	_ = holder.Rollback(ctx)
	if n := f.count(`SELECT count(*) FROM quarantine`); n != 0 {
		t.Fatalf("a lock timeout sent %d deliveries to quarantine", n)
	}
	if did, err := p.Next(ctx); !did || err != nil {
		t.Fatalf("the delivery was not processed once the lock was gone: %v %v", did, err)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE external_id = 'm1' AND body = 'editada'`); n != 1 {
		t.Fatal("the edit did not land")
	}
	if n := f.count(`SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL OR error IS NOT NULL`); n != 0 {
		t.Fatalf("%d deliveries unprocessed or noted", n)
	}
}

// A worker busy with one source's deliveries does not hide another
// source's from the next worker.
func TestClaimsSkipABusySource(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	hdr := map[string]string{"X-Webhook-Token": secret}
	if code, resp := f.post("/webhooks/acme-digisac", "application/json", message("m1", "2024-01-15T10:00:01.000Z", "oi"), hdr); code != 200 {
		t.Fatalf("post: %d %s", code, resp)
	}
	mo := `{"total":1,"data":[{"id":"mo-1","source":"5511999990001","origin":"5511900000000","message":{"type":"TEXT","messageText":"oi"},"receivedAt":1740830400000}]}`
	if code, resp := f.post("/webhooks/acme-wavy", "application/json", mo, hdr); code != 200 {
		t.Fatalf("post: %d %s", code, resp)
	}
	busy, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Rollback(ctx)
	held, err := state.ClaimDeliveries(ctx, busy, BatchSize)
	if err != nil || len(held) != 1 || held[0].Source.Name != "acme-digisac" {
		t.Fatalf("the first claim: %v %v", held, err)
	}
	if did, err := f.proc.Next(ctx); !did || err != nil {
		t.Fatalf("the Wavy delivery was not processed while the Digisac one was held: %v %v", did, err)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE external_id = 'mo-1'`); n != 1 {
		t.Fatal("the Wavy message did not land")
	}
}

// A run a dead process left running is marked failed by the next
// processor; a live one is not.
func TestARunLeftByADeadProcessIsClosed(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	var src int
	if err := f.db.Pool.QueryRow(ctx, `SELECT id FROM sources WHERE name = 'acme-wavy'`).Scan(&src); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO sync_runs (source_id, stream, mode, started_at) VALUES
		($1, 'webhooks', 'webhook', now() - interval '2 hours'), ($1, 'webhooks', 'webhook', now() - interval '5 minutes')`, src); err != nil {
		t.Fatal(err)
	}
	p := &Processor{Store: f.proc.Store, Loader: f.proc.Loader, Logger: slog.New(slog.DiscardHandler)}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = p.Run(cctx); close(done) }()
	deadline := time.Now().Add(time.Minute)
	for f.count(`SELECT count(*) FROM sync_runs WHERE status = 'failed' AND error LIKE 'interrupted%' AND started_at < now() - interval '1 hour'`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the run of a dead process was not marked failed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := f.count(`SELECT count(*) FROM sync_runs WHERE status = 'running'`); n != 1 {
		t.Errorf("%d runs still running, want the recent one", n)
	}
}

// A run that workers keep using past MaxRun is retired: new deliveries
// start a new run, and the last worker to let go of the old one ends it.
func TestABusyRunIsRetiredAfterMaxRun(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	p := &Processor{Store: f.proc.Store, Loader: f.proc.Loader, Logger: slog.New(slog.DiscardHandler), Linger: time.Minute, MaxRun: 10 * time.Minute, now: clk.Now}
	p.init()
	src, err := f.proc.Store.Source(ctx, "acme-wavy", "wavy")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.start(ctx, src); err != nil {
		t.Fatal(err)
	}
	old, ok := p.acquire("acme-wavy")
	if !ok {
		t.Fatal("no run")
	}
	clk.Advance(11 * time.Minute)
	p.finishRuns(ctx, false)
	if _, ok := p.acquire("acme-wavy"); ok {
		t.Fatal("a run open past MaxRun still takes deliveries")
	}
	if n := f.count(`SELECT count(*) FROM sync_runs WHERE status = 'running'`); n != 1 {
		t.Fatalf("the run in use ended early (%d running)", n)
	}
	p.release(ctx, old)
	if n := f.count(`SELECT count(*) FROM sync_runs WHERE status = 'succeeded' AND finished_at IS NOT NULL`); n != 1 {
		t.Fatal("the last release did not end the retired run")
	}
}
