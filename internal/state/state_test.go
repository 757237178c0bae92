package state_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/state"
)

func setup(t *testing.T) (*dbtest.DB, *state.Store, state.Source) {
	t.Helper()
	t.Parallel()
	db := dbtest.New(t)
	s := state.New(db.Pool, nil)
	src, err := s.Source(context.Background(), "acme-ogmma", "ogmma")
	if err != nil {
		t.Fatal(err)
	}
	return db, s, src
}

func exec(t *testing.T, db *dbtest.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestLeaseIsExclusive(t *testing.T) {
	_, s, src := setup(t)
	ctx := context.Background()
	a, ok, err := s.TryLease(ctx, src, "messages")
	if err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	if _, ok, err := s.TryLease(ctx, src, "messages"); err != nil || ok {
		t.Fatalf("second lease taken while the first is held (ok=%v err=%v)", ok, err)
	}
	other, ok, err := s.TryLease(ctx, src, "other")
	if err != nil || !ok {
		t.Fatalf("lease of another stream: %v %v", ok, err)
	}
	other.Release()
	a.Release()
	a.Release() // twice is fine
	b, ok, err := s.TryLease(ctx, src, "messages")
	if err != nil || !ok {
		t.Fatalf("lease after release: %v %v", ok, err)
	}
	defer b.Release()
	if b.Generation != a.Generation+1 {
		t.Fatalf("generations %d then %d: taking the lease must move it on", a.Generation, b.Generation)
	}
}

func TestLeaseHeldOnlyLooks(t *testing.T) {
	_, s, src := setup(t)
	ctx := context.Background()
	held := func(lease string) bool {
		t.Helper()
		ok, err := s.LeaseHeld(ctx, src.Name, lease)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if held("messages") {
		t.Fatal("a lease nobody took is held")
	}
	a, ok, err := s.TryLease(ctx, src, "messages")
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if !held("messages") || held("tickets") {
		t.Fatal("LeaseHeld does not see the lease taken, or sees another")
	}
	// Looking never takes it: the holder keeps it, and nobody else gets it.
	if _, ok, _ := s.TryLease(ctx, src, "messages"); ok {
		t.Fatal("the lease was taken twice")
	}
	a.Release()
	if held("messages") {
		t.Fatal("a released lease is still held")
	}
}

func TestSlotsBoundTheSource(t *testing.T) {
	_, s, src := setup(t)
	ctx := context.Background()
	var slots []*state.Slot
	for i := range 3 {
		sl, ok, err := s.TrySlot(ctx, src, 3)
		if err != nil || !ok {
			t.Fatalf("slot %d of 3: %v %v", i, ok, err)
		}
		slots = append(slots, sl)
	}
	if sl, ok, err := s.TrySlot(ctx, src, 3); err != nil || ok {
		sl.Release()
		t.Fatalf("a fourth slot of 3 was taken (%v)", err)
	}
	other, err := s.Source(ctx, "acme-digisac", "digisac")
	if err != nil {
		t.Fatal(err)
	}
	if sl, ok, err := s.TrySlot(ctx, other, 1); err != nil || !ok {
		t.Fatalf("another source's slot: %v %v", ok, err)
	} else {
		sl.Release()
	}
	slots[1].Release()
	sl, ok, err := s.TrySlot(ctx, src, 3)
	if err != nil || !ok || sl.N != 1 {
		t.Fatalf("after releasing slot 1: %v %v, got slot %v", ok, err, sl)
	}
	sl.Release()
	slots[0].Release()
	slots[2].Release()
}

func TestSourcePlatformCannotChange(t *testing.T) {
	_, s, _ := setup(t)
	_, err := s.Source(context.Background(), "acme-ogmma", "digisac")
	if err == nil || !strings.Contains(err.Error(), "cannot change") || !strings.Contains(err.Error(), "as an ogmma source") {
		t.Fatalf("err = %v", err)
	}
}

func TestLostLeaseIsNoticed(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	lease, ok, err := s.TryLease(ctx, src, "messages")
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	defer lease.Release()
	if err := lease.Check(ctx); err != nil {
		t.Fatalf("fresh lease: %v", err)
	}
	// The server ends the lease's session.
	exec(t, db, `SELECT pg_terminate_backend($1)`, int64(state.LeasePID(lease)))
	if err := lease.Check(ctx); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("Check after the session ended: %v", err)
	}
}

// A sync_state row that cannot be read is an error that names it, and
// reading it does not leak a pooled connection (it leaked one per run, until
// the daemon's pool was empty and every stream and the shutdown hung).
func TestBadCursorIsAnErrorAndLeaksNothing(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	exec(t, db, `INSERT INTO sync_state (source_id, stream, partition_key, cursor) VALUES ($1, 'messages', 'ch/conv', '{"ts": "not a time"}')`, src.ID)
	for range 3 {
		_, err := s.Cursors(ctx, src, "messages")
		if err == nil || !strings.Contains(err.Error(), `partition "ch/conv"`) || !strings.Contains(err.Error(), "sync_state") {
			t.Fatalf("err = %v", err)
		}
		if n := db.Pool.Stat().AcquiredConns(); n != 0 {
			t.Fatalf("%d connection(s) still acquired after reading a bad cursor", n)
		}
	}
}

// recorder is a testing.TB that keeps what would fail a test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.errors = append(r.errors, format) }

func TestCheckReleasedFailsALeakingTest(t *testing.T) {
	db, _, _ := setup(t)
	conn, err := db.Pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	dbtest.CheckReleased(rec, db.Pool)
	conn.Release()
	if len(rec.errors) != 1 {
		t.Fatalf("a connection left acquired was not reported: %v", rec.errors)
	}
	rec.errors = nil
	dbtest.CheckReleased(rec, db.Pool)
	if len(rec.errors) != 0 {
		t.Fatalf("reported with nothing acquired: %v", rec.errors)
	}
}

func TestPruneRunsKeepsTheNewestOfEachStream(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	var ids []int64
	for _, stream := range []string{"messages", "messages", "messages", "tickets"} {
		run, err := s.StartRun(ctx, src, stream, state.ModeIncremental, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishRun(ctx, run, state.StatusSucceeded, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	exec(t, db, `UPDATE sync_runs SET finished_at = now() - interval '100 days'`)
	exec(t, db, `INSERT INTO quarantine (source_id, stream, run_id, reason, payload, fingerprint) VALUES ($1, 'messages', $2, 'x', '{}', 'f')`, src.ID, ids[0])
	n, err := s.PruneRuns(ctx, time.Now().Add(-90*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2 (the older messages runs)", n, err)
	}
	var left []int64
	rows, err := db.Pool.Query(ctx, `SELECT id FROM sync_runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		left = append(left, id)
	}
	rows.Close()
	if len(left) != 2 || left[0] != ids[2] || left[1] != ids[3] {
		t.Fatalf("runs left %v, want %v", left, ids[2:])
	}

	// A stream whose newest run did not succeed keeps its newest success
	// too: status says when it last succeeded.
	failing, err := s.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRun(ctx, failing, state.StatusPartial, nil); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `UPDATE sync_runs SET finished_at = now() - interval '100 days'`)
	if n, err := s.PruneRuns(ctx, time.Now().Add(-90*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruned %d, %v; want 0 (the newest run and the newest success of each stream stay)", n, err)
	}
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range st {
		if x.Stream == "messages" && (x.LastSuccessAt == nil || x.LastRun.Status != state.StatusPartial) {
			t.Fatalf("status of messages after the prune: last success %v, last run %+v", x.LastSuccessAt, x.LastRun)
		}
	}
	var quarantined int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM quarantine WHERE run_id IS NULL`).Scan(&quarantined); err != nil || quarantined != 1 {
		t.Fatalf("the quarantined record of a pruned run: %d, %v", quarantined, err)
	}
}

// A reset is no success: after a success, a reset and a failure, pruning
// keeps the success, and status still says when it was.
func TestPruneRunsKeepsTheSuccessBehindAReset(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	ok, err := s.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRun(ctx, ok, state.StatusSucceeded, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ResetCursors(ctx, state.Reset{Source: src, Stream: "messages", Who: "ana@ops"}); err != nil {
		t.Fatal(err)
	}
	failed, err := s.StartRun(ctx, src, "messages", state.ModeIncremental, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRun(ctx, failed, state.StatusFailed, errors.New("source down")); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `UPDATE sync_runs SET finished_at = now() - interval '40 days'`)
	if n, err := s.PruneRuns(ctx, time.Now().Add(-30*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1 (the reset)", n, err)
	}
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].LastSuccessAt == nil || st[0].LastRun == nil || st[0].LastRun.ID != failed.ID {
		t.Fatalf("status after the prune: %+v", st)
	}
}

// The status query reads the newest run of each stream through the index
// on (source_id, stream, id DESC), not by sorting every run.
func TestStatusReadsTheNewestRunByIndex(t *testing.T) {
	db, _, _ := setup(t)
	ctx := context.Background()
	exec(t, db, `INSERT INTO sync_runs (source_id, stream, mode, status, finished_at)
		SELECT s.id, 'stream' || (g % 20), 'incremental', 'succeeded', now()
		FROM sources s, generate_series(1, 20000) g`)
	exec(t, db, `ANALYZE sync_runs`)
	var plan strings.Builder
	rows, err := db.Pool.Query(ctx, "EXPLAIN "+state.StatusQuery())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	rows.Close()
	if !strings.Contains(plan.String(), "sync_runs_stream_idx") {
		t.Fatalf("the status query does not use sync_runs_stream_idx:\n%s", plan.String())
	}
	if strings.Contains(plan.String(), "Seq Scan on sync_runs") || strings.Contains(plan.String(), "Sort Key: r.source_id") {
		t.Fatalf("the status query reads or sorts every run:\n%s", plan.String())
	}
}

// The media re-check asks for media messages without a url on a schedule
// of their own: 5 minutes after they were sent, an hour later, a day
// later, then never; old messages (a backfill) are not asked for at all.
// Its query reads only what is due, however many were given up on.
func TestMediaRecheckSchedule(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	add := func(id string, sent time.Time, url any) {
		exec(t, db, `INSERT INTO messages (source_id, external_id, direction, kind, sent_at, media_url, raw)
			VALUES ($1, $2, 'inbound', 'image', $3, $4, '{}')`, src.ID, id, sent, url)
	}
	add("fresh", now.Add(-time.Minute), nil)
	add("due", now.Add(-10*time.Minute), nil)
	add("has-url", now.Add(-10*time.Minute), "https://x/f.jpg")
	add("old", now.Add(-30*24*time.Hour), nil)
	v := s.View(src)
	due := func(at time.Time) []string {
		t.Helper()
		ids, err := v.MediaDue(ctx, at, 100)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := due(now); len(got) != 1 || got[0] != "due" {
		t.Fatalf("due at first: %v, want [due]", got)
	}
	steps := []struct {
		at   time.Duration
		want string
	}{
		{0, "due"}, {59 * time.Minute, ""}, {61 * time.Minute, "due"}, {25 * time.Hour, ""},
		{25*time.Hour + 2*time.Minute, "due"}, {30 * 24 * time.Hour, ""},
	}
	checked := now
	for _, st := range steps {
		at := now.Add(st.at)
		got := due(at)
		got = slices.DeleteFunc(got, func(id string) bool { return id == "fresh" })
		if (st.want == "" && len(got) != 0) || (st.want != "" && (len(got) != 1 || got[0] != st.want)) {
			t.Fatalf("at +%s (last checked +%s): due %v, want %q", st.at, checked.Sub(now), got, st.want)
		}
		if len(got) > 0 {
			if err := v.MediaChecked(ctx, got, at); err != nil {
				t.Fatal(err)
			}
			checked = at
		}
	}
	// The url arrives for "fresh" after its first check: it leaves the
	// schedule.
	if err := v.MediaChecked(ctx, []string{"fresh"}, now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `UPDATE messages SET media_url = 'https://x/g.jpg' WHERE external_id = 'fresh'`)
	if err := v.MediaChecked(ctx, []string{"fresh"}, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM media_rechecks WHERE message_external_id = 'fresh'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("a message that got its url stays on the schedule: %d, %v", left, err)
	}

	// Many given up on over the months: the query reads through the two
	// indexes, not through every message without a url.
	exec(t, db, `INSERT INTO messages (source_id, external_id, direction, kind, sent_at, raw)
		SELECT $1, 'gone-' || g, 'inbound', 'audio', $2::timestamptz - g * interval '1 minute', '{}' FROM generate_series(1, 20000) g`, src.ID, now.Add(-30*24*time.Hour))
	exec(t, db, `INSERT INTO media_rechecks (source_id, message_external_id, checks, checked_at)
		SELECT $1, 'gone-' || g, 3, $2 FROM generate_series(1, 20000) g`, src.ID, now)
	exec(t, db, `ANALYZE messages`)
	exec(t, db, `ANALYZE media_rechecks`)
	plan := explain(t, db, state.MediaDueQuery(), src.ID, now, 5000, now.Add(-7*24*time.Hour), now.Add(-5*time.Minute))
	for _, bad := range []string{"Seq Scan on messages", "Seq Scan on media_rechecks"} {
		if strings.Contains(plan, bad) {
			t.Fatalf("the due query reads every message:\n%s", plan)
		}
	}
}

// explain returns the plan of q with args.
func explain(t *testing.T, db *dbtest.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// CountsBySource counts each source's rows apart, Wavy's sessions apart
// from the per-user conversations that hold their messages, and channels
// marked deleted apart; a source with no rows counts zeros.
func TestCountsBySource(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	wavy, err := s.Source(ctx, "acme-wavy", "wavy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Source(ctx, "acme-oxenty", "oxenty"); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `INSERT INTO conversations (source_id, external_id, kind, raw) VALUES
		($1, 'session:5511999990001:1740830400000', 'session', '{}'),
		($1, 'session:5511999990002:1740830401000', 'session', '{}'),
		($1, 'session:5511999990001', 'session', '{}'),
		($2, 'c1', 'conversation', '{}')`, wavy.ID, src.ID)
	exec(t, db, `INSERT INTO messages (source_id, external_id, direction, kind, sent_at, raw) VALUES
		($1, 'mo1', 'inbound', 'text', now(), '{}'),
		($1, 'mo2', 'inbound', 'text', now(), '{}'),
		($1, 'mt1', 'outbound', 'other', now(), '{}'),
		($2, 'm1', 'internal', 'comment', now(), '{}')`, wavy.ID, src.ID)
	exec(t, db, `INSERT INTO contacts (source_id, external_id, raw) VALUES ($1, '5511999990001', '{}'), ($1, '5511999990002', '{}')`, wavy.ID)
	exec(t, db, `INSERT INTO channels (source_id, external_id, raw, deleted_at)
		SELECT (SELECT id FROM sources WHERE name = 'acme-oxenty'), 'ch' || g, '{}', CASE WHEN g > 3 THEN now() END
		FROM generate_series(1, 5) g`)

	got, err := s.CountsBySource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]state.SourceCounts{
		"acme-ogmma":  {Messages: 1, Conversations: 1},
		"acme-wavy":   {Messages: 3, Inbound: 2, Outbound: 1, Conversations: 3, Sessions: 2, Contacts: 2},
		"acme-oxenty": {Channels: 5, ChannelsDeleted: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("counts of %d sources, want %d: %+v", len(got), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %+v, want %+v", name, got[name], w)
		}
	}
	deleted, err := s.DeletedChannels(ctx, "acme-oxenty")
	if err != nil || !slices.Equal(deleted, []string{"ch4", "ch5"}) {
		t.Errorf("deleted channels %v (%v), want [ch4 ch5]", deleted, err)
	}
	if none, err := s.DeletedChannels(ctx, "acme-wavy"); err != nil || len(none) != 0 {
		t.Errorf("deleted channels of acme-wavy %v (%v), want none", none, err)
	}
}

// Processed deliveries older than the retention go, in batches; the ones
// not yet processed stay whatever their age.
func TestPruneInboxKeepsWhatWaits(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	exec(t, db, `INSERT INTO webhook_inbox (source_id, payload, received_at, processed_at)
		SELECT $1, '{}', now() - interval '100 days', CASE WHEN g % 10 = 0 THEN NULL ELSE now() - interval '100 days' END
		FROM generate_series(1, 12000) g`, src.ID)
	exec(t, db, `INSERT INTO webhook_inbox (source_id, payload, processed_at) VALUES ($1, '{}', now()), ($1, '{}', NULL)`, src.ID)
	n, err := s.PruneInbox(ctx, time.Now().Add(-90*24*time.Hour))
	if err != nil || n != 10800 {
		t.Fatalf("pruned %d, %v; want 10800 (the old processed deliveries, over several batches)", n, err)
	}
	var waiting, recent int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE processed_at IS NULL), count(*) FILTER (WHERE received_at > now() - interval '1 day')
		FROM webhook_inbox`).Scan(&waiting, &recent); err != nil {
		t.Fatal(err)
	}
	if waiting != 1201 || recent != 2 {
		t.Fatalf("left %d waiting (want 1201) and %d recent (want 2)", waiting, recent)
	}
}

// A webhook run is failed as stale by the database's clock, and only once
// it is old enough; runs of other modes are left to their leases.
func TestFailStaleRunsByTheDatabaseClock(t *testing.T) {
	db, s, src := setup(t)
	ctx := context.Background()
	var ids []int64
	for _, mode := range []string{state.ModeWebhook, state.ModeWebhook, state.ModeIncremental} {
		run, err := s.StartRun(ctx, src, "webhooks", mode, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	exec(t, db, `UPDATE sync_runs SET started_at = now() - interval '2 hours' WHERE id = ANY($1)`, []int64{ids[0], ids[2]})
	n, err := s.FailStaleRuns(ctx, state.ModeWebhook, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("failed %d stale runs, %v; want 1 (the old webhook run)", n, err)
	}
	var statuses []string
	rows, err := db.Pool.Query(ctx, `SELECT status FROM sync_runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st)
	}
	rows.Close()
	if !slices.Equal(statuses, []string{"failed", "running", "running"}) {
		t.Fatalf("statuses %v", statuses)
	}
}
