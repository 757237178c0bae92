package extract

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	in := "\xef\xbb\xbfa;b\r\n\nS\xe3o\n" + strings.Repeat("x", MaxLineBytes+5) + "\nlast"
	lr := NewLineReader(strings.NewReader(in), true)
	var got []Line
	for {
		l, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	if len(got) != 5 || lr.Lines() != 5 || lr.Offset() != int64(len(in)) {
		t.Fatalf("%d lines (Lines %d), offset %d of %d", len(got), lr.Lines(), lr.Offset(), len(in))
	}
	// A BOM read as ISO-8859-1 would be "ï»¿": it is skipped before decoding.
	if got[0].Text != "a;b" || got[1].Text != "" || got[2].Text != "São" || got[4].Text != "last" || got[4].No != 5 {
		t.Errorf("lines %q %q %q %q", got[0].Text, got[1].Text, got[2].Text, got[4].Text)
	}
	if !got[3].Long || len(got[3].Text) != MaxLineBytes || got[2].Long {
		t.Errorf("long line: Long %v, %d bytes kept", got[3].Long, len(got[3].Text))
	}
	if _, err := lr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the end: %v", err)
	}
}
