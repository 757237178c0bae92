package extract

import (
	"strings"
	"time"
)

// ParseTime reads the timestamps platforms send: RFC 3339 with or without
// fractional seconds, and returns it in UTC. Empty input is the zero time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
