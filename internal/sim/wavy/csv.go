package wavysim

import (
	"strconv"
	"strings"
	"time"
)

// renderCSV writes the session CSV of sessions as Config says: a header
// row, then one line per session, the phone and session_created_at.
func (s *Simulator) renderCSV(sessions []session) []byte {
	var b strings.Builder
	eol := "\n"
	if s.cfg.CRLF {
		eol = "\r\n"
	}
	if s.cfg.BOM {
		b.WriteString("\ufeff")
	}
	comma := string(s.cfg.Comma)
	b.WriteString(s.cfg.Header + comma + "session_created_at" + eol)
	for _, se := range sessions {
		date := s.formatDate(se.created)
		if se.bad {
			date = badDate
		}
		b.WriteString(se.user.phone + comma + date + eol)
	}
	return []byte(b.String())
}

// formatDate writes a session time in Config.DateFormat.
func (s *Simulator) formatDate(ms int64) string {
	t := time.UnixMilli(ms).In(s.cfg.TimeZone)
	switch s.cfg.DateFormat {
	case "local":
		return t.Format(time.DateTime)
	case "iso":
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	case "epoch-ms":
		return strconv.FormatInt(ms, 10)
	default:
		return t.Format(s.cfg.DateFormat)
	}
}
