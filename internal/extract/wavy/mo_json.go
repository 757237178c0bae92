package wavy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"syncer/internal/extract"
)

// Saved webhook deliveries (the wavy-mo-json format): the bodies Wavy
// posted, one JSON body per file (often pretty-printed, over many lines),
// several such bodies one after another, or one body per line (JSON
// Lines). Each body is read by DecodeWebhook: an MO batch or a status
// batch.
//
// The bodies are read one after another from the stream with a
// json.Decoder, so a file of any length reads in memory bounded by its
// largest body (maxBodyBytes). What happens after a body that cannot be
// read depends on the layout:
//   - one body per line (the first body is a line of its own): that line
//     is a bad line, and reading goes on at the next one;
//   - a body over many lines: where one breaks, nothing after can be told
//     apart from the rest of it, so the lines from its start to the end of
//     the file are one bad line (quarantined with the error and the start
//     of the text), and the bodies before it load.

// maxBodyBytes caps one body of a saved file; maxBadText caps the text of
// a bad line kept for quarantine.
const (
	maxBodyBytes = 64 << 20
	maxBadText   = 64 << 10
)

// WebhookFilePage is a part of a saved webhooks file, in file order.
type WebhookFilePage struct {
	Bodies []Webhook
	Bad    []extract.BadLine // their Text is at most 64 KiB
	// Done counts the bodies and bad lines of the file up to the end of
	// this page; Offset the bytes read.
	Done   int64
	Offset int64
}

var errBodyTooLarge = fmt.Errorf("a body is over %d MiB", maxBodyBytes>>20)

// ReadWebhookFile reads a file of saved webhook bodies named name from r,
// handing its bodies and bad lines to emit in file order, in pages of at
// most pageSize bodies or pageSize items. The error is for a file that
// cannot be read at all (nothing but whitespace), or from emit.
func ReadWebhookFile(name string, r io.Reader, pageSize int, emit func(WebhookFilePage) error) error {
	pageSize = max(pageSize, 1)
	rd := &bodyReader{name: filepath.Base(name), t: newTracker(r)}
	var page WebhookFilePage
	items := 0
	flush := func() error {
		if len(page.Bodies)+len(page.Bad) == 0 {
			return nil
		}
		page.Offset = rd.t.base
		if err := emit(page); err != nil {
			return err
		}
		page, items = WebhookFilePage{Done: page.Done}, 0
		return nil
	}
	found := false
	for {
		body, bad, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		found = true
		page.Done++
		if bad != nil {
			page.Bad = append(page.Bad, *bad)
		} else {
			page.Bodies = append(page.Bodies, body)
			items += len(body.MO) + len(body.Statuses) + len(body.Invalid)
		}
		if len(page.Bodies)+len(page.Bad) >= pageSize || items >= pageSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if !found {
		return errors.New("the file holds no JSON: a wavy-mo-json file holds webhook bodies, one per file or one per line")
	}
	return flush()
}

// bodyReader reads the bodies of a file one after another.
type bodyReader struct {
	name  string
	t     *tracker
	dec   *json.Decoder
	start int64 // offset where dec began reading
	// lines is true while every body has been a line of its own; it
	// decides how to go on after a bad one. Unknown before the first.
	lines, known bool
	done         bool
}

// next returns the next body, or the next bad line, or io.EOF.
func (b *bodyReader) next() (Webhook, *extract.BadLine, error) {
	if b.done {
		return Webhook{}, nil, io.EOF
	}
	if b.dec == nil {
		b.dec = json.NewDecoder(b.t)
		b.start = b.t.pos
	}
	var raw json.RawMessage
	err := b.dec.Decode(&raw)
	if err != nil && b.t.err != nil && !errors.Is(b.t.err, errBodyTooLarge) {
		return Webhook{}, nil, fmt.Errorf("read the file: %w", b.t.err)
	}
	if errors.Is(err, io.EOF) && b.t.onlySpace() {
		b.done = true
		return Webhook{}, nil, io.EOF
	}
	from := b.t.firstNonSpace()
	firstLine := b.t.lineAt(from)
	if err != nil {
		return Webhook{}, b.broken(from, firstLine, err), nil
	}
	end := b.start + b.dec.InputOffset()
	lastLine := b.t.lineAt(end - 1)
	if !b.known {
		b.known, b.lines = true, firstLine == lastLine
	} else if firstLine != lastLine {
		b.lines = false
	}
	b.t.forget(end)
	if len(raw) > maxBodyBytes {
		return Webhook{}, &extract.BadLine{Line: firstLine, EndLine: lastLine, Reason: errBodyTooLarge.Error(), Text: clip(string(raw))}, nil
	}
	w, err := DecodeWebhook(raw)
	if err != nil {
		return Webhook{}, &extract.BadLine{Line: firstLine, EndLine: lastLine, Reason: err.Error(), Text: clip(string(raw))}, nil
	}
	return w, nil, nil
}

// broken makes the bad line of a body that does not decode, starting at
// offset from (line firstLine), and decides how reading goes on.
func (b *bodyReader) broken(from int64, firstLine int, err error) *extract.BadLine {
	reason := err.Error()
	switch {
	case errors.Is(b.t.err, errBodyTooLarge):
		reason = errBodyTooLarge.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		reason = "the JSON ends before the body does (cut off?)"
	}
	b.dec = nil
	oneLine := b.lines
	if !b.known { // the first body: one over many lines opens with a lone brace
		first := strings.TrimSpace(b.t.lineText(from))
		oneLine = first != "{" && first != "["
	}
	if oneLine {
		text, more := b.t.skipLine(from)
		b.done = !more
		return &extract.BadLine{Line: firstLine, EndLine: firstLine, Reason: reason, Text: clip(text)}
	}
	text := b.t.textFrom(from)
	last := b.t.drain()
	b.done = true
	return &extract.BadLine{Line: firstLine, EndLine: max(last, firstLine), Reason: reason + "; the rest of the file cannot be read after it",
		Text: clip(text)}
}

func clip(s string) string {
	if len(s) <= maxBadText {
		return s
	}
	return s[:maxBadText] + "…"
}

// tracker is the reader under the json.Decoder. It keeps the bytes from
// base (the end of the last body) to what it has read, so that offsets
// can be turned into line numbers and a bad body shown, and so that a new
// decoder can start again from the line after a bad one; and it stops a
// body over maxBodyBytes.
type tracker struct {
	r    *bufio.Reader
	buf  []byte // the bytes from base on that were read from r
	base int64  // file offset of buf[0]
	line int    // line number at base (1-based)
	pos  int64  // offset of the next byte Read gives
	err  error  // the last error of r, or errBodyTooLarge
}

// newTracker reads r, past a UTF-8 byte order mark at its start (which
// editors on Windows write, and JSON does not allow); offsets stay the
// file's.
func newTracker(r io.Reader) *tracker {
	t := &tracker{r: bufio.NewReaderSize(r, 64<<10), line: 1}
	if b, _ := t.r.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		t.r.Discard(len(utf8BOM))
		t.base, t.pos = int64(len(utf8BOM)), int64(len(utf8BOM))
	}
	return t
}

