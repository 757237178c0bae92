package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/dbtest"
	"syncer/internal/schemas"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
	ogmmasim "syncer/internal/sim/ogmma"
)

// TestBenchTable is `make bench`'s table: on this machine and database, in
// one run, the COPY limit, syncer's end-to-end backfills from the Ogmma and
// Digisac simulators over loopback HTTP, a sync with nothing new, a sync
// where 10% of the messages changed, and a 1 GB CSV import. It runs only
// when SYNCER_BENCH_OUT names the file to write the table to; it asserts
// no timing (figures vary from run to run and machine to machine).
//
// SYNCER_BENCH_SIZES (default "100000,1000000") sets the backfill sizes and
// SYNCER_BENCH_IMPORT_MB (default 1024) the size of the CSV; 0 leaves the
// import out.
func TestBenchTable(t *testing.T) {
	out := os.Getenv("SYNCER_BENCH_OUT")
	if out == "" {
		t.Skip("SYNCER_BENCH_OUT is not set: `make bench` sets it")
	}
	sizes := []int{100_000, 1_000_000}
	if s := os.Getenv("SYNCER_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1000 {
				t.Fatalf("SYNCER_BENCH_SIZES: %q is not a size of at least 1000", f)
			}
			sizes = append(sizes, n)
		}
	}
	importMB := 1024
	if s := os.Getenv("SYNCER_BENCH_IMPORT_MB"); s != "" {
		var err error
		if importMB, err = strconv.Atoi(s); err != nil || importMB < 0 {
			t.Fatalf("SYNCER_BENCH_IMPORT_MB: %q", s)
		}
	}
	bin := buildSyncer(t)
	var rows []benchRow
	for _, n := range sizes {
		rows = append(rows, benchOgmma(t, bin, n)...)
		rows = append(rows, benchDigisac(t, bin, n)...)
	}
	if importMB > 0 {
		rows = append(rows, benchImport(t, bin, importMB))
	}
	table := renderBench(t, rows)
	t.Log("\n" + table)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
}

// benchRow is one line of the table. Limit is the COPY rate of the same
// size, 0 where no ratio applies.
type benchRow struct {
	Name      string
	Rows      int64 // messages (or tickets) the run covered
	Took      time.Duration
	CPU       time.Duration // syncer's own (user + system)
	Limit     float64       // rows/s of the COPY limit at this size
	RSSKB     int64
	Requests  int64
	Tuples    int64 // warehouse tuples inserted, updated or deleted
	BookTuple int64 // bookkeeping tuples (sync_*, imported_files, quarantine)
	Note      string
}

// warehouseTables are the analysts' tables; the others are bookkeeping.
var warehouseTables = map[string]bool{"channels": true, "contacts": true, "agents": true, "departments": true,
	"conversations": true, "messages": true}

// tuples sums n_tup_ins + n_tup_upd + n_tup_del over the warehouse's
// tables and those of its bookkeeping schema, the two apart, once the statistics have settled (a
// backend reports its counts when it ends or within a second).
func tuples(t *testing.T, db *dbtest.DB) (warehouse, books int64) {
	t.Helper()
	ctx := context.Background()
	read := func() (int64, int64) {
		rows, err := db.Pool.Query(ctx, `SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE schemaname IN ($1, $2)`,
			db.Schema, schemas.State(db.Schema))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var w, b int64
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			if warehouseTables[name] {
				w += n
			} else {
				b += n
			}
		}
		return w, b
	}
	var lastW, lastB int64 = -1, -1
	for range 20 {
		time.Sleep(700 * time.Millisecond)
		if _, err := db.Pool.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			t.Fatal(err)
		}
		w, b := read()
		if w == lastW && b == lastB {
			return w, b
		}
		lastW, lastB = w, b
	}
	return lastW, lastB
}

// timed runs cmd and returns how long it took, its peak RSS in kB (VmHWM,
// read from /proc while it runs: the rusage of wait4 counts the test
// process's own memory, which the child shares between fork and exec) and
// the CPU time it used.
func timed(t *testing.T, cmd *exec.Cmd) (time.Duration, int64, time.Duration) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var peak int64
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(status); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > peak {
						peak = kb
					}
				}
			}
		}
		select {
		case err := <-exited:
			took := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
			}
			return took, peak, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		case <-tick.C:
		}
	}
}

