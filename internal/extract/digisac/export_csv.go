package digisac

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"syncer/internal/transform"
)

// The ticket-history CSV that Digisac's UI exports. What is known: it is
// ";"-separated UTF-8 with Portuguese headers and durations like 17:36:02.
// Its columns are unconfirmed, so columns are found by header name through
// csvAliases, and every cell is kept in raw under its original header.

// BadLine is a line of an exported file that could not be read. It covers
// the physical lines Line..EndLine (a record whose quoted cell holds
// newlines spans several).
type BadLine struct {
	Line    int    `json:"line"` // 1-based; in a CSV the header is line 1
	EndLine int    `json:"end_line"`
	Reason  string `json:"reason"`
	Text    string `json:"text"` // the lines as written, joined with "\n"
}

// TicketsCSV is a ticket-history CSV read: its good rows and its bad lines.
type TicketsCSV struct {
	Header   []string                     `json:"header"`
	Comma    string                       `json:"comma"`
	Encoding string                       `json:"encoding"` // utf-8 or iso-8859-1
	Rows     []transform.DigisacTicketRow `json:"rows"`
	Bad      []BadLine                    `json:"bad"`
	Lines    int                          `json:"lines"`       // physical lines in the file
	Skipped  int                          `json:"skipped"`     // empty lines
	HeaderAt Span                         `json:"header_line"` // the lines of the header record
}

// The fields a column can stand for.
const (
	colProtocol   = "protocol"
	colContact    = "contact"
	colPhone      = "phone"
	colConnection = "connection"
	colDepartment = "department"
	colAgent      = "agent"
	colOpenedAt   = "opened_at"
	colClosedAt   = "closed_at"
	colTopic      = "topic"
	colHandling   = "handling_time"
	colWaiting    = "waiting_time"
	colStatus     = "status"
)

// csvAliases is the one table of the header names each field goes by.
// Headers are compared after normalizeHeader (case, accents, punctuation
// and spacing ignored).
var csvAliases = map[string][]string{
	colProtocol:   {"protocolo", "protocol", "nº do protocolo"},
	colContact:    {"contato", "cliente", "contact", "nome do contato"},
	colPhone:      {"número", "numero", "telefone", "celular", "phone", "whatsapp"},
	colConnection: {"conexão", "conexao", "canal", "connection", "service"},
	colDepartment: {"departamento", "department", "setor"},
	colAgent:      {"atendente", "usuário", "usuario", "agente", "agent", "user"},
	colOpenedAt:   {"aberto em", "data de abertura", "abertura", "iniciado em", "opened at", "started at"},
	colClosedAt:   {"fechado em", "data de fechamento", "fechamento", "encerrado em", "closed at", "ended at"},
	colTopic:      {"assunto", "assuntos", "topic", "motivo"},
	colHandling:   {"tempo de atendimento", "duração", "duracao", "tempo total", "handling time"},
	colWaiting:    {"tempo de espera", "waiting time"},
	colStatus:     {"status", "situação"},
}

// aliasField maps a normalised header to its field.
var aliasField = func() map[string]string {
	m := map[string]string{}
	for field, names := range csvAliases {
		for _, n := range names {
			m[normalizeHeader(n)] = field
		}
	}
	return m
}()

