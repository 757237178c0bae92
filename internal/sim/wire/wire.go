// Package wire is how the simulated platforms write JSON: instants in UTC
// with milliseconds and a "Z" ("2024-01-15T10:30:00.000Z"), and no HTML
// escaping ("<" and "&" stay as they are). The simulators and their controls
// encode every body through it.
//
// It owns the encoding only: no data, no HTTP, no knowledge of any platform.
package wire

import (
	"bytes"
	"encoding/json"
	"time"
)

// TimeLayout is how the platforms' JSON writes instants.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatMillis formats unix milliseconds with TimeLayout.
func FormatMillis(ms int64) string {
	var buf [len(TimeLayout)]byte
	return string(time.UnixMilli(ms).UTC().AppendFormat(buf[:0], TimeLayout))
}

// Encode encodes v as the platforms do (NUL still becomes \u0000), with a
// trailing newline. It panics when v cannot be encoded: the simulators only
// encode their own types.
func Encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("sim: encode response: " + err.Error())
	}
	return buf.Bytes()
}

// Marshal is Encode without the trailing newline.
func Marshal(v any) []byte {
	b := Encode(v)
	return b[:len(b)-1]
}
