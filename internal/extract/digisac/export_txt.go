package digisac

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"syncer/internal/extract"
)

// The per-ticket TXT transcript. Its layout is unconfirmed, hence
// configurable (the source's transcript_line_pattern and
// transcript_time_layouts); the defaults read this, which is also what the
// simulator writes:
//
//	Protocolo: 2025102948644
//	Contato: Ana Souza (5541990000000)
//	Aberto em: 15/01/2024 10:28:00
//	Fechado em: 15/01/2024 11:02:13
//
//	[15/01/2024 10:28:00] Ana Souza: Olá, preciso de ajuda
//	[15/01/2024 10:30:40] Ana Souza: É o 12345
//	e chegou com defeito
//
// "Key: value" lines before the first message are the header; a line after
// it that is not a message continues the message before.

// DefaultTranscriptLinePattern reads "[15/01/2024 10:28:00] Ana Souza: Olá".
// It equals config.DefaultTranscriptLinePattern.
const DefaultTranscriptLinePattern = `^\[(?P<time>\d{2}/\d{2}/\d{4} \d{2}:\d{2}(?::\d{2})?)\] (?P<author>[^:\]]{1,120}): (?P<text>.*)$`

// DefaultTranscriptTimeLayouts are the layouts of the default line times.
func DefaultTranscriptTimeLayouts() []string {
	return []string{"02/01/2006 15:04:05", "02/01/2006 15:04"}
}

var defaultTranscriptLine = regexp.MustCompile(DefaultTranscriptLinePattern)

// TranscriptOptions say how a transcript's lines look. Zero fields take
// the defaults (UTC for Location).
type TranscriptOptions struct {
	Location    *time.Location
	LinePattern *regexp.Regexp // with the named groups time, author and text
	TimeLayouts []string
}

// NewTranscriptOptions builds the options from a source's settings; empty
// values take the defaults (America/Sao_Paulo, DefaultTranscriptLinePattern,
// DefaultTranscriptTimeLayouts).
func NewTranscriptOptions(timeZone, linePattern string, timeLayouts []string) (TranscriptOptions, error) {
	if timeZone == "" {
		timeZone = "America/Sao_Paulo"
	}
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		return TranscriptOptions{}, fmt.Errorf("time_zone %q: %w", timeZone, err)
	}
	if linePattern == "" {
		linePattern = DefaultTranscriptLinePattern
	}
	re, err := regexp.Compile(linePattern)
	if err != nil {
		return TranscriptOptions{}, fmt.Errorf("transcript_line_pattern: %w", err)
	}
	if len(timeLayouts) == 0 {
		timeLayouts = DefaultTranscriptTimeLayouts()
	}
	return TranscriptOptions{Location: loc, LinePattern: re, TimeLayouts: slices.Clone(timeLayouts)}, nil
}

// Transcript is one ticket's TXT transcript.
type Transcript struct {
	File     string `json:"file"` // the file's base name
	Protocol string `json:"protocol"`
	// From the header ("Key: value" lines before the first message).
	Contact      string    `json:"contact,omitempty"`       // the name, without "(phone)"
	ContactPhone string    `json:"contact_phone,omitempty"` // the phone in "(...)" after the name, as written
	Connection   string    `json:"connection,omitempty"`
	Department   string    `json:"department,omitempty"`
	Agent        string    `json:"agent,omitempty"`
	OpenedAt     time.Time `json:"opened_at"`
	ClosedAt     time.Time `json:"closed_at"`
	Closed       bool      `json:"closed"` // the header has a "Fechado em" line
	// Every header line, known keys or not, in file order.
	Header   []TranscriptField   `json:"header"`
	Messages []TranscriptMessage `json:"messages"`
}

