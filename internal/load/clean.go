package load

import (
	"bytes"
	"encoding/json"
	"strconv"
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
	if bytes.Contains(raw, []byte(`\u`)) {
		raw = fixEscapes(raw)
	}
	if !json.Valid(raw) {
		b, _ := json.Marshal(map[string]string{"text": cleanText(string(raw))})
		return b
	}
	return raw
}

// fixEscapes removes \u0000 escapes inside JSON strings and turns unpaired
// surrogate escapes (what JavaScript writes for text cut in the middle of
// an emoji) into \ufffd, the replacement character: jsonb refuses both.
// An escaped backslash followed by "u0000" (the text \u0000) is left alone.
func fixEscapes(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		if raw[i+1] != 'u' || i+6 > len(raw) {
			out = append(out, c, raw[i+1]) // any other escape, kept whole
			i++
			continue
		}
		u, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		switch {
		case err != nil:
			out = append(out, raw[i:i+6]...) // not an escape JSON allows; json.Valid says so later
		case u == 0:
		case u >= 0xd800 && u <= 0xdbff && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' && isLowSurrogate(raw[i+8:i+12]):
			out = append(out, raw[i:i+12]...) // a pair: one character
			i += 6
		case u >= 0xd800 && u <= 0xdfff:
			out = append(out, `\ufffd`...)
		default:
			out = append(out, raw[i:i+6]...)
		}
		i += 5
	}
	return out
}

func isLowSurrogate(hex []byte) bool {
	u, err := strconv.ParseUint(string(hex), 16, 16)
	return err == nil && u >= 0xdc00 && u <= 0xdfff
}

// StorableJSON is raw made storable as jsonb, as every row's raw is: the
// \u0000 escapes and invalid UTF-8 that jsonb refuses are dropped, and
// unpaired surrogate escapes become \ufffd; nothing else changes. The
// webhook handler keeps deliveries this way.
func StorableJSON(raw []byte) []byte { return cleanJSON(raw) }
