package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
)

// The fleet tests run the built binary as several `syncer run` replicas on
// one database, as a deployment would.

// replica is one `syncer run` process.
type replica struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	err    error
}

// lockedBuffer is a bytes.Buffer that a process writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startReplica starts `syncer run` with config (without listen, which each
// replica gets its own of).
func startReplica(t *testing.T, bin, config, dbURL, name string) *replica {
	t.Helper()
	r := &replica{name: name, addr: freeAddr(t), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	path := filepath.Join(t.TempDir(), name+".yaml")
	writeFile(t, path, "listen: "+r.addr+"\n"+config)
	r.cmd = exec.Command(bin, "run", "--config", path, "--database-url", dbURL, "--log-level", "warn")
	r.cmd.Env = append(os.Environ(), "SYNCER_CONFIG=")
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			r.cmd.Process.Kill() //nolint:errcheck // it may have just exited
			<-r.exited
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", r.name, r.stderr.String())
		}
	})
	return r
}

// stop sends SIGTERM and waits up to within for the exit; it returns the
// exit code and how long the stop took.
func (r *replica) stop(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", r.name, err)
	}
	select {
	case <-r.exited:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %s of SIGTERM; stderr:\n%s", r.name, within, r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode(), time.Since(start)
}

func (r *replica) pid() int { return r.cmd.Process.Pid }

// waitFor polls cond every 50ms until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fleetRun is one row of sync_runs.
type fleetRun struct {
	id             int64
	source, stream string
	lease          string
	status, worker string
	err            string
	started        time.Time
	finished       time.Time
	written        int64
}

func fleetRuns(t *testing.T, db *dbtest.DB) []fleetRun {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT r.id, s.name, r.stream, coalesce(r.lease, ''), r.status,
		coalesce(r.worker, ''), coalesce(r.error, ''), r.started_at, coalesce(r.finished_at, 'infinity'), r.rows_written
		FROM sync_runs r JOIN sources s ON s.id = r.source_id WHERE r.mode <> 'webhook' ORDER BY r.started_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []fleetRun
	for rows.Next() {
		var r fleetRun
		if err := rows.Scan(&r.id, &r.source, &r.stream, &r.lease, &r.status, &r.worker, &r.err, &r.started, &r.finished, &r.written); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// noOverlap fails when two runs of one stream under its own lease were
// running at the same time.
func noOverlap(t *testing.T, runs []fleetRun) {
	t.Helper()
	last := map[string]fleetRun{}
	for _, r := range runs { // by started_at
		if r.lease != "" {
			continue
		}
		key := r.source + "/" + r.stream
		if p, ok := last[key]; ok && r.started.Before(p.finished) {
			t.Errorf("%s: run %d (%s, %s to %s) overlaps run %d (%s, %s to %s)", key, r.id, r.worker, r.started.Format(time.TimeOnly),
				r.finished.Format(time.TimeOnly), p.id, p.worker, p.started.Format(time.TimeOnly), p.finished.Format(time.TimeOnly))
		}
		last[key] = r
	}
}

// TestFleetThreeReplicas runs three `syncer run` replicas on one database
// for several schedule cycles: every stream runs each cycle, on any
// replica, never two runs of one stream at once, and the tables equal the
// simulators' data.
func TestFleetThreeReplicas(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 31, Channels: 2, ConversationsPerChannel: 4, MessagesPerConversation: 60})
	ds := digisacsim.New(digisacsim.Config{Seed: 32, Contacts: 40, Tickets: 80, MessagesPerTicket: 6})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Ogmma: og, Digisac: ds}))
	defer srv.Close()
	const every = 4 * time.Second
	config := fleetConfig(og, srv.URL, fmt.Sprintf("    schedule: \"@every %s\"\n", every)) +
		fmt.Sprintf("  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 1000\n    max_streams: 6\n    schedule: \"@every %s\"\n",
			srv.URL, ds.Token(), every)
	var replicas []*replica
	for i := range 3 {
		replicas = append(replicas, startReplica(t, bin, config, db.URL, fmt.Sprintf("replica-%d", i+1)))
	}
	const cycles = 5
	time.Sleep(cycles * every)
	for _, r := range replicas {
		if code, took := r.stop(t, time.Minute); code != exitOK {
			t.Fatalf("%s exited %d after %s:\n%s", r.name, code, took, r.stderr.String())
		}
	}

	runs := fleetRuns(t, db)
	noOverlap(t, runs)
	byStream := map[string][]fleetRun{}
	workers := map[string]bool{}
	for _, r := range runs {
		if r.status == "failed" {
			t.Errorf("%s/%s run %d failed: %s", r.source, r.stream, r.id, r.err)
		}
		byStream[r.source+"/"+r.stream] = append(byStream[r.source+"/"+r.stream], r)
		workers[r.worker] = true
	}
	streams := []string{"acme-ogmma/messages"}
	for _, s := range []string{"services", "users", "departments", "contacts", "tickets", "messages"} {
		streams = append(streams, "acme-digisac/"+s)
	}
	for _, s := range streams {
		rs := byStream[s]
		// The first run comes at start; then one a cycle. A replica
		// stopping may cut the last cycle short.
		if len(rs) < cycles-1 {
			t.Errorf("%s ran %d times in %d cycles of %s", s, len(rs), cycles, every)
			continue
		}
		for i := 1; i < len(rs); i++ {
			if gap := rs[i].started.Sub(rs[i-1].started); gap >= 2*every {
				t.Errorf("%s: %s between runs %d and %d: a cycle was skipped", s, gap, rs[i-1].id, rs[i].id)
			}
		}
	}
	if len(workers) < 2 {
		t.Errorf("every run was on one replica (%v); the fleet did not share the work", workers)
	}
	t.Logf("%d runs of %d streams on %d replicas", len(runs), len(streams), len(workers))
	compareWithSimulator(t, db, og)
	compareDigisac(t, db, ds)
}