// normalizeHeader lowercases h, strips accents, turns punctuation into
// spaces and collapses spaces: "Nº do Protocolo" and "nº-do-protocolo"
// both become "no do protocolo".
func normalizeHeader(h string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(h) {
		r = foldAccent(r)
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// foldAccent maps the accented letters of Portuguese (and the ordinal
// indicators º and ª) to plain ASCII; other runes pass.
func foldAccent(r rune) rune {
	switch r {
	case 'á', 'à', 'â', 'ã', 'ä', 'å', 'ª':
		return 'a'
	case 'é', 'è', 'ê', 'ë':
		return 'e'
	case 'í', 'ì', 'î', 'ï':
		return 'i'
	case 'ó', 'ò', 'ô', 'õ', 'ö', 'º':
		return 'o'
	case 'ú', 'ù', 'û', 'ü':
		return 'u'
	case 'ç':
		return 'c'
	case 'ñ':
		return 'n'
	}
	return r
}

// ErrNoProtocolColumn means a CSV has no column that names the protocol.
var ErrNoProtocolColumn = errors.New("no protocol column")

// ParseTicketsCSV reads a ticket-history CSV named name (its base name goes
// into every row). Local times are in loc. A row that cannot be read is a
// BadLine and the other rows still come back; the error is for a file
// that cannot be read at all (empty, or no protocol column).
func ParseTicketsCSV(name string, data []byte, loc *time.Location) (*TicketsCSV, error) {
	if loc == nil {
		loc = time.UTC
	}
	text, enc := DecodeText(data)
	out := &TicketsCSV{Encoding: enc, Lines: countLines(text)}
	comma := detectComma(text)
	out.Comma = string(comma)
	rr := newRecordReader(text, comma)
	var records []csvCells
	if err := gocsv.UnmarshalCSV(rr, &records); err != nil {
		if errors.Is(err, gocsv.ErrEmptyCSVFile) {
			return nil, errors.New("the file is empty: a ticket-history CSV starts with a header line")
		}
		return nil, fmt.Errorf("read the CSV: %w", err)
	}
	if len(records) != len(rr.spans) { // gocsv hands back one record per Read
		return nil, fmt.Errorf("read the CSV: %d records from %d rows", len(records), len(rr.spans))
	}
	out.Header, out.HeaderAt = rr.header, rr.headerAt
	cols := map[string]int{}
	for i, h := range rr.header {
		if f, ok := aliasField[normalizeHeader(h)]; ok {
			if _, dup := cols[f]; !dup {
				cols[f] = i
			}
		}
	}
	if _, ok := cols[colProtocol]; !ok {
		return nil, fmt.Errorf("%w: the header line has %s; a ticket-history CSV needs one of %s (header names are compared without case or accents)",
			ErrNoProtocolColumn, quoteList(rr.header), quoteList(csvAliases[colProtocol]))
	}
	base := filepath.Base(name)
	rows := make([]transform.DigisacTicketRow, 0, len(records))
	bad := rr.bad
	for i, rec := range records {
		sp := rr.spans[i]
		row, err := ticketRow(rr.header, cols, rec.Cells, loc)
		if err != nil {
			bad = append(bad, BadLine{Line: sp.Start, EndLine: sp.End, Reason: err.Error(), Text: rr.text(sp.Start, sp.End)})
			continue
		}
		row.File, row.Line, row.EndLine = base, sp.Start, sp.End
		rows = append(rows, row)
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	out.Rows, out.Bad, out.Skipped = rows, bad, rr.blank
	return out, nil
}

// csvCells is one data row as gocsv hands it over: gocsv calls
// UnmarshalCSVWithFields once per cell, in column order.
type csvCells struct {
	Cells []string // gocsv accepts only a struct with an exported field
}

// UnmarshalCSVWithFields implements gocsv.TypeUnmarshalCSVWithFields.
func (c *csvCells) UnmarshalCSVWithFields(_, value string) error {
	c.Cells = append(c.Cells, value)
	return nil
}

// ticketRow reads the fields of one row.
func ticketRow(header []string, cols map[string]int, cells []string, loc *time.Location) (transform.DigisacTicketRow, error) {
	var r transform.DigisacTicketRow
	get := func(f string) string {
		if i, ok := cols[f]; ok {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	r.Columns = make([]transform.ExportColumn, len(header))
	for i, h := range header {
		r.Columns[i] = transform.ExportColumn{Header: h, Value: cells[i]}
	}
	if r.Protocol = get(colProtocol); r.Protocol == "" {
		return r, fmt.Errorf("no protocol (column %q is empty)", header[cols[colProtocol]])
	}
	r.Contact, r.Connection, r.Department, r.Agent = get(colContact), get(colConnection), get(colDepartment), get(colAgent)
	r.Phone = transform.Digits(get(colPhone))
	var err error
	for _, f := range []struct {
		col string
		dst *time.Time
	}{{colOpenedAt, &r.OpenedAt}, {colClosedAt, &r.ClosedAt}} {
		if *f.dst, err = ParseLocalTime(get(f.col), loc); err != nil {
			return r, fmt.Errorf("column %q: %w", header[cols[f.col]], err)
		}
	}
	for _, f := range []struct {
		col string
		dst **int64
	}{{colHandling, &r.HandlingSeconds}, {colWaiting, &r.WaitingSeconds}} {
		if *f.dst, err = parseDuration(get(f.col)); err != nil {
			return r, fmt.Errorf("column %q: %w", header[cols[f.col]], err)
		}
	}
	if t := get(colTopic); t != "" {
		for _, part := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ';' }) {
			if part = strings.TrimSpace(part); part != "" {
				r.Topics = append(r.Topics, part)
			}
		}
	}
	switch normalizeHeader(get(colStatus)) {
	case "aberto", "aberta", "open", "opened", "em aberto", "em atendimento", "pendente":
		v := true
		r.IsOpen = &v
	case "fechado", "fechada", "closed", "encerrado", "encerrada", "finalizado", "finalizada", "resolvido":
		v := false
		r.IsOpen = &v
	}
	return r, nil
}

// localLayouts are the layouts of the times in exported files, read in the
// source's time zone. RFC 3339 carries its own offset.
var localLayouts = []string{"2/1/2006 15:04:05", "2/1/2006 15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05"}

// ParseLocalTime reads a time of an exported file: dd/mm/yyyy hh:mm[:ss]
// or yyyy-mm-dd hh:mm[:ss] in loc, or RFC 3339. It returns UTC; empty input
// is the zero time.
func ParseLocalTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not dd/mm/yyyy hh:mm[:ss], yyyy-mm-dd hh:mm:ss or RFC 3339", s)
}

var durationRE = regexp.MustCompile(`^(\d{1,6}):([0-5]\d):([0-5]\d)$`)

// parseDuration reads h:mm:ss (hours may pass 24: 27:03:10) as seconds.
// Empty input is nil.
func parseDuration(s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("duration %q is not hh:mm:ss", s)
	}
	h, _ := strconv.ParseInt(m[1], 10, 64)
	mi, _ := strconv.ParseInt(m[2], 10, 64)
	se, _ := strconv.ParseInt(m[3], 10, 64)
	v := h*3600 + mi*60 + se
	return &v, nil
}

// DecodeText gives data as UTF-8 text without a byte-order mark, and the
// encoding it was read as: UTF-8 when the bytes are valid UTF-8, else
// ISO-8859-1 (each byte is its code point), the usual other encoding of
// Brazilian spreadsheets.
func DecodeText(data []byte) (string, string) {
	data = trimBOM(data)
	if utf8.Valid(data) {
		return string(data), "utf-8"
	}
	var b strings.Builder
	b.Grow(len(data) + len(data)/8)
	for _, c := range data {
		b.WriteRune(rune(c))
	}
	return b.String(), "iso-8859-1"
}

func trimBOM(data []byte) []byte {
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return data[3:]
	}
	return data
}

