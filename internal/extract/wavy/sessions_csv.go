package wavy

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gocarina/gocsv"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"syncer/internal/extract"
)

// The session CSV behind GET /v1/session's file_url (and the same file
// saved by hand, the wavy-sessions-csv format). What is known: a header
// row, the columns "source" (the user's phone; the Portuguese doc calls it
// "origem") and "session_created_at", ";" as a real consumer splits it.
// Unconfirmed: the separator (";" or ","), the date format and its time
// zone. So the reader takes both separators, both column names (without
// case or accents), ISO 8601 with a zone, epoch milliseconds, and local
// times in the source's time_zone; and keeps any other column in Extra.
//
// gocsv maps a row to sessionCSVRow by its header; encoding/csv splits
// it. Both stop at the first error of a stream, and a quote left open
// would make encoding/csv read the rest of the file as one field; so the
// reader hands encoding/csv one physical line at a time (lineFeed): a
// line that cannot be read is a bad line with its number, the next line is
// read afresh, and memory stays bounded by one line. A session is one line
// (a phone and a time), so a quoted cell that spans lines is a bad line
// too.

// sessionCSVRow is what gocsv fills from a row, by the canonical header
// names the reader gives the columns (canonicalHeader).
type sessionCSVRow struct {
	Source    string `csv:"source"`
	CreatedAt string `csv:"session_created_at"`
}

// The canonical names of the two columns, and the names each goes by
// (compared after foldHeader: lowercase, no accents, "_" for spaces).
const (
	colSource    = "source"
	colCreatedAt = "session_created_at"
)

var headerAliases = map[string]string{
	"source": colSource, "origem": colSource, "origin": colSource,
	"session_created_at": colCreatedAt, "sessioncreatedat": colCreatedAt, "created_at": colCreatedAt,
	"sessao_criada_em": colCreatedAt, "data_criacao_sessao": colCreatedAt,
}

// ErrNoSessionColumns means a CSV lacks the source or session_created_at
// column.
var ErrNoSessionColumns = errors.New("not a Wavy sessions CSV")

// SessionsCSV is what reading a sessions CSV found, beside its rows and
// bad lines (ReadSessionsCSV hands those to its caller page by page).
type SessionsCSV struct {
	Header  []string `json:"header"`
	Comma   string   `json:"comma"`
	Lines   int      `json:"lines"`   // physical lines in the file
	Skipped int      `json:"skipped"` // empty lines, and rows whose every cell is empty
}

