package wavy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"syncer/internal/extract"
	"syncer/internal/golden"
)

var saoPaulo = func() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// readSessions reads a whole CSV, one page per pageSize records.
func readSessions(t testing.TB, in string, pageSize int) (*SessionsCSV, []SessionsPage, error) {
	t.Helper()
	var pages []SessionsPage
	info, err := ReadSessionsCSV("sessions.csv", strings.NewReader(in), false, saoPaulo, pageSize, func(p SessionsPage) error {
		pages = append(pages, p)
		return nil
	})
	return info, pages, err
}

func allRows(pages []SessionsPage) ([]Session, []extract.BadLine) {
	var rows []Session
	var bad []extract.BadLine
	for _, p := range pages {
		rows = append(rows, p.Rows...)
		bad = append(bad, p.Bad...)
	}
	return rows, bad
}

// The fixture holds every layout the reader takes and every kind of bad
// line; its reading is a golden file.
func TestReadSessionsCSVGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "sessions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	info, pages, err := readSessions(t, string(b), 4)
	if err != nil {
		t.Fatal(err)
	}
	rows, bad := allRows(pages)
	golden.JSON(t, "sessions.golden.json", map[string]any{"file": info, "rows": rows, "bad": bad})

	// Every physical line is read once: a row, a bad line, a skipped
	// blank or the header.
	spans := map[string][][2]int{"header": {{1, 1}}}
	for _, r := range rows {
		spans["rows"] = append(spans["rows"], [2]int{r.Line, r.Line})
	}
	for _, l := range bad {
		spans["bad"] = append(spans["bad"], [2]int{l.Line, l.EndLine})
	}
	golden.Lines(t, info.Lines, info.Skipped, spans)
	// Pages are cut every 4 records, Done counts them.
	for i, p := range pages[:len(pages)-1] {
		if len(p.Rows)+len(p.Bad) != 4 || p.Done != int64(4*(i+1)) {
			t.Errorf("page %d: %d records, done %d", i, len(p.Rows)+len(p.Bad), p.Done)
		}
	}
}

func TestReadSessionsCSV(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) // 09:00 in São Paulo
	for _, tc := range []struct {
		name  string
		in    string
		phone string
		extra []Column
	}{
		{"semicolon", "source;session_created_at\n5511999999999;2025-03-01 09:00:00\n", "5511999999999", nil},
		{"comma", "source,session_created_at\n5511999999999,2025-03-01 09:00:00\n", "5511999999999", nil},
		{"BOM and CRLF", "\xef\xbb\xbfsource;session_created_at\r\n5511999999999;2025-03-01 09:00:00\r\n", "5511999999999", nil},
		{"origem, any case, accents", "ORIGEM;Session_Created_At\n5511999999999;2025-03-01 09:00:00\n", "5511999999999", nil},
		{"columns in another order, unknown kept", "session_created_at;campanha;origem\n2025-03-01T12:00:00Z;Black Friday;+55 (11) 99999-9999\n",
			"+55 (11) 99999-9999", []Column{{"campanha", "Black Friday"}}},
		{"quoted cells", "\"source\";\"session_created_at\"\n\"5511999999999\";\"1740830400000\"\n", "5511999999999", nil},
		{"ISO with offset", "source;session_created_at\n5511999999999;2025-03-01T09:00:00-03:00\n", "5511999999999", nil},
		{"ISO with milliseconds", "source;session_created_at\n5511999999999;2025-03-01T12:00:00.000Z\n", "5511999999999", nil},
		{"Brazilian date", "source;session_created_at\n5511999999999;01/03/2025 09:00\n", "5511999999999", nil},
		{"blank lines and padding", "\nsource;session_created_at\n\n;\n5511999999999;2025-03-01 09:00:00\n\n", "5511999999999", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, pages, err := readSessions(t, tc.in, 10)
			if err != nil {
				t.Fatal(err)
			}
			rows, bad := allRows(pages)
			if len(rows) != 1 || len(bad) != 0 {
				t.Fatalf("rows %+v, bad %+v", rows, bad)
			}
			r := rows[0]
			if r.Phone != tc.phone || !r.CreatedAt.Equal(at) || r.CreatedAt.Location() != time.UTC || r.File != "sessions.csv" {
				t.Errorf("row %+v", r)
			}
			if len(r.Extra) != len(tc.extra) || (len(tc.extra) > 0 && r.Extra[0] != tc.extra[0]) {
				t.Errorf("extra %+v, want %+v", r.Extra, tc.extra)
			}
		})
	}
}

// A header-only file has no sessions; a file without the two columns, or
// without anything, cannot be read.
func TestReadSessionsCSVFile(t *testing.T) {
	info, pages, err := readSessions(t, "source;session_created_at\n", 10)
	if err != nil || len(pages) != 0 || info.Lines != 1 {
		t.Fatalf("header only: %v, %d pages, %+v", err, len(pages), info)
	}
	for in, want := range map[string]string{
		"":                          "the file is empty",
		"\xef\xbb\xbf\n\n":          "the file is empty",
		"phone;date\n1;2\n":         `the header line (line 1) has the columns ["phone" "date"]; a sessions CSV needs a column source (or origem)`,
		"source\n5511999999999\n":   "needs a column source (or origem) and a column session_created_at",
		"\"source;created\n":        "line 1: the header line cannot be read",
		"origem;origem;x\n1;2;3\n":  "needs a column source (or origem) and a column session_created_at",
		"session_created_at;foo\n1": "needs a column source",
	} {
		_, _, err := readSessions(t, in, 10)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
		if strings.Contains(want, "needs a column") && !errors.Is(err, ErrNoSessionColumns) {
			t.Errorf("%q: not ErrNoSessionColumns", in)
		}
	}
}