// detectComma picks ";" or "," by counting each outside quotes on the
// header line; ";" wins a tie, as in the known exports.
func detectComma(text string) rune {
	semi, comma, quoted := 0, 0, false
loop:
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				semi++
			}
		case ',':
			if !quoted {
				comma++
			}
		case '\n':
			if !quoted {
				break loop
			}
		}
	}
	if comma > semi {
		return ','
	}
	return ';'
}

// countLines counts physical lines: a last line without "\n" counts.
func countLines(text string) int {
	n := strings.Count(text, "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		n++
	}
	return n
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// recordReader is the gocsv.CSVReader under ParseTicketsCSV: an
// encoding/csv reader that knows the physical lines of every record, sets
// aside the records it cannot use as BadLines and goes on after them, so
// that gocsv sees only rows as wide as the header.
type recordReader struct {
	src    string
	starts []int // byte offset where each physical line starts
	comma  rune

	r       *csv.Reader
	base    int // lines before the one the current csv.Reader started at
	baseOff int // its byte offset in src

	header   []string
	headerAt Span
	spans    []Span // lines of each record returned after the header
	bad      []BadLine
	blank    int
	covered  int // lines before this one belong to a record or a bad line
}

// Span is the physical lines start..end (1-based) of a record.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

var _ gocsv.CSVReader = (*recordReader)(nil)

func newRecordReader(src string, comma rune) *recordReader {
	rr := &recordReader{src: src, comma: comma, starts: []int{0}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' && i+1 < len(src) {
			rr.starts = append(rr.starts, i+1)
		}
	}
	rr.restart(0)
	return rr
}