// fleetConfig is the sources part of a fleet's config, with an Ogmma
// source of the simulator (its extra lines after api_key).
func fleetConfig(og *ogmmasim.Simulator, baseURL, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "concurrency: 2\nshutdown_timeout: 10s\nsources:\n  - name: acme-ogmma\n    platform: ogmma\n    base_url: %s/ogmma\n    api_key: %s\n    rate_limit: 1000\n    concurrency: 4\n%s    channels:\n",
		baseURL, og.APIKey(), extra)
	for _, ch := range og.Channels() {
		fmt.Fprintf(&b, "      - id: %s\n        conversations:\n", ch.ID)
		for _, c := range ch.Conversations {
			fmt.Fprintf(&b, "          - %s\n", c)
		}
	}
	return b.String()
}

// TestFleetSurvivesKill9 kills the replica running a large sync with
// SIGKILL: another replica takes the stream (once River rescues the job)
// and finishes it, and nothing is lost or doubled.
func TestFleetSurvivesKill9(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 41, Channels: 5, ConversationsPerChannel: 40, MessagesPerConversation: 400})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	total := og.MessageCount()
	config := fleetConfig(og, srv.URL, "    schedule: \"@every 2s\"\n")
	replicas := map[int]*replica{}
	for i := range 3 {
		r := startReplica(t, bin, config, db.URL, fmt.Sprintf("replica-%d", i+1))
		replicas[r.pid()] = r
	}
	waitFor(t, 3*time.Minute, "a third of the messages committed", func() bool { return countRows(t, db, "messages") >= total/3 })
	var worker string
	if err := db.Pool.QueryRow(context.Background(), "SELECT worker FROM sync_runs WHERE status = 'running' AND lease IS NULL").Scan(&worker); err != nil {
		t.Fatalf("the running run: %v", err)
	}
	var victim *replica
	for pid, r := range replicas {
		if strings.HasSuffix(worker, fmt.Sprintf(":%d", pid)) {
			victim = r
		}
	}
	if victim == nil {
		t.Fatalf("no replica is worker %s", worker)
	}
	killedAt := countRows(t, db, "messages")
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.exited
	t.Logf("killed %s (%s) with %d of %d messages committed", victim.name, worker, killedAt, total)
	waitFor(t, 3*time.Minute, "another replica finishing the stream", func() bool {
		var n int
		err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM sync_runs WHERE status = 'succeeded' AND worker <> $1", worker).Scan(&n)
		return err == nil && n > 0
	})
	for _, r := range replicas {
		if r == victim {
			continue
		}
		if code, _ := r.stop(t, time.Minute); code != exitOK {
			t.Fatalf("%s exited %d:\n%s", r.name, code, r.stderr.String())
		}
	}
	compareWithSimulator(t, db, og)
	runs := fleetRuns(t, db)
	noOverlap(t, runs)
	interrupted := slices.IndexFunc(runs, func(r fleetRun) bool {
		return r.worker == worker && r.status == "failed" && strings.HasPrefix(r.err, "interrupted")
	})
	if interrupted < 0 {
		t.Errorf("the killed replica's run is not recorded as interrupted: %+v", runs)
	}
}

