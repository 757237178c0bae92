package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/dbtest"
	"syncer/internal/extract/digisac"
	"syncer/internal/state"
)

func digisacSource() *config.Source {
	c := &config.Config{Sources: []config.Source{{Name: "acme-digisac", Platform: config.Digisac, BaseURL: "https://acme.digisac.app", Token: "digisac-test-token"}}}
	c.ApplyDefaults()
	return &c.Sources[0]
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newImporter(t *testing.T) (*Importer, *dbtest.DB) {
	db := dbtest.New(t)
	return New(state.New(db.Pool, nil), slog.New(slog.DiscardHandler)), db
}

const (
	DigisacTicketsCSV    = digisac.FormatTicketsCSV
	DigisacTranscriptTXT = digisac.FormatTranscriptTXT
	WavySessionsCSV      = "wavy-sessions-csv"
)

const brokenCSV = "Protocolo;Contato;Aberto em;Fechado em;Tempo de atendimento\r\n" +
	"2025030100001;\"Ana\r\nSouza\";01/03/2025 10:00:00;01/03/2025 10:10:00;00:10:00\r\n" + // lines 2-3
	"2025030100002;Bruno;01/03/2025 11:00:00\r\n" + // 4: too few fields
	"2025030100003;Carla;31/02/2025 10:00:00;;\r\n" + // 5: no such date
	"2025030100004;Davi;01/03/2025 12:00:00;;\r\n" + // 6: open
	"2025030100005;Eva;01/03/2025 13:00:00;;1h30\r\n" // 7: bad duration

func TestImportCSV(t *testing.T) {
	t.Parallel()
	im, db := newImporter(t)
	ctx := context.Background()
	src := digisacSource()
	path := writeFile(t, "tickets.csv", brokenCSV)

	res, err := im.Import(ctx, src, DigisacTicketsCSV, path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Status != state.StatusPartial || res.Rows != 5 || res.Written != 2 || res.Bad != 3 || res.RunID == 0 {
		t.Fatalf("result %+v", res)
	}
	var lines []int
	for _, b := range res.BadLines {
		lines = append(lines, b.Line)
	}
	if !slices.Equal(lines, []int{4, 5, 7}) {
		t.Errorf("bad lines %v, want [4 5 7]", lines)
	}

	var n int
	var open bool
	var opened time.Time
	var raw string
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM conversations WHERE external_id LIKE 'protocol:%' AND kind = 'ticket'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("conversations: %d, %v", n, err)
	}
	err = db.Pool.QueryRow(ctx, `SELECT is_open, opened_at, raw::text FROM conversations WHERE external_id = 'protocol:2025030100001'`).Scan(&open, &opened, &raw)
	if err != nil || open || !opened.Equal(time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)) || !strings.Contains(raw, `"Ana\nSouza"`) || !strings.Contains(raw, `"line": 2`) {
		t.Errorf("ticket 1: open %v opened %v raw %s err %v", open, opened, raw, err)
	}

	rows, err := db.Pool.Query(ctx, `SELECT external_id, reason, payload->>'text', stream, run_id FROM quarantine ORDER BY external_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, reason, text, stream string
		var runID int64
		if err := rows.Scan(&id, &reason, &text, &stream, &runID); err != nil {
			t.Fatal(err)
		}
		if stream != DigisacTicketsCSV || runID != res.RunID {
			t.Errorf("quarantine %s: stream %s run %d", id, stream, runID)
		}
		got = append(got, id+" | "+reason+" | "+text)
	}
	want := []string{
		"tickets.csv:4 | line 4: 3 fields where the header has 5 | 2025030100002;Bruno;01/03/2025 11:00:00",
		`tickets.csv:5 | line 5: column "Aberto em": time "31/02/2025 10:00:00" is not dd/mm/yyyy hh:mm[:ss], yyyy-mm-dd hh:mm:ss or RFC 3339 | 2025030100003;Carla;31/02/2025 10:00:00;;`,
		`tickets.csv:7 | line 7: column "Tempo de atendimento": duration "1h30" is not hh:mm:ss | 2025030100005;Eva;01/03/2025 13:00:00;;1h30`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("quarantine:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var status, mode, stream string
	var read, written, quarantined int64
	err = db.Pool.QueryRow(ctx, `SELECT status, mode, stream, rows_read, rows_written, rows_quarantined FROM sync_runs WHERE id = $1`, res.RunID).
		Scan(&status, &mode, &stream, &read, &written, &quarantined)
	if err != nil || status != "partial" || mode != "import" || stream != DigisacTicketsCSV || read != 5 || written != 2 || quarantined != 3 {
		t.Errorf("run: %s %s %s %d %d %d %v", status, mode, stream, read, written, quarantined, err)
	}
	var filePath string
	var fileRows int64
	if err := db.Pool.QueryRow(ctx, `SELECT path, rows FROM imported_files`).Scan(&filePath, &fileRows); err != nil || filePath != path || fileRows != 2 {
		t.Errorf("imported_files: %s %d %v", filePath, fileRows, err)
	}

	// The same bytes again, under another name: a no-op.
	again := writeFile(t, "copy.csv", brokenCSV)
	res2, err := im.Import(ctx, src, DigisacTicketsCSV, again)
	if err != nil || !res2.Skipped || res2.Status != StatusSkipped || res2.ImportedAt.IsZero() || res2.Written != 0 || res2.RunID != 0 {
		t.Errorf("second import: %+v, %v", res2, err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM sync_runs`).Scan(&n); err != nil || n != 1 {
		t.Errorf("runs after the second import: %d, %v", n, err)
	}
}