// TranscriptField is one "Key: value" header line.
type TranscriptField struct {
	Line  int    `json:"line"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// TranscriptMessage is one message line and its continuation lines.
type TranscriptMessage struct {
	N        int       `json:"n"`        // 1-based index among the message lines of the file
	Line     int       `json:"line"`     // physical line of "[time] author: text"
	EndLine  int       `json:"end_line"` // last continuation line (Line when none)
	Time     time.Time `json:"time"`     // UTC
	TimeText string    `json:"time_text"`
	Author   string    `json:"author"`
	Text     string    `json:"text"` // continuation lines joined with "\n"
}

// TranscriptFile is a transcript read: the ticket and its messages, and the
// lines that could not be read.
type TranscriptFile struct {
	Transcript Transcript        `json:"transcript"`
	Bad        []extract.BadLine `json:"bad"`
	Encoding   string            `json:"encoding"`
	Lines      int               `json:"lines"`   // physical lines in the file
	Skipped    int               `json:"skipped"` // blank lines outside messages
}

// TranscriptPage is a part of a transcript, in file order: the ticket's
// header (whole from the first page on) with this page's messages, and its
// bad lines.
type TranscriptPage struct {
	Transcript Transcript
	Bad        []extract.BadLine
	// Done counts the messages and bad lines up to the end of this page;
	// Offset the bytes read.
	Done   int64
	Offset int64
}

// A message's text (or a bad line's) is cut after maxMessageBytes or
// maxBlankLines blank lines: what follows is set aside in bad lines of that
// size, so that memory stays bounded whatever the file holds.
const (
	maxMessageBytes = 1 << 20
	maxBlankLines   = 10_000
)

// ErrNoProtocol means a transcript names no protocol, in its header or in
// its file name.
var ErrNoProtocol = errors.New("no protocol")

var headerLineRE = regexp.MustCompile(`^\s*(\pL[\pL\pN \t._/()º°ª-]{0,60}?)\s*:\s*(.*?)\s*$`)

// ParseTranscript reads a whole transcript held in memory (an export the
// API answered, tests): ReadTranscript with everything collected.
func ParseTranscript(name string, data []byte, opts TranscriptOptions) (*TranscriptFile, error) {
	var msgs []TranscriptMessage
	var bad []extract.BadLine
	out, err := ReadTranscript(name, strings.NewReader(string(data)), !utf8.Valid(trimBOM(data)), opts, 1<<20, func(p TranscriptPage) error {
		msgs = append(msgs, p.Transcript.Messages...)
		bad = append(bad, p.Bad...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Transcript.Messages, out.Bad = msgs, bad
	return out, nil
}

// ReadTranscript reads the transcript named name (its base name goes into
// the records, and gives the protocol when the header has none) from r,
// handing its messages and bad lines to emit in pages of at most pageSize,
// in file order, in memory that does not grow with the file. latin1 says
// the file is not valid UTF-8 and is read as ISO-8859-1. It returns the
// transcript's header and counts, without messages and bad lines.
func ReadTranscript(name string, r io.Reader, latin1 bool, opts TranscriptOptions, pageSize int, emit func(TranscriptPage) error) (*TranscriptFile, error) {
	re, layouts, loc := opts.LinePattern, opts.TimeLayouts, opts.Location
	if re == nil {
		re = defaultTranscriptLine
	}
	if len(layouts) == 0 {
		layouts = DefaultTranscriptTimeLayouts()
	}
	if loc == nil {
		loc = time.UTC
	}
	pageSize = max(pageSize, 1)
	gTime, gAuthor, gText := re.SubexpIndex("time"), re.SubexpIndex("author"), re.SubexpIndex("text")
	if gTime < 0 || gAuthor < 0 || gText < 0 {
		return nil, fmt.Errorf("the transcript line pattern %q needs the named groups time, author and text", re.String())
	}
	lr := extract.NewLineReader(r, latin1)
	out := &TranscriptFile{Encoding: "utf-8"}
	if latin1 {
		out.Encoding = "iso-8859-1"
	}
	t := &out.Transcript
	t.File = filepath.Base(name)

	var (
		inBody  bool
		page    TranscriptPage
		cur     *TranscriptMessage // the message continuation lines join
		curBad  *extract.BadLine   // or the bad message line they join
		parts   []string           // the lines of that message or bad line so far
		pending []string           // blank lines that may be inside a message
		size    int                // bytes of parts and pending
		n       int
	)
	// protocol settles the protocol once the header is over.
	protocol := func() error {
		if t.Protocol == "" {
			t.Protocol = protocolInName(t.File)
		}
		if t.Protocol == "" {
			return fmt.Errorf("%w: the transcript has no \"Protocolo:\" header line and its file name %q holds no 13-digit protocol", ErrNoProtocol, t.File)
		}
		return nil
	}
	flush := func(force bool) error {
		if len(page.Transcript.Messages)+len(page.Bad) < pageSize && !force {
			return nil
		}
		if len(page.Transcript.Messages)+len(page.Bad) == 0 && !(force && page.Done == 0) {
			return nil
		}
		msgs := page.Transcript.Messages
		page.Transcript = *t
		page.Transcript.Messages = msgs
		page.Offset = lr.Offset()
		if err := emit(page); err != nil {
			return err
		}
		page = TranscriptPage{Done: page.Done}
		return nil
	}
	// finish completes the message or bad line that parts hold.
	finish := func() error {
		switch {
		case cur != nil:
			cur.Text = strings.Join(parts, "\n")
			page.Transcript.Messages = append(page.Transcript.Messages, *cur)
		case curBad != nil:
			curBad.Text = strings.Join(parts, "\n")
			page.Bad = append(page.Bad, *curBad)
		default:
			return nil
		}
		page.Done++
		cur, curBad, parts = nil, nil, parts[:0]
		return flush(false)
	}
	// setAside ends the message in hand and starts a bad line at line
	// from (the blank lines pending before this one, then this one).
	setAside := func(from, no int, s, reason string) error {
		if err := finish(); err != nil {
			return err
		}
		curBad = &extract.BadLine{Line: from, EndLine: no, Reason: reason}
		parts = append(append(parts[:0], pending...), s)
		size = len(s)
		pending = pending[:0]
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
		no, s := l.No, l.Text
		if l.Long {
			reason := fmt.Sprintf("the line is longer than %d MiB", extract.MaxLineBytes>>20)
			if inBody {
				if err := setAside(no-len(pending), no, s, reason); err != nil {
					return nil, err
				}
				if err := finish(); err != nil {
					return nil, err
				}
				continue
			}
			page.Bad = append(page.Bad, extract.BadLine{Line: no, EndLine: no, Reason: reason, Text: s})
			page.Done++
			if err := flush(false); err != nil {
				return nil, err
			}
			continue
		}
		if strings.TrimSpace(s) == "" {
			if cur == nil && curBad == nil {
				out.Skipped++
				continue
			}
			pending = append(pending, s)
			if size += len(s) + 1; len(pending) > maxBlankLines || size > maxMessageBytes {
				// Too much blank text to belong to the message: it ends
				// before it.
				if err := finish(); err != nil {
					return nil, err
				}
				out.Skipped += len(pending)
				pending = pending[:0]
			}
			continue
		}
		if m := re.FindStringSubmatch(s); m != nil {
			if err := finish(); err != nil {
				return nil, err
			}
			out.Skipped += len(pending)
			pending = pending[:0]
			if !inBody {
				inBody = true
				if err := protocol(); err != nil {
					return nil, err
				}
			}
			n++
			size = len(s)
			timeText := strings.TrimSpace(m[gTime])
			at, err := parseTimeLayouts(timeText, layouts, loc)
			if err != nil {
				curBad, parts = &extract.BadLine{Line: no, EndLine: no, Reason: err.Error()}, append(parts, s)
				continue
			}
			cur = &TranscriptMessage{N: n, Line: no, EndLine: no, Time: at, TimeText: timeText, Author: strings.TrimSpace(m[gAuthor])}
			parts = append(parts, m[gText])
			continue
		}
		if inBody {
			if cur == nil && curBad == nil || size+len(s) > maxMessageBytes {
				// The text after message n goes on too long to be one
				// message: the rest is set aside, a bounded piece at a time.
				reason := fmt.Sprintf("text after message %d goes on past %d MiB or %d blank lines; set aside", n, maxMessageBytes>>20, maxBlankLines)
				if err := setAside(no-len(pending), no, s, reason); err != nil {
					return nil, err
				}
				continue
			}
			parts = append(append(parts, pending...), s)
			size += len(s) + 1
			pending = pending[:0]
			if cur != nil {
				cur.EndLine = no
			} else {
				curBad.EndLine = no
			}
			continue
		}
		if reason := headerLine(t, no, s, layouts, loc); reason != "" {
			page.Bad = append(page.Bad, extract.BadLine{Line: no, EndLine: no, Reason: reason, Text: s})
			page.Done++
			if err := flush(false); err != nil {
				return nil, err
			}
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	out.Skipped += len(pending)
	if !inBody {
		if err := protocol(); err != nil {
			return nil, err
		}
	}
	if err := flush(true); err != nil {
		return nil, err
	}
	out.Lines = lr.Lines()
	return out, nil
}

// headerLine reads a "Key: value" line before the first message into t, or
// says why it cannot.
func headerLine(t *Transcript, no int, s string, layouts []string, loc *time.Location) string {
	m := headerLineRE.FindStringSubmatch(s)
	if m == nil {
		return "neither a header line (Key: value) nor a message line, before the first message"
	}
	key, value := m[1], m[2]
	switch aliasField[normalizeHeader(key)] {
	case colProtocol:
		if t.Protocol == "" {
			t.Protocol = value
		}
	case colContact:
		if t.Contact == "" {
			t.Contact, t.ContactPhone = splitContact(value)
		}
	case colConnection:
		if t.Connection == "" {
			t.Connection = value
		}
	case colDepartment:
		if t.Department == "" {
			t.Department = value
		}
	case colAgent:
		if t.Agent == "" {
			t.Agent = value
		}
	case colOpenedAt, colClosedAt:
		closing := aliasField[normalizeHeader(key)] == colClosedAt
		if closing && value != "" {
			t.Closed = true // closed even when the time cannot be read
		}
		at, err := parseTimeLayouts(value, layouts, loc)
		if err != nil {
			at, err = ParseLocalTime(value, loc)
		}
		if err != nil {
			return fmt.Sprintf("%s: time %q does not match the transcript time layouts %q", key, value, layouts)
		}
		if closing && t.ClosedAt.IsZero() {
			t.ClosedAt = at
		} else if !closing && t.OpenedAt.IsZero() {
			t.OpenedAt = at
		}
	}
	t.Header = append(t.Header, TranscriptField{Line: no, Key: key, Value: value})
	return ""
}

// splitContact splits "Ana Souza (5541990000000)" into the name and the
// phone, when the parentheses hold a digit.
func splitContact(v string) (name, phone string) {
	if strings.HasSuffix(v, ")") {
		if i := strings.LastIndexByte(v, '('); i >= 0 {
			if inner := strings.TrimSpace(v[i+1 : len(v)-1]); strings.ContainsAny(inner, "0123456789") {
				return strings.TrimSpace(v[:i]), inner
			}
		}
	}
	return v, ""
}

var digitRun = regexp.MustCompile(`\d+`)

// protocolInName finds the first run of exactly 13 digits in a file name.
func protocolInName(name string) string {
	for _, run := range digitRun.FindAllString(name, -1) {
		if len(run) == 13 {
			return run
		}
	}
	return ""
}

func parseTimeLayouts(s string, layouts []string, loc *time.Location) (time.Time, error) {
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q does not match the transcript time layouts %q", s, layouts)
}