// TestFleetBackfillChunks splits a 12-month backfill into 12 chunks that
// three replicas run at once; the warehouse ends with the same rows as the
// same backfill run by one `syncer sync`.
func TestFleetBackfillChunks(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	// Messages from 2024-01-01 over about a year; start_date after them, so
	// that the replicas' scheduled syncs read none and only the backfill
	// brings them in. Latency makes each chunk take a while, so that they
	// run side by side.
	og := ogmmasim.New(ogmmasim.Config{Seed: 51, Channels: 2, ConversationsPerChannel: 5, MessagesPerConversation: 40,
		Step: 216 * time.Hour, Faults: fault.Faults{Latency: 150 * time.Millisecond}})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	config := fleetConfig(og, srv.URL, "    schedule: \"@every 1h\"\n    start_date: 2026-01-01T00:00:00Z\n    max_streams: 6\n")

	fleetDB := dbtest.New(t)
	var replicas []*replica
	for i := range 3 {
		replicas = append(replicas, startReplica(t, bin, config, fleetDB.URL, fmt.Sprintf("replica-%d", i+1)))
	}
	cfgPath := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfgPath, config)
	backfill := exec.Command(bin, "backfill", "--config", cfgPath, "--database-url", fleetDB.URL, "--source", "acme-ogmma",
		"--stream", "messages", "--since", "2024-01-01", "--until", "2025-01-01", "--chunk", "732h", "--wait")
	backfill.Env = append(os.Environ(), "SYNCER_CONFIG=")
	out, err := backfill.CombinedOutput()
	if err != nil {
		t.Fatalf("backfill --wait: %v\n%s", err, out)
	}
	t.Logf("backfill --wait:\n%s", out)
	if !strings.Contains(string(out), "12 chunk(s)") || !strings.Contains(string(out), "12/12 chunks done") {
		t.Fatalf("backfill output does not say 12 chunks, all done:\n%s", out)
	}
	status := exec.Command(bin, "status", "--config", cfgPath, "--database-url", fleetDB.URL)
	status.Env = append(os.Environ(), "SYNCER_CONFIG=")
	if out, err := status.CombinedOutput(); err != nil || !strings.Contains(string(out), "12/12") {
		t.Fatalf("status does not show the backfill done: %v\n%s", err, out)
	}
	for _, r := range replicas {
		if code, _ := r.stop(t, time.Minute); code != exitOK {
			t.Fatalf("%s exited %d:\n%s", r.name, code, r.stderr.String())
		}
	}

	var chunks []fleetRun
	workers := map[string]bool{}
	for _, r := range fleetRuns(t, fleetDB) {
		if r.lease != "" {
			chunks = append(chunks, r)
			workers[r.worker] = true
		}
	}
	if len(chunks) != 12 {
		t.Fatalf("%d chunk runs, want 12: %+v", len(chunks), chunks)
	}
	atOnce := 0
	for i, a := range chunks {
		if a.status != "succeeded" {
			t.Errorf("chunk run %d %s: %s", a.id, a.status, a.err)
		}
		for _, b := range chunks[i+1:] {
			if b.started.Before(a.finished) {
				atOnce++
			}
		}
	}
	if atOnce == 0 || len(workers) < 2 {
		t.Errorf("the chunks ran one after another (%d overlapping pairs, %d replicas); want them at once across the fleet", atOnce, len(workers))
	}
	t.Logf("12 chunks on %d replicas, %d pairs of them running at the same time", len(workers), atOnce)

	oneDB := dbtest.New(t)
	if out, err := exec.Command(bin, "migrate", "up", "--config", cfgPath, "--database-url", oneDB.URL).CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	one := syncCommand(bin, cfgPath, oneDB.URL)
	one.Args = append(one.Args, "--since", "2024-01-01", "--until", "2025-01-01")
	if out, err := one.CombinedOutput(); err != nil {
		t.Fatalf("one-process backfill: %v\n%s", err, out)
	}
	for _, table := range []string{"messages", "conversations", "contacts", "channels"} {
		a, b := tableRows(t, fleetDB, table), tableRows(t, oneDB, table)
		if len(a) == 0 || !slices.Equal(a, b) {
			t.Errorf("%s: the fleet's backfill has %d rows, one process's %d, or they differ", table, len(a), len(b))
		}
	}
}