// copyLimit is the limit: the warehouse's messages, read into memory as Go
// values and COPY'd with pgx (binary format, as the loader sends its rows)
// straight into an empty table like messages, with the same indexes.
func copyLimit(t *testing.T, db *dbtest.DB) (float64, int64) {
	t.Helper()
	ctx := context.Background()
	// jsonb comes as its text, as the loader sends raw: decoding it into
	// maps and encoding it again would charge the limit with work the
	// loader never does.
	probe, err := db.Pool.Query(ctx, "SELECT * FROM messages LIMIT 0")
	if err != nil {
		t.Fatal(err)
	}
	var cols, exprs []string
	for _, f := range probe.FieldDescriptions() {
		cols = append(cols, f.Name)
		expr := pgx.Identifier{f.Name}.Sanitize()
		if f.DataTypeOID == 3802 { // jsonb
			expr += "::text"
		}
		exprs = append(exprs, expr)
	}
	probe.Close()
	rows, err := db.Pool.Query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM messages")
	if err != nil {
		t.Fatal(err)
	}
	var values [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE bare (LIKE messages INCLUDING ALL)"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"bare"}, cols, pgx.CopyFromRows(values))
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if _, err := db.Pool.Exec(ctx, "DROP TABLE bare"); err != nil {
		t.Fatal(err)
	}
	return float64(n) / took.Seconds(), n
}

func benchOgmma(t *testing.T, bin string, n int) []benchRow {
	const channels, perConversation = 2, 400
	og := ogmmasim.New(ogmmasim.Config{Seed: 8, Channels: channels, ConversationsPerChannel: max(1, n/(channels*perConversation)),
		MessagesPerConversation: perConversation})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	db := dbtest.New(t)
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "")
	total := int64(og.MessageCount())
	return benchSource(t, bin, db, cfg, fmt.Sprintf("Ogmma %s", count(total)), total,
		func() int64 { return og.Stats().Requests },
		func() int64 { return int64(len(og.Touch(int(total / 10)))) }, true)
}

func benchDigisac(t *testing.T, bin string, n int) []benchRow {
	const perTicket = 12
	tickets := max(10, n/perTicket)
	// Tickets every 5 minutes from 2024 on: all of them are in the past.
	ds := digisacsim.New(digisacsim.Config{Seed: 8, Contacts: tickets / 2, Tickets: tickets, MessagesPerTicket: perTicket, TicketEvery: 5 * time.Minute})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	db := dbtest.New(t)
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("sources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n    token: %s\n    rate_limit: 10000\n", srv.URL, ds.Token()))
	total := int64(len(ds.Records("messages")))
	return benchSource(t, bin, db, cfg, fmt.Sprintf("Digisac %s", count(total)), total,
		func() int64 { return ds.Stats().Requests },
		func() int64 { return int64(len(ds.Edit("messages", int(total/10)))) }, false)
}

// benchSource measures a backfill into an empty warehouse, the COPY limit
// of its messages, a sync with nothing new and one after change() changed
// a tenth of the messages (and, with reread, a --full sync after it).
func benchSource(t *testing.T, bin string, db *dbtest.DB, cfg, name string, total int64, requests, change func() int64, reread bool) []benchRow {
	t.Helper()
	run := func(label string, rowsCovered int64, args ...string) benchRow {
		w0, b0 := tuples(t, db)
		r0 := requests()
		cmd := syncCommand(bin, cfg, db.URL)
		cmd.Args = append(cmd.Args, args...)
		took, rss, cpu := timed(t, cmd)
		w1, b1 := tuples(t, db)
		row := benchRow{Name: name + ": " + label, Rows: rowsCovered, Took: took, CPU: cpu, RSSKB: rss, Requests: requests() - r0,
			Tuples: w1 - w0, BookTuple: b1 - b0}
		t.Logf("%s: %s, %d kB, %d requests, %d tuples (+%d bookkeeping)", row.Name, took, rss, row.Requests, row.Tuples, row.BookTuple)
		return row
	}
	first := run("backfill", total)
	limit, copied := copyLimit(t, db)
	if copied != total {
		t.Fatalf("%s: the warehouse holds %d messages, the simulator %d", name, copied, total)
	}
	first.Limit = limit
	t.Logf("%s: COPY limit %.0f rows/s", name, limit)
	none := run("nothing new", total)
	none.Note = fmt.Sprintf("%.0f%% of the backfill's time", 100*none.Took.Seconds()/first.Took.Seconds())
	// The first sync after a backfill stores what later ones compare with
	// (Ogmma's probe fingerprints); the next is what a daemon pays.
	again := run("nothing new, again", total)
	again.Note = fmt.Sprintf("%.0f%% of the backfill's time", 100*again.Took.Seconds()/first.Took.Seconds())
	// Rows: the messages the run wrote, of those changed.
	changed := change()
	tenth := run("10% changed", changed)
	tenth.Rows = tenth.Tuples
	tenth.Note = fmt.Sprintf("of %d messages changed", changed)
	copyRow := benchRow{Name: name + ": COPY limit", Rows: total, Took: time.Duration(float64(total) / limit * float64(time.Second)), Limit: limit}
	out := []benchRow{copyRow, first, none, again, tenth}
	if reread {
		// Ogmma sees a change only in the messages it reads again: the
		// newest 50 of each conversation on every run, the newest 500
		// once an hour. --full is that hourly re-read.
		full := run("10% changed, then re-read (--full)", changed, "--full")
		full.Rows = full.Tuples
		full.Note = "the hourly full re-read: the changes older than the newest 50"
		out = append(out, full)
	}
	return out
}

