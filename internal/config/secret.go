package config

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

const redacted = "[REDACTED]"

// Secret holds a credential. It never prints itself: String, GoString, every
// fmt verb, MarshalJSON, MarshalText (and so YAML and flag defaults) and
// slog all give "[REDACTED]", or "" when the secret is empty. Reveal returns
// the value, and is the only way to get it.
type Secret string

var (
	_ fmt.Stringer             = Secret("")
	_ fmt.GoStringer           = Secret("")
	_ fmt.Formatter            = Secret("")
	_ json.Marshaler           = Secret("")
	_ encoding.TextMarshaler   = Secret("")
	_ encoding.TextUnmarshaler = (*Secret)(nil)
	_ slog.LogValuer           = Secret("")
)

// Reveal returns the credential itself. Call it only where the value goes to
// the platform (a header, a request body, a connection string).
func (s Secret) Reveal() string { return string(s) }

// String gives "[REDACTED]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString gives the quoted placeholder, so %#v of a struct stays Go-like.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format makes every verb (%v %s %q %+v %#v %x ...) print the placeholder.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		_, _ = io.WriteString(f, strconv.Quote(s.String()))
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, s.GoString())
			return
		}
		_, _ = io.WriteString(f, s.String())
	default:
		_, _ = io.WriteString(f, s.String())
	}
}

// MarshalJSON gives "[REDACTED]" (or "" when empty) as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText gives "[REDACTED]" (or "" when empty).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText sets the secret, so a Secret can back a flag.TextVar.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret(b)
	return nil
}

// LogValue gives "[REDACTED]" (or "" when empty) to log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