// tableRows lists a warehouse table's rows as text, without the columns
// that say when they were written, sorted.
func tableRows(t *testing.T, db *dbtest.DB, table string) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), fmt.Sprintf(
		"SELECT (to_jsonb(x) - 'synced_at' - 'source_id' - 'id')::text FROM %s x ORDER BY 1", table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFleetSIGTERM stops a replica with SIGTERM during a large sync: it
// exits 0 within shutdown_timeout, the batches it had read are committed,
// and a restart continues from there to the end.
func TestFleetSIGTERM(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 61, Channels: 5, ConversationsPerChannel: 40, MessagesPerConversation: 400})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	total := og.MessageCount()
	config := fleetConfig(og, srv.URL, "    schedule: \"@every 1h\"\n")
	r := startReplica(t, bin, config, db.URL, "replica")
	waitFor(t, 3*time.Minute, "a third of the messages committed", func() bool { return countRows(t, db, "messages") >= total/3 })
	atSignal := countRows(t, db, "messages")
	code, took := r.stop(t, 20*time.Second)
	if code != exitOK || took > 10*time.Second+2*time.Second {
		t.Fatalf("exit %d after %s; want 0 within shutdown_timeout (10s):\n%s", code, took, r.stderr.String())
	}
	afterStop := countRows(t, db, "messages")
	var status, msg string
	var written int64
	if err := db.Pool.QueryRow(context.Background(), "SELECT status, coalesce(error, ''), rows_written FROM sync_runs WHERE mode <> 'webhook' ORDER BY id DESC LIMIT 1").
		Scan(&status, &msg, &written); err != nil {
		t.Fatal(err)
	}
	if status != "partial" || !strings.Contains(msg, "shutdown") {
		t.Fatalf("the stopped run is %s (%q); want partial, stopped by shutdown", status, msg)
	}
	t.Logf("SIGTERM with %d of %d messages committed; exit 0 after %s with %d committed", atSignal, total, took.Round(time.Millisecond), afterStop)
	if afterStop >= total {
		t.Fatalf("the sync had finished before SIGTERM took effect (%d of %d); the test proved nothing", afterStop, total)
	}

	finishWithAnotherReplica(t, bin, config, db, og)
	var rest int64
	if err := db.Pool.QueryRow(context.Background(), "SELECT rows_written FROM sync_runs WHERE status = 'succeeded'").Scan(&rest); err != nil {
		t.Fatal(err)
	}
	// The restart writes what was left (and the derived rows of what it
	// reads again), not everything again.
	if rest >= int64(total) {
		t.Errorf("the restart wrote %d rows of %d messages: it began again instead of going on", rest, total)
	}
}

