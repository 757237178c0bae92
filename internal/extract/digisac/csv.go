package digisac

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"syncer/internal/extract"
)

// csvReader reads the records of a CSV file from a stream, one at a time,
// with the physical lines each one spans, in constant memory whatever the
// size of the file. It reads as encoding/csv does (RFC 4180 quoting, "\r\n"
// or "\n", empty lines skipped, a quote only opens a field at its start),
// but a record it cannot read does not end the file: its lines become a bad
// record and reading goes on after them. A quote opened and never closed
// would swallow the rest of the file; only its first line is set aside
// then, and reading goes on from the next one.
//
// encoding/csv cannot go on after such an error in a stream (it has
// consumed the lines), and gocsv only wraps a reader; hence this one.
type csvReader struct {
	lr    *extract.LineReader
	comma byte
	queue []extract.Line // lines read ahead, read again before lr's
	blank int            // empty lines skipped
}

// csvRecord is one record, or lines that could not be read as one.
type csvRecord struct {
	Start, End int // physical lines
	Fields     []string
	Err        string // why the lines are bad; "" for a record
	Text       string // the lines as written, joined with "\n"
}

// A quoted field that spans more than maxQuotedLines lines or
// maxQuotedBytes bytes counts as never closed: memory stays bounded
// whatever the file holds.
const (
	maxQuotedLines = 10_000
	maxQuotedBytes = 4 << 20
)

func newCSVReader(lr *extract.LineReader) *csvReader { return &csvReader{lr: lr, comma: ';'} }

// nextLine returns the next physical line, from the queue first.
func (r *csvReader) nextLine() (extract.Line, error) {
	if len(r.queue) > 0 {
		l := r.queue[0]
		r.queue = r.queue[1:]
		return l, nil
	}
	return r.lr.Next()
}

// detectComma picks ";" or "," by counting each outside quotes on the
// first line (and the lines a quoted field carries it over); ";" wins a
// tie, as in the known exports. The lines it reads are read again.
func (r *csvReader) detectComma() error {
	semi, comma, quoted, size := 0, 0, false, 0
	for i := 0; i < maxQuotedLines && size <= maxQuotedBytes; i++ {
		l, err := r.lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		r.queue = append(r.queue, l)
		size += len(l.Text)
		if !quoted && l.Text == "" {
			continue // leading empty lines
		}
		for j := 0; j < len(l.Text); j++ {
			switch l.Text[j] {
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
			}
		}
		if !quoted {
			break
		}
	}
	if comma > semi {
		r.comma = ','
	}
	return nil
}

// Read returns the next record or bad record; io.EOF at the end.
func (r *csvReader) Read() (csvRecord, error) {
	first, err := r.nextLine()
	for err == nil && first.Text == "" {
		r.blank++
		first, err = r.nextLine()
	}
	if err != nil {
		return csvRecord{}, err
	}
	lines := []extract.Line{first}
	text := func() string {
		if len(lines) == 1 {
			return first.Text
		}
		texts := make([]string, len(lines))
		for i, l := range lines {
			texts[i] = l.Text
		}
		return strings.Join(texts, "\n")
	}
	bad := func(reason string) (csvRecord, error) {
		return csvRecord{Start: first.No, End: lines[len(lines)-1].No, Err: reason, Text: text()}, nil
	}
	// unclosed sets aside the first line of a quoted field that is never
	// closed and reads the others again.
	unclosed := func(reason string) (csvRecord, error) {
		r.queue = append(append([]extract.Line(nil), lines[1:]...), r.queue...)
		return csvRecord{Start: first.No, End: first.No, Err: reason, Text: first.Text}, nil
	}
	var fields []string
	var field strings.Builder
	line, pos, size := first.Text, 0, len(first.Text)
	for {
		field.Reset()
		if pos < len(line) && line[pos] == '"' { // quoted field
			pos++
			for {
				j := strings.IndexByte(line[pos:], '"')
				if j < 0 { // the field goes on on the next line
					field.WriteString(line[pos:])
					field.WriteByte('\n')
					next, err := r.nextLine()
					if errors.Is(err, io.EOF) {
						if len(lines) > 1 {
							return unclosed("a quoted field opens here and is never closed")
						}
						return bad("the CSV quoting is broken: " + csv.ErrQuote.Error())
					}
					if err != nil {
						return csvRecord{}, err
					}
					lines = append(lines, next)
					if size += len(next.Text); len(lines) > maxQuotedLines || size > maxQuotedBytes {
						return unclosed(fmt.Sprintf("a quoted field opens here and is not closed within %d lines or %d MiB", maxQuotedLines, maxQuotedBytes>>20))
					}
					line, pos = next.Text, 0
					continue
				}
				field.WriteString(line[pos : pos+j])
				pos += j + 1
				switch {
				case pos < len(line) && line[pos] == '"':
					field.WriteByte('"')
					pos++
					continue
				case pos == len(line):
				case line[pos] == r.comma:
				default:
					return bad("the CSV quoting is broken: " + csv.ErrQuote.Error())
				}
				break
			}
		} else { // plain field
			end := strings.IndexByte(line[pos:], r.comma)
			if end < 0 {
				end = len(line) - pos
			}
			cell := line[pos : pos+end]
			if strings.IndexByte(cell, '"') >= 0 {
				return bad("the CSV quoting is broken: " + csv.ErrBareQuote.Error())
			}
			field.WriteString(cell)
			pos += end
		}
		fields = append(fields, field.String())
		if pos >= len(line) {
			for _, l := range lines {
				if l.Long {
					return bad(fmt.Sprintf("line %d is longer than %d MiB", l.No, extract.MaxLineBytes>>20))
				}
			}
			return csvRecord{Start: first.No, End: lines[len(lines)-1].No, Fields: fields, Text: text()}, nil
		}
		pos++ // the comma
	}
}
