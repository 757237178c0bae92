package config

import (
	"encoding"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the config as "2m", "30s", "1h30m",
// or in whole days as "90d".
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

// UnmarshalText parses a Go duration such as "30s" or "2m", or a whole
// number of days such as "90d".
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return fmt.Errorf("not a duration such as 30s, 2m or 90d: %q", b)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration such as 30s, 2m or 90d: %q", b)
	}
	*d = Duration(v)
	return nil
}
