package digisac

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"syncer/internal/transform"
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

// TranscriptFile is a transcript read: the ticket and its messages, and the
// lines that could not be read.
type TranscriptFile struct {
	Transcript transform.Transcript `json:"transcript"`
	Bad        []BadLine            `json:"bad"`
	Encoding   string               `json:"encoding"`
	Lines      int                  `json:"lines"`   // physical lines in the file
	Skipped    int                  `json:"skipped"` // blank lines outside messages
}

// ErrNoProtocol means a transcript names no protocol, in its header or in
// its file name.
var ErrNoProtocol = errors.New("no protocol")

var headerLineRE = regexp.MustCompile(`^\s*(\pL[\pL\pN \t._/()º°ª-]{0,60}?)\s*:\s*(.*?)\s*$`)

// ParseTranscript reads the transcript in data, named name (its base name
// goes into the records, and gives the protocol when the header has none).
func ParseTranscript(name string, data []byte, opts TranscriptOptions) (*TranscriptFile, error) {
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
	gTime, gAuthor, gText := re.SubexpIndex("time"), re.SubexpIndex("author"), re.SubexpIndex("text")
	if gTime < 0 || gAuthor < 0 || gText < 0 {
		return nil, fmt.Errorf("the transcript line pattern %q needs the named groups time, author and text", re.String())
	}
	text, enc := DecodeText(data)
	out := &TranscriptFile{Encoding: enc, Lines: countLines(text)}
	t := &out.Transcript
	t.File = filepath.Base(name)

	lines := strings.Split(text, "\n")
	if out.Lines < len(lines) { // the "" after a last "\n"
		lines = lines[:out.Lines]
	}
	var (
		inBody  bool
		cur     = -1     // the message continuation lines join (index in t.Messages)
		curBad  = -1     // or the bad message line they join (index in out.Bad)
		parts   []string // the lines of that message or bad line so far
		pending []string // blank lines that may be inside a message
		n       int
	)
	// finish sets the text of the message or bad line that parts hold.
	finish := func() {
		switch {
		case cur >= 0:
			t.Messages[cur].Text = strings.Join(parts, "\n")
		case curBad >= 0:
			out.Bad[curBad].Text = strings.Join(parts, "\n")
		}
		cur, curBad, parts = -1, -1, parts[:0]
	}
	for i, s := range lines {
		no := i + 1
		s = strings.TrimSuffix(s, "\r")
		if strings.TrimSpace(s) == "" {
			if cur >= 0 || curBad >= 0 {
				pending = append(pending, s)
			} else {
				out.Skipped++
			}
			continue
		}
		if m := re.FindStringSubmatch(s); m != nil {
			finish()
			out.Skipped += len(pending)
			pending = pending[:0]
			inBody = true
			n++
			timeText := strings.TrimSpace(m[gTime])
			at, err := parseTimeLayouts(timeText, layouts, loc)
			if err != nil {
				out.Bad = append(out.Bad, BadLine{Line: no, EndLine: no, Reason: err.Error()})
				curBad, parts = len(out.Bad)-1, append(parts, s)
				continue
			}
			t.Messages = append(t.Messages, transform.TranscriptMessage{
				N: n, Line: no, EndLine: no, Time: at, TimeText: timeText, Author: strings.TrimSpace(m[gAuthor]),
			})
			cur, parts = len(t.Messages)-1, append(parts, m[gText])
			continue
		}
		if inBody {
			parts = append(append(parts, pending...), s)
			pending = pending[:0]
			if cur >= 0 {
				t.Messages[cur].EndLine = no
			} else {
				out.Bad[curBad].EndLine = no
			}
			continue
		}
		if reason := headerLine(t, no, s, layouts, loc); reason != "" {
			out.Bad = append(out.Bad, BadLine{Line: no, EndLine: no, Reason: reason, Text: s})
		}
	}
	finish()
	out.Skipped += len(pending)

	if t.Protocol == "" {
		t.Protocol = protocolInName(t.File)
	}
	if t.Protocol == "" {
		return nil, fmt.Errorf("%w: the transcript has no \"Protocolo:\" header line and its file name %q holds no 13-digit protocol", ErrNoProtocol, t.File)
	}
	return out, nil
}

// headerLine reads a "Key: value" line before the first message into t, or
// says why it cannot.
func headerLine(t *transform.Transcript, no int, s string, layouts []string, loc *time.Location) string {
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
	t.Header = append(t.Header, transform.TranscriptField{Line: no, Key: key, Value: value})
	return ""
}

// splitContact splits "Ana Souza (5541990000000)" into the name and the
// phone's digits.
func splitContact(v string) (name, phone string) {
	if strings.HasSuffix(v, ")") {
		if i := strings.LastIndexByte(v, '('); i >= 0 {
			if d := transform.Digits(v[i+1 : len(v)-1]); d != "" {
				return strings.TrimSpace(v[:i]), d
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