func TestImportTranscript(t *testing.T) {
	t.Parallel()
	im, db := newImporter(t)
	ctx := context.Background()
	src := digisacSource()
	s, err := im.Store.Source(ctx, src.Name, src.Platform)
	if err != nil {
		t.Fatal(err)
	}
	// The API brought this ticket already, without opened_at.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO conversations (source_id, external_id, kind, protocol, is_open, raw)
		VALUES ($1, '9c00e1f2-api', 'ticket', '2025102948644', false, '{}')`, s.ID); err != nil {
		t.Fatal(err)
	}
	known := writeFile(t, "2025102948644.txt", "\ufeffProtocolo: 2025102948644\r\nContato: Ana Souza (5541990000000)\r\n"+
		"Aberto em: 15/01/2024 10:28:00\r\nFechado em: 15/01/2024 11:02:13\r\n\r\n"+
		"[15/01/2024 10:28:00] Ana Souza: Olá\r\n[15/01/2024 10:29:12] João Lima: Bom dia!\r\nQual o pedido?\r\n"+
		"[99/01/2024 10:30:00] Ana Souza: data errada\r\n[15/01/2024 10:31:00] Sistema: Transferido\r\n")
	res, err := im.Import(ctx, src, DigisacTranscriptTXT, known)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != state.StatusPartial || res.Bad != 1 || res.BadLines[0].Line != 9 || res.Rows != 5 {
		t.Fatalf("result %+v", res)
	}
	rows, err := db.Pool.Query(ctx, `SELECT external_id, conversation_external_id, direction, kind, body, sent_at FROM messages ORDER BY external_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, conv, dir, kind, body string
		var at time.Time
		if err := rows.Scan(&id, &conv, &dir, &kind, &body, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{id, conv, dir, kind, body, at.UTC().Format(time.RFC3339)}, " | "))
	}
	want := []string{
		"txt:2025102948644:1 | 9c00e1f2-api | inbound | text | Olá | 2024-01-15T13:28:00Z",
		"txt:2025102948644:2 | 9c00e1f2-api | outbound | text | Bom dia!\nQual o pedido? | 2024-01-15T13:29:12Z",
		"txt:2025102948644:4 | 9c00e1f2-api | internal | system | Transferido | 2024-01-15T13:31:00Z",
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var n int
	var opened time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), min(opened_at) FROM conversations`).Scan(&n, &opened); err != nil || n != 1 ||
		!opened.Equal(time.Date(2024, 1, 15, 13, 28, 0, 0, time.UTC)) {
		t.Errorf("the API's ticket should be filled, not doubled: %d rows, opened %v, %v", n, opened, err)
	}

	// A protocol the warehouse does not know yet: the ticket waits under
	// "protocol:<n>", its protocol taken from the file name.
	unknown := writeFile(t, "export_2025102948699.txt", "Contato: Bruno\n\n[16/01/2024 09:00] Bruno: oi\n")
	if res, err := im.Import(ctx, src, DigisacTranscriptTXT, unknown); err != nil || res.Status != state.StatusSucceeded || res.Written != 2 {
		t.Fatalf("%+v, %v", res, err)
	}
	var conv string
	if err := db.Pool.QueryRow(ctx, `SELECT conversation_external_id FROM messages WHERE external_id = 'txt:2025102948699:1'`).Scan(&conv); err != nil || conv != "protocol:2025102948699" {
		t.Errorf("conversation %q, %v", conv, err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM conversations WHERE external_id = 'protocol:2025102948699' AND is_open`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the new ticket: %d, %v", n, err)
	}
}