// ReadSessionsCSV reads a sessions CSV named name from r, handing its good
// rows and bad lines to emit in pages of at most pageSize, in file order,
// in memory that does not grow with the file. latin1 says r is ISO-8859-1
// rather than UTF-8; local times are in loc. A row that cannot be read is
// a bad line and the rows after it still come. The error is for a file
// that cannot be read at all (empty, no source or session_created_at
// column) or from emit. A file of only the header has no sessions.
func ReadSessionsCSV(name string, r io.Reader, latin1 bool, loc *time.Location, pageSize int, emit func(SessionsPage) error) (*SessionsCSV, error) {
	if loc == nil {
		loc = time.UTC
	}
	pageSize = max(pageSize, 1)
	base := filepath.Base(name)
	lr := extract.NewLineReader(r, latin1)
	out := &SessionsCSV{}

	var head extract.Line
	for {
		l, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: a Wavy sessions CSV starts with a header line (source;session_created_at)")
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(l.Text) != "" {
			head = l
			break
		}
		out.Skipped++
	}
	if head.Long {
		return nil, fmt.Errorf("line %d: the header line is longer than %d MiB", head.No, extract.MaxLineBytes>>20)
	}
	feed := &lineFeed{}
	cr := csv.NewReader(feed)
	cr.Comma = detectComma(head.Text)
	out.Comma = string(cr.Comma)
	feed.set(head.Text)
	um, err := gocsv.NewUnmarshaller(cr, sessionCSVRow{})
	if err != nil {
		return nil, fmt.Errorf("line %d: the header line cannot be read: %w", head.No, err)
	}
	out.Header = append([]string(nil), um.Headers...)
	if err := um.RenormalizeHeaders(canonicalHeaders); err != nil {
		return nil, fmt.Errorf("line %d: the header line cannot be read: %w", head.No, err)
	}
	if len(um.MismatchedStructFields) > 0 {
		return nil, fmt.Errorf("%w: the header line (line %d) has the columns %q; a sessions CSV needs a column source (or origem) and a column session_created_at (header names are compared without case or accents)",
			ErrNoSessionColumns, head.No, out.Header)
	}

	page := SessionsPage{File: base}
	flush := func() error {
		if len(page.Rows)+len(page.Bad) == 0 {
			return nil
		}
		page.Offset = lr.Offset()
		if err := emit(page); err != nil {
			return err
		}
		page = SessionsPage{File: base, Done: page.Done}
		return nil
	}
	for {
		l, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(l.Text) == "" {
			out.Skipped++
			continue
		}
		var reason string
		var row Session
		if l.Long {
			reason = fmt.Sprintf("the line is longer than %d MiB", extract.MaxLineBytes>>20)
		} else {
			feed.set(l.Text)
			v, extra, err := um.ReadUnmatched()
			switch {
			case err != nil:
				reason = csvReason(err, len(out.Header))
			case blankRow(v.(sessionCSVRow), extra):
				out.Skipped++ // a row of separators only, as spreadsheets pad files
				continue
			default:
				row, reason = sessionRow(v.(sessionCSVRow), extra, um.Headers, out.Header, loc)
			}
		}
		page.Done++
		if reason != "" {
			page.Bad = append(page.Bad, extract.BadLine{Line: l.No, EndLine: l.No, Reason: reason, Text: l.Text})
		} else {
			row.File, row.Line = base, l.No
			page.Rows = append(page.Rows, row)
		}
		if len(page.Rows)+len(page.Bad) >= pageSize {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	out.Lines = lr.Lines()
	return out, nil
}

// lineFeed hands encoding/csv one line at a time: the line set last, with
// its "\n", then io.EOF until the next one is set. encoding/csv reads
// through a bufio.Reader, which does not keep an io.EOF: the next read
// after it reaches lineFeed again and gets the next line.
type lineFeed struct {
	line string
	off  int
}

func (f *lineFeed) set(line string) { f.line, f.off = line+"\n", 0 }

func (f *lineFeed) Read(p []byte) (int, error) {
	if f.off >= len(f.line) {
		return 0, io.EOF
	}
	n := copy(p, f.line[f.off:])
	f.off += n
	return n, nil
}

// canonicalHeaders renames the columns syncer knows to their canonical
// names (the first column of each, should two say the same); the others
// keep their header as written.
func canonicalHeaders(headers []string) []string {
	out := make([]string, len(headers))
	taken := map[string]bool{}
	for i, h := range headers {
		out[i] = h
		if c, ok := headerAliases[foldHeader(h)]; ok && !taken[c] {
			out[i], taken[c] = c, true
		} else if c, ok := headerAliases[h]; ok && c == h {
			// A second "source" column: its cells go to Extra, under a
			// name that is no longer a field's.
			out[i] = h + " (" + strconv.Itoa(i+1) + ")"
		}
	}
	return out
}

// foldHeader lowercases h, strips its accents and joins its words with
// "_": "Sessão Criada Em" becomes "sessao_criada_em".
func foldHeader(h string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, h)
	if err != nil {
		folded = h
	}
	return strings.Join(strings.FieldsFunc(strings.ToLower(folded), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	}), "_")
}

// detectComma picks ";" or "," by counting each outside quotes in the
// header line; ";" wins a tie, as a real consumer splits on it.
func detectComma(header string) rune {
	semi, comma, quoted := 0, 0, false
	for _, r := range header {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ';' && !quoted:
			semi++
		case r == ',' && !quoted:
			comma++
		}
	}
	if comma > semi {
		return ','
	}
	return ';'
}

