package wavy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"syncer/internal/extract"
)

// readBodies reads a whole saved-webhooks file.
func readBodies(t testing.TB, in string, pageSize int) ([]Webhook, []extract.BadLine, []WebhookFilePage, error) {
	t.Helper()
	var bodies []Webhook
	var bad []extract.BadLine
	var pages []WebhookFilePage
	err := ReadWebhookFile("saved.json", strings.NewReader(in), pageSize, func(p WebhookFilePage) error {
		bodies = append(bodies, p.Bodies...)
		bad = append(bad, p.Bad...)
		pages = append(pages, p)
		return nil
	})
	return bodies, bad, pages, err
}

func compact(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestReadWebhookFileLayouts(t *testing.T) {
	mo, st := readTestdata(t, "mo_batch.json"), readTestdata(t, "status_batch.json")
	moLine, stLine := compact(t, mo), compact(t, st)
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"one pretty body", string(mo)},
		{"one body on one line", moLine},
		{"pretty bodies one after another", string(mo) + "\n" + string(st)},
		{"JSON Lines", moLine + "\n" + stLine + "\n"},
		{"JSON Lines, CRLF and blank lines", "\r\n" + moLine + "\r\n\r\n" + stLine + "\r\n\r\n"},
		{"a byte order mark, one pretty body", "\ufeff" + string(mo)},
		{"a byte order mark, JSON Lines", "\ufeff" + moLine + "\n" + stLine + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bodies, bad, _, err := readBodies(t, tc.in, 100)
			if err != nil || len(bad) != 0 || len(bodies) == 0 || len(bodies[0].MO) != 3 {
				t.Fatalf("%d bodies, bad %+v, %v", len(bodies), bad, err)
			}
			if len(bodies) == 2 && len(bodies[1].Statuses) != 4 {
				t.Errorf("second body: %+v", bodies[1])
			}
			if _, _, pages, _ := readBodies(t, tc.in, 100); pages[len(pages)-1].Offset != int64(len(strings.TrimRight(tc.in, "\r\n"))) &&
				pages[len(pages)-1].Offset != int64(len(tc.in)) {
				t.Errorf("offset %d of a file of %d bytes", pages[len(pages)-1].Offset, len(tc.in))
			}
		})
	}
}

// In JSON Lines a bad line is quarantined with its number and the next
// lines still load; a broken body over many lines takes the rest of the
// file with it, and the bodies before it load.
func TestReadWebhookFileBadLines(t *testing.T) {
	moLine := compact(t, readTestdata(t, "mo_batch.json"))
	stLine := compact(t, readTestdata(t, "status_batch.json"))
	in := strings.Join([]string{
		moLine,                    // 1
		`{"total":1,"data":[{"id`, // 2: cut off
		stLine,                    // 3
		`[1,2]`,                   // 4: JSON, not a body
		"",                        // 5
		`{"total":1,"data":[`,     // 6: cut off, and line 7 looks like its element
		moLine,                    // 7
		stLine,                    // 8
		`not json at all`,         // 9
		moLine,                    // 10
	}, "\n")
	bodies, bad, _, err := readBodies(t, in, 100)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, b := range bad {
		lines = append(lines, fmt.Sprintf("%d-%d", b.Line, b.EndLine))
	}
	if got := strings.Join(lines, " "); got != "2-2 4-4 6-6 9-9" {
		t.Errorf("bad lines %s, want 2-2 4-4 6-6 9-9: %+v", got, bad)
	}
	if len(bodies) != 5 {
		t.Errorf("%d bodies, want 5 (lines 1, 3, 7, 8, 10)", len(bodies))
	}
	if bad[0].Text != `{"total":1,"data":[{"id` || !strings.Contains(bad[1].Reason, "not a Wavy webhook body") {
		t.Errorf("bad lines %+v", bad)
	}

	pretty := string(readTestdata(t, "mo_batch.json"))
	broken := strings.Replace(pretty, `"receivedAt": 1513616971473,`, `"receivedAt": 1513616971473,,`, 1)
	bodies, bad, _, err = readBodies(t, pretty+"\n"+broken+"\n", 100)
	if err != nil {
		t.Fatal(err)
	}
	prettyLines := strings.Count(pretty, "\n") + 1
	if len(bodies) != 1 || len(bad) != 1 || bad[0].Line != prettyLines+1 || bad[0].EndLine != 2*prettyLines ||
		!strings.Contains(bad[0].Reason, "the rest of the file cannot be read after it") || !strings.HasPrefix(bad[0].Text, "{\n  \"total\": 3") {
		t.Errorf("%d bodies, bad %+v (a body is %d lines)", len(bodies), bad, prettyLines)
	}
}

