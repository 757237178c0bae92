package oxenty

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodePage(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("testdata", "doc_page.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := DecodePage(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 2 || l.Meta == nil || *l.Meta != (Meta{Total: 2, Page: 1, Limit: 10, TotalPages: 1}) {
		t.Fatalf("the doc's example: %d sessions, meta %+v", len(l.Data), l.Meta)
	}
	var s Session
	if err := json.Unmarshal(l.Data[0], &s); err != nil || s.ID != "550e8400-e29b-41d4-a716-446655440000" || *s.Status != "connected" ||
		*s.Phone != "5511999999999" || !*s.AllowGroup || *s.ConnectedAt != "2024-01-15T10:05:00.000Z" {
		t.Fatalf("the doc's first session: %+v %v", s, err)
	}

	for _, tc := range []struct {
		body    string
		data    int
		hasMeta bool
		err     string
	}{
		{`{"data":[]}`, 0, false, ""},
		{`{"data":[1,"x",null],"meta":null}`, 3, false, ""},
		{`{"data":[],"meta":{}}`, 0, true, ""},
		{`{"data":[],"meta":{"total":3,"extra":true},"links":{}}`, 0, true, ""},
		{` [] `, 0, false, "not a JSON object"},
		{``, 0, false, "not a JSON object"},
		{`{"items":[]}`, 0, false, `no "data" array`},
		{`{"data":null}`, 0, false, `no "data" array`},
		{`{"data":{}}`, 0, false, "not a list of sessions"},
		{`{"data":[],"meta":[]}`, 0, false, `"meta" is not`},
		{`{"data":[],"meta":{"total":"2"}}`, 0, false, `"meta" is not`},
		{`{"data":[],"meta":{"total":2.5}}`, 0, false, `"meta" is not`},
		{`{"data":[],"meta":{"totalPages":-1}}`, 0, false, "negative"},
		{`{"data":[]`, 0, false, "not a list of sessions"},
	} {
		l, err := DecodePage([]byte(tc.body))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil || len(l.Data) != tc.data || (l.Meta != nil) != tc.hasMeta {
			t.Errorf("%s: %+v %v", tc.body, l, err)
		}
	}
}

func TestSessionID(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		`{"id":"a-1"}`: "a-1", `{"id":"  "}`: "", `{"id":7}`: "", `{}`: "", `"x"`: "", `{"id":null}`: "",
	} {
		if got := sessionID(json.RawMessage(raw)); got != want {
			t.Errorf("sessionID(%s) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzDecodePage: whatever the body, DecodePage either fails or gives a
// page whose records are each valid JSON and whose meta has no negative
// number; and a page it accepts is accepted again once re-encoded.
func FuzzDecodePage(f *testing.F) {
	doc, err := os.ReadFile(filepath.Join("testdata", "doc_page.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	for _, s := range []string{`{"data":[]}`, `{"data":[{"id":"a"}],"meta":{"total":1,"page":1,"limit":1,"totalPages":1}}`,
		`{"data":[null,1,"x",{}],"meta":null}`, `{"data":{}}`, `[]`, `{"data":[],"meta":{"total":-1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := DecodePage(body)
		if err != nil {
			return
		}
		for _, r := range l.Data {
			if !json.Valid(r) {
				t.Fatalf("record %q is not JSON", r)
			}
			_ = sessionID(r)
		}
		if m := l.Meta; m != nil && (m.Total < 0 || m.Page < 0 || m.Limit < 0 || m.TotalPages < 0) {
			t.Fatalf("meta %+v", m)
		}
		again, err := json.Marshal(map[string]any{"data": l.Data, "meta": l.Meta})
		if err != nil {
			t.Fatal(err)
		}
		l2, err := DecodePage(again)
		if err != nil || len(l2.Data) != len(l.Data) || (l.Meta == nil) != (l2.Meta == nil) || (l.Meta != nil && *l.Meta != *l2.Meta) {
			t.Fatalf("re-encoded page %s: %+v %v", again, l2, err)
		}
	})
}