func TestImportFailures(t *testing.T) {
	t.Parallel()
	im, db := newImporter(t)
	ctx := context.Background()
	src := digisacSource()

	// A file without a protocol column fails whole, is recorded as a failed
	// run, and can be imported again once fixed.
	path := writeFile(t, "t.csv", "Contato;Aberto em\nAna;01/01/2024 10:00\n")
	res, err := im.Import(ctx, src, DigisacTicketsCSV, path)
	if !errors.Is(err, digisac.ErrNoProtocolColumn) || res.Status != state.StatusFailed || res.RunID == 0 {
		t.Errorf("no protocol column: %+v, %v", res, err)
	}
	var status, msg string
	if err := db.Pool.QueryRow(ctx, `SELECT status, error FROM sync_runs WHERE id = $1`, res.RunID).Scan(&status, &msg); err != nil ||
		status != "failed" || !strings.Contains(msg, `"Contato", "Aberto em"`) {
		t.Errorf("run: %s %q %v", status, msg, err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM imported_files`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a failed file was recorded as imported: %d %v", n, err)
	}

	if _, err := im.Import(ctx, src, DigisacTicketsCSV, filepath.Join(t.TempDir(), "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := im.Import(ctx, src, DigisacTranscriptTXT, writeFile(t, "x.txt", "Contato: Ana\n")); !errors.Is(err, digisac.ErrNoProtocol) {
		t.Errorf("transcript without protocol: %v", err)
	}

	wavy := &config.Source{Name: "w", Platform: config.Wavy}
	if _, err := im.Import(ctx, wavy, WavySessionsCSV, path); err == nil || !strings.Contains(err.Error(), "a sessions CSV needs a column source (or origem) and a column session_created_at") {
		t.Errorf("a ticket CSV as Wavy sessions: %v", err)
	}
	var fe *FormatError
	if _, err := im.Import(ctx, wavy, DigisacTicketsCSV, path); !errors.As(err, &fe) || !strings.Contains(err.Error(), "for digisac sources") {
		t.Errorf("digisac format on wavy: %v", err)
	}
	if err := CheckFormat(config.Digisac, "zendesk-csv"); !errors.As(err, &fe) || !strings.Contains(err.Error(), "digisac-tickets-csv, digisac-transcript-txt, wavy-sessions-csv, wavy-mo-json") {
		t.Errorf("unknown format: %v", err)
	}
}

// The config's defaults and the reader's are the same layout.
func TestTranscriptDefaultsAgree(t *testing.T) {
	if config.DefaultTranscriptLinePattern != digisac.DefaultTranscriptLinePattern ||
		!slices.Equal(config.DefaultTranscriptTimeLayouts(), digisac.DefaultTranscriptTimeLayouts()) {
		t.Error("config and extract/digisac disagree on the default transcript layout")
	}
}

// bigCSV is a ticket-history CSV of n rows, some of them bad.
func bigCSV(n int) string {
	var b strings.Builder
	b.WriteString("Protocolo;Contato;Aberto em;Fechado em;Tempo de atendimento\n")
	for i := range n {
		if i%997 == 0 {
			fmt.Fprintf(&b, "2026%09d;Contato %d;31/02/2025 10:00:00;;\n", i, i) // no such date
			continue
		}
		fmt.Fprintf(&b, "2026%09d;Contato %d;01/03/2025 10:%02d:00;01/03/2025 11:00:00;00:%02d:00\n", i, i, i%60, i%60)
	}
	return b.String()
}

// An import stopped halfway (here: cancelled after its first part
// committed) goes on from there when run again: the warehouse ends equal
// to one clean import, nothing doubled, and only then is the file skipped.
func TestImportStoppedHalfwayResumes(t *testing.T) {
	t.Parallel()
	im, db := newImporter(t)
	clean, cleanDB := newImporter(t)
	src := digisacSource()
	const importPage = digisac.ImportPageSize
	const rows = 3*importPage + 1234
	path := writeFile(t, "big.csv", bigCSV(rows))

	ctx, cancel := context.WithCancel(context.Background())
	im.committed = func(done int64) {
		if done >= importPage {
			cancel()
		}
	}
	if _, err := im.Import(ctx, src, DigisacTicketsCSV, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("first import: %v, want it cancelled", err)
	}
	im.committed = nil
	var done int64
	var complete bool
	if err := db.Pool.QueryRow(context.Background(), `SELECT done, completed_at IS NOT NULL FROM imported_files`).Scan(&done, &complete); err != nil || done != importPage || complete {
		t.Fatalf("after the stop: done %d, complete %v, %v; want %d, false", done, complete, err, importPage)
	}

	res, err := im.Import(context.Background(), src, DigisacTicketsCSV, path)
	if err != nil || res.Skipped || res.Resumed != importPage || res.Rows != rows-importPage {
		t.Fatalf("second import: %+v, %v; want it to resume after %d records", res, err, importPage)
	}
	// The first part held bad lines: the file is partial, though this
	// import met only the rest of them.
	if res.Status != state.StatusPartial || res.EarlierBad != int64(importPage/997+1) || res.Bad != int64(rows/997+1-importPage/997-1) {
		t.Fatalf("second import: status %s, earlier bad %d, bad %d; want partial, %d, %d", res.Status, res.EarlierBad, res.Bad,
			importPage/997+1, rows/997+1-importPage/997-1)
	}
	if _, err := clean.Import(context.Background(), src, DigisacTicketsCSV, path); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT count(*), md5(string_agg(external_id || is_open::text || opened_at::text || coalesce(closed_at::text, ''), ',' ORDER BY external_id)) FROM conversations`
	var n, cleanN int
	var sum, cleanSum string
	if err := db.Pool.QueryRow(context.Background(), q).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if err := cleanDB.Pool.QueryRow(context.Background(), q).Scan(&cleanN, &cleanSum); err != nil {
		t.Fatal(err)
	}
	if n != cleanN || sum != cleanSum || n == 0 {
		t.Fatalf("resumed import: %d tickets (%s); one clean import: %d (%s)", n, sum, cleanN, cleanSum)
	}
	var quarantined, runs, failedRuns int
	if err := db.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM quarantine), (SELECT count(*) FROM sync_runs),
		(SELECT count(*) FROM sync_runs WHERE status = 'failed')`).Scan(&quarantined, &runs, &failedRuns); err != nil {
		t.Fatal(err)
	}
	if quarantined != rows/997+1 || runs != 2 || failedRuns != 1 {
		t.Fatalf("quarantine %d (want %d), runs %d (want 2), failed %d (want 1)", quarantined, rows/997+1, runs, failedRuns)
	}
	again, err := im.Import(context.Background(), src, DigisacTicketsCSV, path)
	if err != nil || !again.Skipped {
		t.Fatalf("third import: %+v, %v; want skipped", again, err)
	}
}

// heard is a Progress that keeps what it hears.
type heard struct {
	pages, rows, written int64
	done, total          int64
	status               string
}

func (h *heard) Page(rows int)              { h.pages++; h.rows += int64(rows) }
func (h *heard) Position(done, total int64) { h.done, h.total = done, total }
func (h *heard) Committed(written int64)    { h.written += written }
func (h *heard) Finish(status string)       { h.status = status }

// Importer.Progress hears each import: its pages and rows, the rows it
// wrote, how many bytes of the file are behind it (all of them at the
// end), and how it ended; a file imported before starts none.
func TestProgressHearsTheImport(t *testing.T) {
	t.Parallel()
	im, _ := newImporter(t)
	var h *heard
	var asked string
	im.Progress = func(source, format, path string, runID int64) Progress {
		asked = fmt.Sprintf("%s %s %s %v", source, format, filepath.Base(path), runID != 0)
		h = &heard{}
		return h
	}
	path := writeFile(t, "tickets.csv", brokenCSV)
	res, err := im.Import(context.Background(), digisacSource(), DigisacTicketsCSV, path)
	if err != nil {
		t.Fatal(err)
	}
	if asked != "acme-digisac digisac-tickets-csv tickets.csv true" {
		t.Fatalf("Progress asked for %q", asked)
	}
	if h.pages == 0 || h.rows != res.Rows || h.written != res.Written || h.done != int64(len(brokenCSV)) || h.total != int64(len(brokenCSV)) ||
		h.status != res.Status {
		t.Errorf("heard %+v; the import: %+v, %d bytes", h, res, len(brokenCSV))
	}

	h = nil
	if res, err := im.Import(context.Background(), digisacSource(), DigisacTicketsCSV, path); err != nil || !res.Skipped || h != nil {
		t.Errorf("again: %+v %v; progress %+v", res, err, h)
	}
}