// restart reads on from line index k (0-based).
func (rr *recordReader) restart(k int) {
	rr.base = k
	rr.baseOff = len(rr.src)
	if k < len(rr.starts) && rr.src != "" {
		rr.baseOff = rr.starts[k]
	}
	rr.r = csv.NewReader(strings.NewReader(rr.src[rr.baseOff:]))
	rr.r.Comma = rr.comma
	rr.r.FieldsPerRecord = -1
}

// lineAt gives the 1-based line holding byte offset off.
func (rr *recordReader) lineAt(off int) int {
	return sort.Search(len(rr.starts), func(i int) bool { return rr.starts[i] > off })
}

// text gives lines start..end as written, without their line ends.
func (rr *recordReader) text(start, end int) string {
	from := rr.starts[start-1]
	to := len(rr.src)
	if end < len(rr.starts) {
		to = rr.starts[end]
	}
	s := rr.src[from:to]
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// account counts the empty lines csv.Reader skipped before line start.
func (rr *recordReader) account(start, end int) {
	if start > rr.covered+1 {
		rr.blank += start - rr.covered - 1
	}
	rr.covered = end
}

// Read returns the next record that is as wide as the header.
func (rr *recordReader) Read() ([]string, error) {
	for {
		rec, err := rr.r.Read()
		if err == io.EOF {
			if n := len(rr.starts); rr.src != "" && n > rr.covered {
				rr.account(n+1, n)
			}
			return nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			start, end := rr.base+pe.StartLine, rr.base+pe.Line
			atEOF := rr.baseOff+int(rr.r.InputOffset()) >= len(rr.src)
			reason := "the CSV quoting is broken: " + pe.Err.Error()
			if errors.Is(pe.Err, csv.ErrQuote) && atEOF && end > start {
				// A quote opened and never closed swallows the rest of the
				// file: set aside its first line only and read on after it.
				end, reason = start, "a quoted field opens here and is never closed"
			}
			end = min(max(end, start), len(rr.starts))
			if rr.header == nil {
				return nil, fmt.Errorf("line %d: the header line cannot be read: %s", start, reason)
			}
			rr.account(start, end)
			rr.bad = append(rr.bad, BadLine{Line: start, EndLine: end, Reason: reason, Text: rr.text(start, end)})
			rr.restart(end)
			continue
		}
		if err != nil {
			return nil, err
		}
		line, _ := rr.r.FieldPos(0)
		start := rr.base + line
		end := rr.lineAt(rr.baseOff + int(rr.r.InputOffset()) - 1)
		rr.account(start, end)
		if rr.header == nil {
			rr.header, rr.headerAt = rec, Span{start, end}
			return rec, nil
		}
		if len(rec) > len(rr.header) && blankCells(rec[len(rr.header):]) {
			rec = rec[:len(rr.header)] // a trailing separator the header lacks
		}
		if len(rec) != len(rr.header) {
			rr.bad = append(rr.bad, BadLine{Line: start, EndLine: end,
				Reason: fmt.Sprintf("%d fields where the header has %d", len(rec), len(rr.header)), Text: rr.text(start, end)})
			continue
		}
		rr.spans = append(rr.spans, Span{start, end})
		return rec, nil
	}
}

func blankCells(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// ReadAll reads the records that are left.
func (rr *recordReader) ReadAll() ([][]string, error) {
	var out [][]string
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}
