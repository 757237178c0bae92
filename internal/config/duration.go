package config

import (
	"encoding"
	"fmt"
	"time"
)

// Duration is a time.Duration written in the config as "2m", "30s", "1h30m".
type Duration time.Duration

var (
	_ fmt.Stringer             = Duration(0)
	_ encoding.TextMarshaler   = Duration(0)
	_ encoding.TextUnmarshaler = (*Duration)(nil)
)

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("2m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText formats d as time.Duration does, for JSON and YAML output.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration such as "30s" or "2m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration such as 30s or 2m: %q", b)
	}
	*d = Duration(v)
	return nil
}
