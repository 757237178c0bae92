package digisac

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"syncer/internal/extract"
)

// The ticket-history CSV that Digisac's UI exports. What is known: it is
// ";"-separated UTF-8 with Portuguese headers and durations like 17:36:02.
// Its columns are unconfirmed, so columns are found by header name through
// csvAliases, and every cell is kept in raw under its original header.

// Column is one cell of an exported file under its original header.
type Column struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// TicketRow is one good row of the ticket-history CSV.
type TicketRow struct {
	File    string `json:"file"`     // the file's base name
	Line    int    `json:"line"`     // physical line (1-based, the header is line 1) where the row starts
	EndLine int    `json:"end_line"` // where it ends: later when a quoted cell holds newlines

	Protocol   string    `json:"protocol"`
	Contact    string    `json:"contact,omitempty"`
	Phone      string    `json:"phone,omitempty"` // as written
	Connection string    `json:"connection,omitempty"`
	Department string    `json:"department,omitempty"`
	Agent      string    `json:"agent,omitempty"`
	OpenedAt   time.Time `json:"opened_at"`
	ClosedAt   time.Time `json:"closed_at"`
	Topics     []string  `json:"topics,omitempty"`
	// Seconds of the handling and waiting time columns; nil when absent.
	HandlingSeconds *int64 `json:"handling_seconds,omitempty"`
	WaitingSeconds  *int64 `json:"waiting_seconds,omitempty"`
	// IsOpen from the status column; nil when the file has none or it says
	// something else than open or closed.
	IsOpen *bool `json:"is_open,omitempty"`
	// Every cell of the row, in file order, under its original header.
	Columns []Column `json:"columns"`
}

// TicketsCSV is what reading a ticket-history CSV found: its header and its
// counts (ReadTicketsCSV hands the rows and bad lines to its caller page by
// page instead of keeping them here).
type TicketsCSV struct {
	Header   []string          `json:"header"`
	Comma    string            `json:"comma"`
	Encoding string            `json:"encoding"` // utf-8 or iso-8859-1
	Rows     []TicketRow       `json:"rows"`
	Bad      []extract.BadLine `json:"bad"`
	Lines    int               `json:"lines"`       // physical lines in the file
	Skipped  int               `json:"skipped"`     // empty lines
	HeaderAt Span              `json:"header_line"` // the lines of the header record
}

// Span is the physical lines start..end (1-based) of a record.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// TicketsPage is a part of a ticket-history CSV, in file order.
type TicketsPage struct {
	Rows []TicketRow
	Bad  []extract.BadLine
	// Done counts the rows and bad lines of the file up to the end of this
	// page; Offset the bytes read.
	Done   int64
	Offset int64
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

// ReadTicketsCSV reads a ticket-history CSV named name from r, handing its
// good rows and bad lines to emit in pages of at most pageSize, in file
// order, in memory that does not grow with the file. latin1 says the file
// is not valid UTF-8 and is read as ISO-8859-1 (the usual other encoding of
// Brazilian spreadsheets). Local times are in loc. A row that cannot be
// read is a bad line and the other rows still come; the error is for a
// file that cannot be read at all (empty, no protocol column) or from emit.
// It returns what it found of the file, without rows and bad lines.
func ReadTicketsCSV(name string, r io.Reader, latin1 bool, loc *time.Location, pageSize int, emit func(TicketsPage) error) (*TicketsCSV, error) {
	if loc == nil {
		loc = time.UTC
	}
	pageSize = max(pageSize, 1)
	lr := extract.NewLineReader(r, latin1)
	out := &TicketsCSV{Encoding: "utf-8"}
	if latin1 {
		out.Encoding = "iso-8859-1"
	}
	cr := newCSVReader(lr)
	if err := cr.detectComma(); err != nil {
		return nil, err
	}
	out.Comma = string(cr.comma)
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: a ticket-history CSV starts with a header line")
	}
	if err != nil {
		return nil, err
	}
	if head.Err != "" {
		return nil, fmt.Errorf("line %d: the header line cannot be read: %s", head.Start, head.Err)
	}
	out.Header, out.HeaderAt = head.Fields, Span{head.Start, head.End}
	cols := map[string]int{}
	for i, h := range out.Header {
		if f, ok := aliasField[normalizeHeader(h)]; ok {
			if _, dup := cols[f]; !dup {
				cols[f] = i
			}
		}
	}
	if _, ok := cols[colProtocol]; !ok {
		return nil, fmt.Errorf("%w: the header line has %s; a ticket-history CSV needs one of %s (header names are compared without case or accents)",
			ErrNoProtocolColumn, quoteList(out.Header), quoteList(csvAliases[colProtocol]))
	}
	base := filepath.Base(name)
	var page TicketsPage
	flush := func() error {
		if len(page.Rows)+len(page.Bad) == 0 {
			return nil
		}
		page.Offset = lr.Offset()
		if err := emit(page); err != nil {
			return err
		}
		page = TicketsPage{Done: page.Done}
		return nil
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		page.Done++
		if rec.Err == "" && len(rec.Fields) > len(out.Header) && blankCells(rec.Fields[len(out.Header):]) {
			rec.Fields = rec.Fields[:len(out.Header)] // a trailing separator the header lacks
		}
		switch {
		case rec.Err != "":
		case len(rec.Fields) != len(out.Header):
			rec.Err = fmt.Sprintf("%d fields where the header has %d", len(rec.Fields), len(out.Header))
		default:
			row, err := ticketRow(out.Header, cols, rec.Fields, loc)
			if err == nil {
				row.File, row.Line, row.EndLine = base, rec.Start, rec.End
				page.Rows = append(page.Rows, row)
				break
			}
			rec.Err = err.Error()
		}
		if rec.Err != "" {
			page.Bad = append(page.Bad, extract.BadLine{Line: rec.Start, EndLine: rec.End, Reason: rec.Err, Text: rec.Text})
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
	out.Lines, out.Skipped = lr.Lines(), cr.blank
	return out, nil
}

// ticketRow reads the fields of one row.
func ticketRow(header []string, cols map[string]int, cells []string, loc *time.Location) (TicketRow, error) {
	var r TicketRow
	get := func(f string) string {
		if i, ok := cols[f]; ok {
			return strings.TrimSpace(cells[i])
		}
		return ""
	}
	r.Columns = make([]Column, len(header))
	for i, h := range header {
		r.Columns[i] = Column{Header: h, Value: cells[i]}
	}
	if r.Protocol = get(colProtocol); r.Protocol == "" {
		return r, fmt.Errorf("no protocol (column %q is empty)", header[cols[colProtocol]])
	}
	r.Contact, r.Connection, r.Department, r.Agent = get(colContact), get(colConnection), get(colDepartment), get(colAgent)
	r.Phone = get(colPhone)
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

func trimBOM(data []byte) []byte {
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return data[3:]
	}
	return data
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func blankCells(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