// A file cut in the middle of its only body: the body is a bad line.
func TestReadWebhookFileCut(t *testing.T) {
	pretty := string(readTestdata(t, "mo_batch.json"))
	bodies, bad, _, err := readBodies(t, pretty[:len(pretty)/2], 100)
	if err != nil || len(bodies) != 0 || len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(bad[0].Reason, "cut off") {
		t.Fatalf("%d bodies, bad %+v, %v", len(bodies), bad, err)
	}
	for _, in := range []string{"", "  \n\n"} {
		if _, _, _, err := readBodies(t, in, 100); err == nil || !strings.Contains(err.Error(), "holds no JSON") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

// Pages are cut by bodies and by items, the same way every time; Done
// counts bodies and bad lines.
func TestReadWebhookFilePages(t *testing.T) {
	moLine := compact(t, readTestdata(t, "mo_batch.json")) // 3 items
	var b strings.Builder
	for i := range 10 {
		if i == 4 {
			b.WriteString("oops\n")
		}
		b.WriteString(moLine + "\n")
	}
	_, _, pages, err := readBodies(t, b.String(), 5)
	if err != nil {
		t.Fatal(err)
	}
	var dones []int64
	for _, p := range pages {
		dones = append(dones, p.Done)
	}
	// 5 items a page at most: two bodies (6 items) fill a page.
	if fmt.Sprint(dones) != "[2 4 7 9 11]" {
		t.Errorf("pages end at %v", dones)
	}
	boom := errors.New("boom")
	if err := ReadWebhookFile("x", strings.NewReader(b.String()), 1, func(WebhookFilePage) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("emit's error: %v", err)
	}
}

// A body over the cap is a bad line; in JSON Lines the next lines load.
func TestReadWebhookFileBodyCap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	moLine := compact(t, readTestdata(t, "mo_batch.json"))
	huge := `{"total":1,"data":[{"id":"x","message":{"type":"TEXT","messageText":"` + strings.Repeat("a", maxBodyBytes+10) + `"},"receivedAt":1}]}`
	bodies, bad, _, err := readBodies(t, moLine+"\n"+huge+"\n"+moLine+"\n", 100)
	if len(bad) == 0 {
		t.Fatalf("%d bodies, no bad line, %v", len(bodies), err)
	}
	if err != nil || len(bodies) != 2 || len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Reason, "over 64 MiB") || len(bad[0].Text) > maxBadText+4 {
		t.Fatalf("%d bodies, %d bad (%v), %v", len(bodies), len(bad), bad[0].Reason, err)
	}
}

// FuzzReadWebhookFile: any file reads without panicking, and every body
// and bad line stays within the file's lines, in order (several bodies
// may share a line).
func FuzzReadWebhookFile(f *testing.F) {
	mo, st := readTestdata(f, "mo_batch.json"), readTestdata(f, "status_batch.json")
	f.Add(mo)
	f.Add(append(append(append([]byte(nil), mo...), '\n'), st...))
	f.Add([]byte(compact(f, mo) + "\n{\"total\":1,\"data\":[{\"id\n" + compact(f, st)))
	f.Add([]byte("{\n\"total\":1,\n\"data\":[\n{\"id\":\"x\",\"sent\":true}\n]}\n{\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lines := bytes.Count(in, []byte{'\n'}) + 1
		last := 0
		_ = ReadWebhookFile("f", bytes.NewReader(in), 3, func(p WebhookFilePage) error {
			for _, b := range p.Bad {
				if b.Line < 1 || b.EndLine < b.Line || b.EndLine > lines || b.Line < last {
					t.Fatalf("bad line %d-%d of %d lines, after %d", b.Line, b.EndLine, lines, last)
				}
				last = b.EndLine
			}
			return nil
		})
	})
}