// csvReason says why encoding/csv could not read a line.
func csvReason(err error, fields int) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			return fmt.Sprintf("the line does not have the header's %d fields", fields)
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return fmt.Sprintf("the CSV quoting is broken at column %d: %v (a quoted cell must close on its line)", pe.Column, pe.Err)
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// blankRow reports whether every cell of a row is empty.
func blankRow(r sessionCSVRow, extra map[string]string) bool {
	if strings.TrimSpace(r.Source) != "" || strings.TrimSpace(r.CreatedAt) != "" {
		return false
	}
	for _, v := range extra {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// sessionRow checks a row and makes it a Session; the reason is why it is
// a bad line. headers are the canonical names, written the file's own.
func sessionRow(r sessionCSVRow, extra map[string]string, headers, written []string, loc *time.Location) (Session, string) {
	s := Session{Phone: strings.TrimSpace(r.Source), CreatedText: strings.TrimSpace(r.CreatedAt)}
	if reason := checkPhone(s.Phone); reason != "" {
		return s, reason
	}
	if s.CreatedText == "" {
		return s, "session_created_at is empty"
	}
	t, err := ParseSessionTime(s.CreatedText, loc)
	if err != nil {
		return s, "session_created_at: " + err.Error()
	}
	s.CreatedAt = t
	for i, h := range headers {
		if v, ok := extra[h]; ok {
			s.Extra = append(s.Extra, Column{Header: written[i], Value: v})
		}
	}
	return s, ""
}

// checkPhone says what is wrong with a phone number, if anything: it may
// hold digits, spaces, "+", "-", ".", "(" and ")", and 8 to 15 digits
// (E.164 has at most 15).
func checkPhone(p string) string {
	if p == "" {
		return "source (the user's phone) is empty"
	}
	digits := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-.()", r):
		default:
			return fmt.Sprintf("source %q is not a phone number", p)
		}
	}
	if digits < 8 || digits > 15 {
		return fmt.Sprintf("source %q is not a phone number (%d digits; E.164 has 8 to 15)", p, digits)
	}
	return ""
}

// Session times that are not plausible: before 2000 or after 2100 (epoch
// seconds read as milliseconds land in 1970).
var (
	earliestSession = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestSession   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// zonedLayouts carry their own offset; localLayouts are read in the
// source's time zone.
var (
	zonedLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999 -0700", "2006-01-02 15:04:05.999999999 -07:00"}
	localLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04",
		"02/01/2006 15:04:05", "02/01/2006 15:04"}
)

// ParseSessionTime reads session_created_at: ISO 8601 with a zone
// ("2025-03-01T09:00:00-03:00", "...Z"), epoch milliseconds
// ("1740830400000"), or a local time in loc ("2025-03-01 09:00:00",
// "01/03/2025 09:00"). It returns UTC.
func ParseSessionTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, how, err := parseSessionTime(s, loc)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(earliestSession) || !t.Before(latestSession) {
		return time.Time{}, fmt.Errorf("%q%s is %s, not a plausible session time", s, how, t.Format(time.RFC3339))
	}
	return t, nil
}

func parseSessionTime(s string, loc *time.Location) (t time.Time, how string, err error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("%q is not epoch milliseconds", s)
		}
		return time.UnixMilli(ms).UTC(), " read as epoch milliseconds", nil
	}
	for _, l := range zonedLayouts {
		if v, err := time.Parse(l, s); err == nil {
			return v.UTC(), "", nil
		}
	}
	for _, l := range localLayouts {
		if v, err := time.ParseInLocation(l, s, loc); err == nil {
			return v.UTC(), "", nil
		}
	}
	return time.Time{}, "", fmt.Errorf("%q is not ISO 8601 with a zone, epoch milliseconds, nor yyyy-mm-dd hh:mm:ss", s)
}