// benchImport imports a Digisac ticket CSV of about mb MiB.
func benchImport(t *testing.T, bin string, mb int) benchRow {
	db := dbtest.New(t)
	cfg := digisacConfig(t)
	path := filepath.Join(t.TempDir(), "tickets.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("Cliente pediu segunda via do boleto e informou novo endereço de entrega. ", 12)
	var size, n int64
	w := &bytes.Buffer{}
	w.WriteString("Protocolo;Contato;Aberto em;Fechado em;Tempo de atendimento;Observações\n")
	for size < int64(mb)<<20 {
		fmt.Fprintf(w, "2026%09d;Contato %d;01/03/2025 10:%02d:00;01/03/2025 11:00:00;00:%02d:00;%s %d\n", n, n, n%60, n%60, note, n)
		n++
		if w.Len() > 1<<20 {
			size += int64(w.Len())
			if _, err := w.WriteTo(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	size += int64(w.Len())
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", "--config", cfg, "--database-url", db.URL, "--log-level", "error",
		"--source", "acme-digisac", "--format", "digisac-tickets-csv", path)
	cmd.Env = append(os.Environ(), "SYNCER_CONFIG=")
	w0, b0 := tuples(t, db)
	took, rss, cpu := timed(t, cmd)
	w1, b1 := tuples(t, db)
	row := benchRow{Name: fmt.Sprintf("import of a %d MB Digisac CSV", size>>20), Rows: n, Took: took, CPU: cpu, RSSKB: rss, Tuples: w1 - w0, BookTuple: b1 - b0,
		Note: "tickets; no HTTP"}
	t.Logf("%s: %d tickets in %s, %d kB", row.Name, n, took, rss)
	return row
}

func count(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.FormatInt(n, 10)
}

// renderBench is the table, with what it was measured on.
func renderBench(t *testing.T, rows []benchRow) string {
	var version string
	if err := dbtest.New(t).Pool.QueryRow(context.Background(), "SHOW server_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured %s on %d CPUs, PostgreSQL %s, %s, with `make bench`\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), version, runtime.Version())
	b.WriteString("(`SYNCER_BENCH_OUT=bench/results.md go test -run '^TestBenchTable$' -timeout 90m -v ./cmd/syncer/`).\n")
	b.WriteString("The simulators serve over loopback HTTP from the test process, on the same machine;\n")
	b.WriteString("syncer runs as its own process (`syncer sync`, `syncer import`), whose CPU time and peak RSS are\n")
	b.WriteString("shown; the rest of the 2 cores goes to PostgreSQL and the simulators.\n")
	b.WriteString("Rows/s counts messages (tickets for the import; rows written for the 10% rows). COPY limit: the same\n")
	b.WriteString("message rows, as Go values (jsonb as its text),\n")
	b.WriteString("COPY'd with pgx into an empty table like messages with the same indexes (no foreign key, no\n")
	b.WriteString("merge). Ratio: to the COPY limit of the same size.\n")
	b.WriteString("Tuples: inserted, updated or deleted in the warehouse tables (`pg_stat_user_tables`), and in\n")
	b.WriteString("bookkeeping (`sync_runs`, `sync_state`, ...) after the +.\n\n")
	b.WriteString("| run | rows | time | rows/s | ratio | syncer CPU | peak RSS | requests | tuples written | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var limit float64
	for _, r := range rows {
		rate := float64(r.Rows) / r.Took.Seconds()
		ratio := "-"
		if strings.HasSuffix(r.Name, "COPY limit") {
			limit = r.Limit
			ratio = "1.00"
		} else if strings.HasSuffix(r.Name, "backfill") && limit > 0 {
			ratio = fmt.Sprintf("%.2f", rate/limit)
		}
		rss, req, tup, cpu := "-", "-", "-", "-"
		if r.CPU > 0 {
			cpu = fmt.Sprintf("%.2f s", r.CPU.Seconds())
		}
		if r.RSSKB > 0 {
			rss = fmt.Sprintf("%.0f MB", float64(r.RSSKB)/1024)
		}
		if !strings.HasSuffix(r.Name, "COPY limit") {
			if !strings.HasPrefix(r.Name, "import") {
				req = strconv.FormatInt(r.Requests, 10)
			}
			tup = fmt.Sprintf("%d + %d", r.Tuples, r.BookTuple)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f s | %.0f | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Rows, r.Took.Seconds(), rate, ratio, cpu, rss, req, tup, r.Note)
	}
	return b.String()
}