// A second column of a known name goes to Extra; the first one wins.
func TestReadSessionsCSVDuplicateColumns(t *testing.T) {
	_, pages, err := readSessions(t, "source;origem;session_created_at;source\n5511999999999;5511888888888;1740830400000;x\n", 10)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := allRows(pages)
	if len(rows) != 1 || rows[0].Phone != "5511999999999" || len(rows[0].Extra) != 2 ||
		rows[0].Extra[0] != (Column{"origem", "5511888888888"}) || rows[0].Extra[1] != (Column{"source", "x"}) {
		t.Fatalf("rows %+v", rows)
	}
}

// Emit's error stops the reading and comes back as it is.
func TestReadSessionsCSVEmitError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadSessionsCSV("s.csv", strings.NewReader("source;session_created_at\n5511999999999;1740830400000\n"), false, time.UTC, 1,
		func(SessionsPage) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

// Memory stays flat: a big file is read page by page.
func TestReadSessionsCSVBig(t *testing.T) {
	var b strings.Builder
	b.WriteString("origem;session_created_at\n")
	const n = 50_000
	for i := range n {
		fmt.Fprintf(&b, "55119%08d;2025-03-01 09:00:00\n", i)
	}
	pageMax, total := 0, 0
	_, err := ReadSessionsCSV("big.csv", strings.NewReader(b.String()), false, saoPaulo, 1000, func(p SessionsPage) error {
		pageMax = max(pageMax, len(p.Rows)+len(p.Bad))
		total += len(p.Rows)
		if len(p.Bad) > 0 {
			t.Fatalf("bad %+v", p.Bad[0])
		}
		return nil
	})
	if err != nil || total != n || pageMax != 1000 {
		t.Fatalf("%v: %d rows, pages of up to %d", err, total, pageMax)
	}
}

func TestParseSessionTime(t *testing.T) {
	want := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"2025-03-01 09:00:00", "2025-03-01T09:00:00", "2025-03-01 09:00", "2025-03-01 09:00:00.000",
		"2025-03-01T12:00:00Z", "2025-03-01T09:00:00-03:00", "2025-03-01 09:00:00-03:00", "2025-03-01T09:00:00-0300",
		"2025-03-01 09:00:00 -0300", "1740830400000", " 1740830400000 ", "01/03/2025 09:00:00"} {
		got, err := ParseSessionTime(s, saoPaulo)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	for s, reason := range map[string]string{
		"":                     "is not ISO 8601",
		"ontem":                "is not ISO 8601",
		"1740830400":           "not a plausible session time", // epoch seconds
		"99999999999999999999": "is not epoch milliseconds",
		"2025-13-01 09:00:00":  "is not ISO 8601",
		"0001-01-01 00:00:00":  "not a plausible session time",
	} {
		if _, err := ParseSessionTime(s, saoPaulo); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%q: err = %v, want %q", s, err, reason)
		}
	}
}

// FuzzReadSessionsCSV: any file reads without panicking; when it can be
// read, every physical line is the header, a row, a bad line or a skipped
// one, exactly once, and every row has a phone and a plausible time.
func FuzzReadSessionsCSV(f *testing.F) {
	f.Add(readTestdata(f, "sessions.csv"))
	f.Add([]byte("source,session_created_at\n5511999999999,1740830400000\n\"a\nb\",c\n"))
	f.Add([]byte("\xef\xbb\xbfORIGEM;Sessão\n5511999999999;2025-03-01 09:00\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var rows []Session
		var bad []extract.BadLine
		info, err := ReadSessionsCSV("f.csv", bytes.NewReader(in), false, saoPaulo, 3, func(p SessionsPage) error {
			rows = append(rows, p.Rows...)
			bad = append(bad, p.Bad...)
			return nil
		})
		if err != nil {
			return
		}
		header := 0
		for header < len(in) && bytes.IndexByte(in[header:], '\n') >= 0 && strings.TrimSpace(string(in[header:header+bytes.IndexByte(in[header:], '\n')])) == "" {
			header += bytes.IndexByte(in[header:], '\n') + 1
		}
		spans := map[string][][2]int{}
		for _, r := range rows {
			spans["rows"] = append(spans["rows"], [2]int{r.Line, r.Line})
			if r.Phone == "" || r.CreatedAt.Before(earliestSession) || !r.CreatedAt.Before(latestSession) {
				t.Fatalf("row %+v", r)
			}
		}
		for _, b := range bad {
			spans["bad"] = append(spans["bad"], [2]int{b.Line, b.EndLine})
		}
		headerLine := bytes.Count(in[:header], []byte{'\n'}) + 1
		spans["header"] = [][2]int{{headerLine, headerLine}}
		golden.Lines(t, info.Lines, info.Skipped, spans)
	})
}