// TestFleetWebhookDeliveriesOutliveTheirReplica: deliveries acknowledged by
// a replica that is then killed with SIGKILL before it could process them
// are processed by another replica, each exactly once, because each was
// kept with its job in one transaction.
func TestFleetWebhookDeliveriesOutliveTheirReplica(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	ds := digisacsim.New(digisacsim.Config{Seed: 91, Contacts: 5, Tickets: 5, MessagesPerTicket: 2})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	const secret = "fleet-webhook-secret"
	config := fmt.Sprintf("shutdown_timeout: 10s\nsources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n"+
		"    token: %s\n    rate_limit: 1000\n    schedule: \"@every 1h\"\n    webhook_secret: %s\n", srv.URL, ds.Token(), secret)
	a := startReplica(t, bin, config, db.URL, "receiver")
	waitFor(t, time.Minute, "the receiver answering", func() bool {
		resp, err := http.Get("http://" + a.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	// The receiver keeps deliveries (webhook_inbox and river_job) but
	// cannot process them: the test holds a lock on messages meanwhile.
	// Then it is killed, with none processed.
	hold, err := db.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(context.Background()) //nolint:errcheck // rolled back below
	if _, err := hold.Exec(context.Background(), "LOCK TABLE messages IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.addr+"/webhooks/acme-digisac", bytes.NewReader(digisacDelivery(fmt.Sprintf("fw%04d", i))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Webhook-Token", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery %d: %d", i, resp.StatusCode)
		}
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	if err := hold.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	var jobs, waiting int
	if err := db.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM river_job WHERE kind = 'webhook_delivery'),
		(SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL)`).Scan(&jobs, &waiting); err != nil {
		t.Fatal(err)
	}
	if jobs != n || waiting != n {
		t.Fatalf("%d delivery jobs and %d deliveries waiting for %d deliveries kept; want all waiting, each with its job", jobs, waiting, n)
	}
	t.Logf("receiver killed with %d of %d deliveries not processed yet", waiting, n)

	b := startReplica(t, bin, config, db.URL, "other")
	waitFor(t, 3*time.Minute, "every delivery processed", func() bool {
		var left int
		err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL").Scan(&left)
		return err == nil && left == 0
	})
	var msgs, distinct int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT external_id) FROM messages WHERE external_id LIKE 'fw%'`).
		Scan(&msgs, &distinct); err != nil {
		t.Fatal(err)
	}
	if msgs != n || distinct != n {
		t.Fatalf("%d message rows (%d distinct) for %d deliveries", msgs, distinct, n)
	}
	if code, _ := b.stop(t, time.Minute); code != exitOK {
		t.Fatalf("other replica exited %d:\n%s", code, b.stderr.String())
	}
}

// TestFleetShutdownIsBounded: SIGTERM while the database keeps the run
// from being recorded (its sync_runs row is locked): the replica still
// exits 0 within shutdown_timeout, and another replica finishes the stream
// later with nothing lost or doubled.
func TestFleetShutdownIsBounded(t *testing.T) {
	t.Parallel()
	bin := buildSyncer(t)
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 63, Channels: 5, ConversationsPerChannel: 40, MessagesPerConversation: 400})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	total := og.MessageCount()
	config := strings.Replace(fleetConfig(og, srv.URL, "    schedule: \"@every 1h\"\n"), "shutdown_timeout: 10s", "shutdown_timeout: 4s", 1)
	r := startReplica(t, bin, config, db.URL, "replica")
	waitFor(t, 3*time.Minute, "a fifth of the messages committed", func() bool { return countRows(t, db, "messages") >= total/5 })
	hold, err := db.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(context.Background()) //nolint:errcheck // rolled back below
	if _, err := hold.Exec(context.Background(), "SELECT FROM sync_runs FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	code, took := r.stop(t, 20*time.Second)
	if code != exitOK || took > 4*time.Second+time.Second {
		t.Fatalf("exit %d after %s; want 0 within shutdown_timeout (4s):\n%s", code, took, r.stderr.String())
	}
	t.Logf("exit 0 after %s with the run's row locked", took.Round(time.Millisecond))
	if err := hold.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	finishWithAnotherReplica(t, bin, config, db, og)
}

// finishWithAnotherReplica starts a replica, waits until a run of the
// stream has succeeded, stops it, and compares the warehouse with the
// simulator.
func finishWithAnotherReplica(t *testing.T, bin, config string, db *dbtest.DB, og *ogmmasim.Simulator) {
	t.Helper()
	r := startReplica(t, bin, config, db.URL, "next")
	waitFor(t, 3*time.Minute, "the next replica finishing", func() bool {
		var n int
		err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM sync_runs WHERE status = 'succeeded'").Scan(&n)
		return err == nil && n > 0
	})
	if code, _ := r.stop(t, time.Minute); code != exitOK {
		t.Fatalf("next replica exited %d:\n%s", code, r.stderr.String())
	}
	compareWithSimulator(t, db, og)
}
