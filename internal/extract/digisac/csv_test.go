package digisac

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"syncer/internal/extract"
)

// readAll reads every record of data with the streaming reader.
func readAll(t *testing.T, data string, comma byte) ([]csvRecord, *csvReader) {
	t.Helper()
	r := newCSVReader(extract.NewLineReader(strings.NewReader(data), false))
	r.comma = comma
	var out []csvRecord
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, r
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// FuzzCSVReaderMatchesEncodingCSV: on any input that encoding/csv reads
// without an error, the streaming reader gives the same records, and none
// of its records is bad.
func FuzzCSVReaderMatchesEncodingCSV(f *testing.F) {
	for _, name := range []string{"tickets_semicolon.csv", "tickets_comma.csv", "tickets_broken.csv"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("a;b\r\n\"x\r\ny\";\"\"\"\"\r\n\r\n;\n"))
	f.Add([]byte("\"multi\nline\";z\nlast;line"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := string(data)
		if strings.HasPrefix(s, "\xef\xbb\xbf") || len(s) > 4096 {
			return // the streaming reader drops a BOM; encoding/csv keeps it
		}
		ref := csv.NewReader(strings.NewReader(s))
		ref.Comma, ref.FieldsPerRecord = ';', -1
		want, err := ref.ReadAll()
		if err != nil {
			return
		}
		got, _ := readAll(t, s, ';')
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/csv reads %d: %q", len(got), len(want), s)
		}
		for i := range got {
			if got[i].Err != "" || !slices.Equal(got[i].Fields, want[i]) {
				t.Fatalf("record %d: %q (%s), encoding/csv reads %q; input %q", i, got[i].Fields, got[i].Err, want[i], s)
			}
		}
	})
}

// Bad records set aside only their own lines, and every physical line is
// read once: a record, a bad record or an empty line.
func TestCSVReaderRecovers(t *testing.T) {
	in := "h1;h2\n" + // 1
		"ok;1\n" + // 2
		"bare\"quote;2\n" + // 3: bare quote
		"\"closed\"x;3\n" + // 4: extraneous quote
		"\n" + // 5: empty
		"\"a\nb\";4\n" + // 6-7: quoted newline
		"\"never closed;5\n" + // 8: opens, never closes
		"after;6\n" // 9
	recs, r := readAll(t, in, ';')
	type got struct {
		start, end int
		bad        bool
	}
	var lines []got
	for _, r := range recs {
		lines = append(lines, got{r.Start, r.End, r.Err != ""})
	}
	want := []got{{1, 1, false}, {2, 2, false}, {3, 3, true}, {4, 4, true}, {6, 7, false}, {8, 8, true}, {9, 9, false}}
	if !slices.Equal(lines, want) {
		t.Fatalf("records %v, want %v", lines, want)
	}
	if r.lr.Lines() != 9 || r.blank != 1 {
		t.Fatalf("%d lines, %d blank; want 9 and 1", r.lr.Lines(), r.blank)
	}
	if recs[5].Err != "a quoted field opens here and is never closed" || recs[6].Fields[0] != "after" {
		t.Fatalf("unclosed quote: %+v then %+v", recs[5], recs[6])
	}
}

// A line over extract.MaxLineBytes is cut and read as a bad record, in bounded
// memory.
func TestCSVReaderLongLine(t *testing.T) {
	in := "h\n" + strings.Repeat("x", extract.MaxLineBytes+10) + "\nok\n"
	recs, _ := readAll(t, in, ';')
	if len(recs) != 3 || recs[1].Err == "" || !strings.Contains(recs[1].Err, "longer than 1 MiB") || recs[2].Fields[0] != "ok" {
		t.Fatalf("records %d, second %q", len(recs), recs[1].Err)
	}
}

// A quote that never closes is given up on after maxQuotedBytes, so that
// memory stays bounded; the lines after its first are read again.
func TestCSVReaderBoundsAnUnclosedQuote(t *testing.T) {
	line := strings.Repeat("y", 200<<10)
	var b strings.Builder
	b.WriteString("h1;h2\n\"opens;1\n")
	for range 40 { // 8 MiB inside the quote
		b.WriteString(line + ";2\n")
	}
	recs, r := readAll(t, b.String(), ';')
	if recs[1].Err == "" || !strings.Contains(recs[1].Err, "not closed within") || recs[1].End != 2 {
		t.Fatalf("the unclosed quote: %+v", recs[1].Err)
	}
	if len(recs) != 42 || r.lr.Lines() != 42 {
		t.Fatalf("%d records of %d lines, want every line read once (42)", len(recs), r.lr.Lines())
	}
}

// Separator detection skips every empty line before the header.
func TestDetectCommaAfterEmptyLines(t *testing.T) {
	r := newCSVReader(extract.NewLineReader(strings.NewReader("\n\n\nprotocolo,contato\n1,a\n"), false))
	if err := r.detectComma(); err != nil || r.comma != ',' {
		t.Fatalf("comma %q, %v", r.comma, err)
	}
}