var utf8BOM = []byte("\xef\xbb\xbf")

func (t *tracker) end() int64 { return t.base + int64(len(t.buf)) }

// Read gives the bytes kept past pos again (after skipLine), then reads on.
func (t *tracker) Read(p []byte) (int, error) {
	if k := int(t.pos - t.base); k < len(t.buf) {
		n := copy(p, t.buf[k:])
		t.pos += int64(n)
		return n, nil
	}
	if len(t.buf) >= maxBodyBytes {
		t.err = errBodyTooLarge
		return 0, t.err
	}
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	t.pos += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}

// index is the position of offset off in buf.
func (t *tracker) index(off int64) int { return min(max(int(off-t.base), 0), len(t.buf)) }

// lineAt is the line of offset off (at most end()).
func (t *tracker) lineAt(off int64) int {
	return t.line + bytes.Count(t.buf[:t.index(off)], []byte{'\n'})
}

// forget drops the bytes before off.
func (t *tracker) forget(off int64) {
	k := t.index(off)
	t.line += bytes.Count(t.buf[:k], []byte{'\n'})
	t.buf = append(t.buf[:0:0], t.buf[k:]...)
	t.base += int64(k)
}

// firstNonSpace is the offset of the first byte kept that is not JSON
// whitespace, end() when there is none.
func (t *tracker) firstNonSpace() int64 {
	i := 0
	for i < len(t.buf) && isSpace(t.buf[i]) {
		i++
	}
	return t.base + int64(i)
}

func (t *tracker) onlySpace() bool { return t.firstNonSpace() == t.end() }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// lineText is the text kept from off to the end of its line.
func (t *tracker) lineText(off int64) string {
	s := t.buf[t.index(off):]
	if i := bytes.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// textFrom is the text kept from off on, at most maxBadText bytes.
func (t *tracker) textFrom(off int64) string {
	k := t.index(off)
	return string(t.buf[k:min(len(t.buf), k+maxBadText)])
}

// skipLine passes the line of off: it returns its text from off (at most
// maxBadText bytes of it), and reading goes on at the next line, whose
// bytes already read are given again. more is false when the file ends on
// that line.
func (t *tracker) skipLine(off int64) (text string, more bool) {
	k := t.index(off)
	if i := bytes.IndexByte(t.buf[k:], '\n'); i >= 0 {
		next := off + int64(i) + 1
		text = string(bytes.TrimRight(t.buf[k:k+i], "\r"))
		t.forget(next)
		t.pos, t.err = next, nil
		return text, true
	}
	// The line goes on past what was read: read to its end, keeping none.
	line := t.lineAt(off) + 1
	kept := append([]byte(nil), t.buf[k:min(len(t.buf), k+maxBadText)]...)
	pos := t.end()
	for {
		chunk, err := t.r.ReadSlice('\n')
		if len(kept) < maxBadText {
			kept = append(kept, chunk[:min(len(chunk), maxBadText-len(kept))]...)
		}
		pos += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		t.buf, t.base, t.line, t.pos, t.err = t.buf[:0], pos, line, pos, nil
		if err != nil && !errors.Is(err, io.EOF) {
			t.err = err
		}
		return string(bytes.TrimRight(kept, "\r\n")), err == nil
	}
}

// drain reads the rest of the file without keeping it and returns the
// number of its last line.
func (t *tracker) drain() int {
	line := t.lineAt(t.end())
	last := byte(0)
	if len(t.buf) > 0 {
		last = t.buf[len(t.buf)-1]
	}
	for {
		chunk, err := t.r.ReadSlice('\n')
		line += bytes.Count(chunk, []byte{'\n'})
		if len(chunk) > 0 {
			last = chunk[len(chunk)-1]
		}
		if !errors.Is(err, bufio.ErrBufferFull) && err != nil {
			break
		}
	}
	if last == '\n' {
		line-- // the file ends with a line end: no line after it
	}
	return line
}
