package load

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// cleanText removes what PostgreSQL refuses in text: NUL characters and
// bytes that are not UTF-8. Everything else is kept as it came.
func cleanText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	return strings.ReplaceAll(s, "\x00", "")
}

// cleanJSON makes a payload storable as jsonb, which refuses the escape
// \u0000 and invalid UTF-8: it drops the first and the second, and changes
// nothing else, so raw stays the payload as received. Input that is not
// JSON at all is wrapped as {"text": "..."}.
func cleanJSON(raw []byte) []byte {
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, nil)
	}
	if bytes.Contains(raw, []byte(`\u0000`)) {
		raw = dropNULEscapes(raw)
	}
	if !json.Valid(raw) {
		b, _ := json.Marshal(map[string]string{"text": cleanText(string(raw))})
		return b
	}
	return raw
}

// dropNULEscapes removes \u0000 escapes inside JSON strings, leaving an
// escaped backslash followed by "u0000" (the text \u0000) alone.
func dropNULEscapes(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		if raw[i+1] == 'u' && i+6 <= len(raw) && string(raw[i+2:i+6]) == "0000" {
			i += 5
			continue
		}
		out = append(out, c, raw[i+1]) // any other escape, kept whole
		i++
	}
	return out
}

// StorableJSON is raw made storable as jsonb, as every row's raw is: the
// \u0000 escapes and invalid UTF-8 that jsonb refuses are dropped, nothing
// else changes. The webhook handler keeps deliveries this way.
func StorableJSON(raw []byte) []byte { return cleanJSON(raw) }
