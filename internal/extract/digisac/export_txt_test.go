package digisac

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"syncer/internal/golden"
)

var transcriptFiles = []string{
	"transcript_2025102948644.txt", "transcript_crlf_bom.txt", "transcript_latin1_2024030500001.txt",
	"transcript_broken_2025030100009.txt", "transcript_noprotocol.txt",
}

func TestTranscriptGolden(t *testing.T) {
	for _, name := range transcriptFiles {
		t.Run(name, func(t *testing.T) {
			res, err := ParseTranscript("/exports/"+name, readTestdata(t, name), TranscriptOptions{Location: saoPaulo(t)})
			var p parsed
			if err != nil {
				p.Error = err.Error()
			} else {
				p.Result = res
				checkTranscriptAccounting(t, res)
			}
			golden.JSON(t, strings.TrimSuffix(name, ".txt")+".golden.json", p)
		})
	}
}

func TestTranscript(t *testing.T) {
	loc := saoPaulo(t)
	parse := func(t *testing.T, name string) *TranscriptFile {
		t.Helper()
		res, err := ParseTranscript(name, readTestdata(t, name), TranscriptOptions{Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("the documented layout", func(t *testing.T) {
		res := parse(t, "transcript_2025102948644.txt")
		tr := res.Transcript
		if tr.Protocol != "2025102948644" || tr.Contact != "Ana Souza" || tr.ContactPhone != "5541990000000" ||
			tr.Connection != "8 - Vendas - 41990000001" || tr.Department != "Suporte" || tr.Agent != "João Lima" || !tr.Closed ||
			!tr.OpenedAt.Equal(time.Date(2024, 1, 15, 13, 28, 0, 0, time.UTC)) || !tr.ClosedAt.Equal(time.Date(2024, 1, 15, 14, 2, 13, 0, time.UTC)) {
			t.Errorf("header: %+v", tr)
		}
		if len(tr.Messages) != 4 || len(res.Bad) != 0 || res.Skipped != 1 {
			t.Fatalf("got %+v", res)
		}
		if m := tr.Messages[2]; m.N != 3 || m.Line != 11 || m.EndLine != 12 || m.Text != "É o 12345\ne chegou com defeito" || m.Author != "Ana Souza" {
			t.Errorf("continued message: %+v", m)
		}
	})
	t.Run("CRLF, BOM, blank lines", func(t *testing.T) {
		res := parse(t, "transcript_crlf_bom.txt")
		tr := res.Transcript
		if tr.Protocol != "2025102948650" || tr.Closed || len(tr.Messages) != 4 || len(res.Bad) != 0 || res.Encoding != "utf-8" {
			t.Fatalf("got %+v", res)
		}
		if m := tr.Messages[0]; m.Text != "Olá! Escolha uma opção:\n1 - Vendas\n2 - Suporte" || strings.Contains(m.Text, "\r") {
			t.Errorf("message 1 text %q", m.Text)
		}
		if m := tr.Messages[2]; m.Text != "cliente VIP\n\nconferir histórico" || m.EndLine != m.Line+2 {
			t.Errorf("a blank line inside a message: %+v", m)
		}
		if m := tr.Messages[1]; !m.Time.Equal(time.Date(2024, 1, 16, 12, 1, 0, 0, time.UTC)) {
			t.Errorf("hh:mm layout: %v", m.Time)
		}
		if tr.Header[3].Key != "Origem" || tr.Header[3].Value != "WhatsApp" {
			t.Errorf("unknown header key: %+v", tr.Header)
		}
	})
	t.Run("latin-1, protocol from the file name", func(t *testing.T) {
		res := parse(t, "transcript_latin1_2024030500001.txt")
		tr := res.Transcript
		if res.Encoding != "iso-8859-1" || tr.Protocol != "2024030500001" || tr.Contact != "Conceição" || tr.Messages[0].Text != "Não recebi a nota fiscal" {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("broken lines", func(t *testing.T) {
		res := parse(t, "transcript_broken_2025030100009.txt")
		tr := res.Transcript
		want := map[int]string{2: "neither a header line", 3: `Aberto em: time "ontem às 10h"`, 6: `time "32/03/2025 10:01:00" does not match`}
		if len(res.Bad) != len(want) {
			t.Fatalf("bad: %+v", res.Bad)
		}
		for _, b := range res.Bad {
			if want[b.Line] == "" || !strings.Contains(b.Reason, want[b.Line]) {
				t.Errorf("line %d: %q, want %q", b.Line, b.Reason, want[b.Line])
			}
		}
		if b := res.Bad[2]; b.EndLine != 7 || b.Text != "[32/03/2025 10:01:00] Ana: isto tem data errada\ne continua aqui" {
			t.Errorf("the bad message keeps its continuation: %+v", b)
		}
		if len(tr.Messages) != 2 || tr.Messages[1].N != 3 || tr.Messages[1].Line != 8 || !tr.Closed || !tr.OpenedAt.IsZero() {
			t.Errorf("good part: %+v", tr)
		}
	})
	t.Run("no protocol", func(t *testing.T) {
		_, err := ParseTranscript("transcript_noprotocol.txt", readTestdata(t, "transcript_noprotocol.txt"), TranscriptOptions{Location: loc})
		if !errors.Is(err, ErrNoProtocol) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("another layout", func(t *testing.T) {
		in := "Protocolo: 1\n2024-01-15 10:28:00 - Ana: oi\n2024-01-15 10:29 - João: olá\n"
		res, err := ParseTranscript("x.txt", []byte(in), TranscriptOptions{
			Location:    time.UTC,
			LinePattern: regexp.MustCompile(`^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?) - (?P<author>[^:]+): (?P<text>.*)$`),
			TimeLayouts: []string{"2006-01-02 15:04:05", "2006-01-02 15:04"},
		})
		if err != nil || len(res.Transcript.Messages) != 2 || res.Transcript.Messages[1].Author != "João" {
			t.Errorf("got %+v, %v", res, err)
		}
		if _, err := ParseTranscript("x.txt", []byte(in), TranscriptOptions{LinePattern: regexp.MustCompile(`(?P<time>.)`)}); err == nil {
			t.Error("a pattern without author and text was accepted")
		}
	})
	if DefaultTranscriptLinePattern != defaultTranscriptLine.String() {
		t.Error("the default pattern does not compile to itself")
	}
}

func TestProtocolInName(t *testing.T) {
	for in, want := range map[string]string{
		"ticket_2025102948644.txt":        "2025102948644",
		"12345-2025102948644-export.txt":  "2025102948644",
		"20251029486441.txt":              "",
		"x.txt":                           "",
		"2024-01-15_2025102948644_v2.txt": "2025102948644",
	} {
		if got := protocolInName(in); got != want {
			t.Errorf("protocolInName(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkTranscriptAccounting checks that every physical line is a header
// line, part of a message, part of a bad line or a skipped blank line,
// exactly once.
func checkTranscriptAccounting(t testing.TB, res *TranscriptFile) {
	t.Helper()
	spans := map[string][][2]int{}
	for _, h := range res.Transcript.Header {
		spans["a header line"] = append(spans["a header line"], [2]int{h.Line, h.Line})
	}
	for _, m := range res.Transcript.Messages {
		spans["a message"] = append(spans["a message"], [2]int{m.Line, m.EndLine})
	}
	for _, b := range res.Bad {
		spans["a bad line"] = append(spans["a bad line"], [2]int{b.Line, b.EndLine})
	}
	golden.Lines(t, res.Lines, res.Skipped, spans)
}

func FuzzTranscript(f *testing.F) {
	for _, name := range transcriptFiles {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("Protocolo: 1\r\n\r\n[01/01/2024 10:00] a: b\r\n\r\n  \r\nc\r\n[99/99/2024 10:00] x: y\nz\n\n"))
	f.Add([]byte("\xef\xbb\xbfProtocolo: 1\nContato: (\nFechado em: 01/01/2024 10:00\n\xff\xfe"))
	loc := saoPaulo(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseTranscript("fuzz_2025102948644.txt", data, TranscriptOptions{Location: loc})
		if err != nil {
			t.Fatalf("the file name holds a protocol, yet: %v", err)
		}
		checkTranscriptAccounting(t, res)
		for i, m := range res.Transcript.Messages {
			if m.Time.IsZero() || m.N < 1 || (i > 0 && m.N <= res.Transcript.Messages[i-1].N) {
				t.Fatalf("message %+v", m)
			}
		}
	})
}

// A message whose text goes on for megabytes, and a header of thousands of
// lines that cannot be read, come in pages of bounded size; every line is
// still accounted for once.
func TestTranscriptPagesAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("Protocolo: 2025102948644\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "%d - not a header line nor a message\n", i)
	}
	b.WriteString("[15/01/2024 10:28:00] Ana: start\n")
	line := strings.Repeat("z", 1000)
	for range 3000 { // 3 MB of continuation text
		b.WriteString(line + "\n")
	}
	b.WriteString("[15/01/2024 10:29:00] Ana: the end\n")
	data := []byte(b.String())
	var pages []TranscriptPage
	res, err := ReadTranscript("t.txt", strings.NewReader(b.String()), false, TranscriptOptions{Location: time.UTC}, 500, func(p TranscriptPage) error {
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := &TranscriptFile{Transcript: res.Transcript, Encoding: res.Encoding, Lines: res.Lines, Skipped: res.Skipped}
	for _, p := range pages {
		if n := len(p.Transcript.Messages) + len(p.Bad); n > 500 {
			t.Fatalf("a page of %d records, want at most 500", n)
		}
		all.Transcript.Messages = append(all.Transcript.Messages, p.Transcript.Messages...)
		all.Bad = append(all.Bad, p.Bad...)
		for _, m := range p.Transcript.Messages {
			if len(m.Text) > maxMessageBytes {
				t.Fatalf("message %d holds %d bytes", m.N, len(m.Text))
			}
		}
		for _, bad := range p.Bad {
			if len(bad.Text) > maxMessageBytes+len(line)+1 {
				t.Fatalf("a bad line of %d bytes", len(bad.Text))
			}
		}
	}
	checkTranscriptAccounting(t, all)
	msgs := all.Transcript.Messages
	if len(msgs) != 2 || msgs[1].Text != "the end" || len(all.Bad) < 3002 {
		t.Fatalf("%d messages, %d bad lines (file of %d bytes)", len(msgs), len(all.Bad), len(data))
	}
}
