package extract

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLineBytes is the longest line LineReader keeps: a longer one is cut
// there, the rest of it dropped, and the line marked Long.
const MaxLineBytes = 1 << 20

// Line is one physical line of a file: its number (1-based) and its text
// without the line end.
type Line struct {
	No   int
	Text string
	Long bool // cut at MaxLineBytes
}

// LineReader reads the physical lines of an exported file, in memory that
// does not grow with the file: it skips a UTF-8 byte order mark at the
// start, takes "\n" and "\r\n" line ends, decodes ISO-8859-1 when told to,
// and counts the lines and bytes it read. The platforms' file formats
// build their readers (CSV records, transcript lines) on it.
type LineReader struct {
	br     *bufio.Reader
	latin1 bool
	no     int   // lines read
	offset int64 // bytes read
	done   bool
}

// NewLineReader reads r; latin1 says it is ISO-8859-1 rather than UTF-8.
func NewLineReader(r io.Reader, latin1 bool) *LineReader {
	br := bufio.NewReaderSize(r, 64<<10)
	lr := &LineReader{br: br, latin1: latin1}
	if b, err := br.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		_, _ = br.Discard(3)
		lr.offset = 3
	}
	return lr
}

// Lines is how many lines were read so far.
func (lr *LineReader) Lines() int { return lr.no }

// Offset is how many bytes of the file were read so far (for progress).
func (lr *LineReader) Offset() int64 { return lr.offset }

// Next returns the next line, io.EOF after the last one. A last line
// without "\n" counts; an empty file has no lines.
func (lr *LineReader) Next() (Line, error) {
	if lr.done {
		return Line{}, io.EOF
	}
	var buf []byte
	tooLong := false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.offset += int64(len(chunk))
		if len(buf)+len(chunk) <= MaxLineBytes {
			buf = append(buf, chunk...)
		} else {
			tooLong = true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			lr.done = true
			if len(buf) == 0 && !tooLong {
				return Line{}, io.EOF
			}
			break
		}
		if err != nil {
			return Line{}, fmt.Errorf("read the file: %w", err)
		}
		break
	}
	lr.no++
	text := strings.TrimSuffix(lr.decode(buf), "\n")
	text = strings.TrimSuffix(text, "\r")
	return Line{No: lr.no, Text: text, Long: tooLong}, nil
}

func (lr *LineReader) decode(b []byte) string {
	if !lr.latin1 {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}
