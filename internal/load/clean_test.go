package load

import (
	"encoding/json"
	"testing"
)

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Olá 😊", "Olá 😊"},
		{"a\x00b", "ab"},
		{"bad \xff\xfe utf8", "bad  utf8"},
		{"", ""},
	} {
		if got := cleanText(tc.in); got != tc.want {
			t.Errorf("cleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":"x\u0000y"}`, `{"a":"xy"}`},
		{`{"a":"keep \\u0000 text"}`, `{"a":"keep \\u0000 text"}`},
		{`{"a":"\\\u0000"}`, `{"a":"\\"}`},
		{`{"a":"é"}`, `{"a":"é"}`},
		{"{\"a\":\"\xff\"}", `{"a":""}`},
		{`not json`, `{"text":"not json"}`},
		{`{"a":"cut \ud83d"}`, `{"a":"cut \ufffd"}`},
		{`{"a":"\uD83D\uDE00 whole"}`, `{"a":"\uD83D\uDE00 whole"}`},
		{`{"a":"\ude00x","b":"\ud83d\u0041"}`, `{"a":"\ufffdx","b":"\ufffd\u0041"}`},
		{`{"\ud800":1}`, `{"\ufffd":1}`},
	} {
		got := string(cleanJSON([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("cleanJSON(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("cleanJSON(%s) is not JSON", tc.in)
		}
	}
}

func FuzzCleanJSON(f *testing.F) {
	for _, s := range []string{`{"a":"x\u0000y"}`, `"\\\\u0000"`, `[1,2]`, `nope`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := cleanJSON(in)
		if !json.Valid(out) {
			t.Fatalf("cleanJSON(%q) = %q, not JSON", in, out)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
	})
}
