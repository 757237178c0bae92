package digisac

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"syncer/internal/extract"
	"syncer/internal/golden"
)

func saoPaulo(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parsed is what a golden file holds: the parse, or the file's error.
type parsed struct {
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

func TestTicketsCSVGolden(t *testing.T) {
	for _, name := range []string{"tickets_semicolon.csv", "tickets_comma.csv", "tickets_latin1.csv", "tickets_broken.csv", "tickets_noprotocol.csv"} {
		t.Run(name, func(t *testing.T) {
			res, err := ParseTicketsCSV("/some/dir/"+name, readTestdata(t, name), saoPaulo(t))
			var p parsed
			if err != nil {
				p.Error = err.Error()
			} else {
				p.Result = res
				checkCSVAccounting(t, res)
			}
			golden.JSON(t, strings.TrimSuffix(name, ".csv")+".golden.json", p)
		})
	}
}

func TestTicketsCSV(t *testing.T) {
	loc := saoPaulo(t)
	t.Run("semicolon, BOM, CRLF, quoted newlines", func(t *testing.T) {
		res, err := ParseTicketsCSV("x.csv", readTestdata(t, "tickets_semicolon.csv"), loc)
		if err != nil {
			t.Fatal(err)
		}
		if res.Comma != ";" || res.Encoding != "utf-8" || res.Header[0] != "Protocolo" || len(res.Rows) != 4 || len(res.Bad) != 0 {
			t.Fatalf("got %+v", res)
		}
		r := res.Rows[0]
		if r.Protocol != "2025102948644" || r.Phone != "+55 (41) 99000-0000" || r.Agent != "João Lima" ||
			!r.OpenedAt.Equal(time.Date(2024, 1, 15, 13, 28, 0, 0, time.UTC)) || *r.HandlingSeconds != 34*60+13 ||
			r.IsOpen == nil || *r.IsOpen || strings.Join(r.Topics, "|") != "Pedido|Troca" {
			t.Errorf("row 1: %+v", r)
		}
		if r := res.Rows[1]; r.Line != 3 || r.EndLine != 5 || r.Contact != `Bruno; o "Bruninho"` || !*r.IsOpen ||
			r.Columns[12].Value != "cliente pediu retorno\namanhã cedo\n(ligar antes das 9h)" {
			t.Errorf("row 2 (quoted cell over three lines): %+v", r)
		}
		if r := res.Rows[2]; r.Line != 6 || *r.HandlingSeconds != 27*3600+3*60+10 || *r.WaitingSeconds != 5 {
			t.Errorf("row 3 (27:03:10): %+v", r)
		}
		if r := res.Rows[3]; r.Line != 8 || r.IsOpen != nil || strings.Join(r.Topics, "|") != "Financeiro|Cobrança" {
			t.Errorf("row 4 (after an empty line, trailing separator): %+v", r)
		}
	})
	t.Run("latin-1", func(t *testing.T) {
		res, err := ParseTicketsCSV("x.csv", readTestdata(t, "tickets_latin1.csv"), loc)
		if err != nil {
			t.Fatal(err)
		}
		if res.Encoding != "iso-8859-1" || res.Header[0] != "Nº do Protocolo" || res.Rows[0].Agent != "João" || res.Rows[1].Agent != "Conceição" ||
			*res.Rows[0].HandlingSeconds != 3723 || res.Rows[0].Topics[0] != "Dúvida técnica" {
			t.Errorf("got %+v", res)
		}
	})
	t.Run("broken lines", func(t *testing.T) {
		res, err := ParseTicketsCSV("b.csv", readTestdata(t, "tickets_broken.csv"), loc)
		if err != nil {
			t.Fatal(err)
		}
		var good []int
		for _, r := range res.Rows {
			good = append(good, r.Line)
		}
		if got := jsonOf(good); got != "[2,9,11]" {
			t.Errorf("good rows start on lines %s, want [2,9,11]", got)
		}
		want := map[int]string{4: "3 fields where the header has 5", 5: `time "31/02/2025 10:00:00"`, 6: "no protocol",
			7: `duration "1h30" is not hh:mm:ss`, 8: "the CSV quoting is broken", 10: "a quoted field opens here and is never closed"}
		if len(res.Bad) != len(want) {
			t.Errorf("bad lines: %+v", res.Bad)
		}
		for _, b := range res.Bad {
			if !strings.Contains(b.Reason, want[b.Line]) || want[b.Line] == "" {
				t.Errorf("line %d: reason %q, want %q", b.Line, b.Reason, want[b.Line])
			}
		}
		if res.Bad[0].Text != "2025030100002;Bruno;01/03/2025 11:00:00" {
			t.Errorf("bad line text %q", res.Bad[0].Text)
		}
	})
	t.Run("no protocol column", func(t *testing.T) {
		_, err := ParseTicketsCSV("x.csv", readTestdata(t, "tickets_noprotocol.csv"), loc)
		if !errors.Is(err, ErrNoProtocolColumn) || !strings.Contains(err.Error(), `"Contato", "Aberto em", "Fechado em"`) {
			t.Errorf("err = %v", err)
		}
	})
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "the file is empty"},
		{"only a BOM and blank lines", "\xef\xbb\xbf\r\n\n", "the file is empty"},
		{"broken header", "Protocolo;\"Contato\"x\n1;a\n", "the header line cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseTicketsCSV("x.csv", []byte(tc.in), loc); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Nº do Protocolo":         "no do protocolo",
		"  TEMPO   de Espera ":    "tempo de espera",
		"Situação":                "situacao",
		"Duração (hh:mm:ss)":      "duracao hh mm ss",
		"nº-do-protocolo":         "no do protocolo",
		"Conexão":                 "conexao",
		"\ufeffProtocolo":         "protocolo",
		"Data de Abertura:":       "data de abertura",
		"Usuário/Atendente":       "usuario atendente",
		"tempo\tde\tatendimento ": "tempo de atendimento",
	} {
		if got := normalizeHeader(in); got != want {
			t.Errorf("normalizeHeader(%q) = %q, want %q", in, got, want)
		}
	}
	for field, names := range csvAliases {
		for _, n := range names {
			if aliasField[normalizeHeader(n)] != field {
				t.Errorf("alias %q of %s is taken by %s", n, field, aliasField[normalizeHeader(n)])
			}
		}
	}
}

func TestParseLocalTimeAndDuration(t *testing.T) {
	loc := saoPaulo(t)
	for in, want := range map[string]string{
		"15/01/2024 10:28:00":       "2024-01-15T13:28:00Z",
		"15/01/2024 10:28":          "2024-01-15T13:28:00Z",
		"5/1/2024 9:08":             "2024-01-05T12:08:00Z",
		"2024-01-15 10:28:00":       "2024-01-15T13:28:00Z",
		"2024-01-15T10:28:00-03:00": "2024-01-15T13:28:00Z",
		"2024-01-15T13:28:00.5Z":    "2024-01-15T13:28:00.5Z",
		"":                          "0001-01-01T00:00:00Z",
	} {
		got, err := ParseLocalTime(in, loc)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("ParseLocalTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"15-01-2024", "ontem", "32/01/2024 10:00", "15/01/2024 25:00"} {
		if _, err := ParseLocalTime(bad, loc); err == nil {
			t.Errorf("ParseLocalTime(%q) did not fail", bad)
		}
	}
	for in, want := range map[string]int64{"17:36:02": 63362, "0:00:05": 5, "27:03:10": 97390, "100:00:00": 360000} {
		got, err := parseDuration(in)
		if err != nil || *got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"1h30", "10:60:00", "10:00", "-1:00:00", "1:2:3"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) did not fail", bad)
		}
	}
}

func TestDetectComma(t *testing.T) {
	for in, want := range map[string]rune{
		"a;b;c\n1,2;3":               ';',
		"a,b,c\n1;2;3;4;5":           ',',
		`"x;y;z",b,c` + "\n":         ',',
		`"multi` + "\n" + `;;;",b,c`: ',',
		"single\n":                   ';',
	} {
		r := newCSVReader(extract.NewLineReader(strings.NewReader(in), false))
		if err := r.detectComma(); err != nil || rune(r.comma) != want {
			t.Errorf("detectComma(%q) = %q, %v; want %q", in, r.comma, err, want)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkCSVAccounting checks that every physical line is the header, part of
// a good row, part of a bad line or an empty line, exactly once.
func checkCSVAccounting(t testing.TB, res *TicketsCSV) {
	t.Helper()
	spans := map[string][][2]int{"the header": {{res.HeaderAt.Start, res.HeaderAt.End}}}
	for _, r := range res.Rows {
		spans["a row"] = append(spans["a row"], [2]int{r.Line, r.EndLine})
	}
	for _, b := range res.Bad {
		spans["a bad line"] = append(spans["a bad line"], [2]int{b.Line, b.EndLine})
	}
	golden.Lines(t, res.Lines, res.Skipped, spans)
}

func FuzzTicketsCSV(f *testing.F) {
	for _, name := range []string{"tickets_semicolon.csv", "tickets_comma.csv", "tickets_latin1.csv", "tickets_broken.csv", "tickets_noprotocol.csv"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("Protocolo;Contato\n\"1\n2\";\"a\"\"b\"\r\n;\n\"\n"))
	f.Add([]byte("protocol,x\n1,\"\n"))
	f.Add([]byte("\"Protocolo\"\n\r\n\r"))
	loc := saoPaulo(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseTicketsCSV("fuzz.csv", data, loc)
		if err != nil {
			return
		}
		checkCSVAccounting(t, res)
		for _, r := range res.Rows {
			if r.Protocol == "" || len(r.Columns) != len(res.Header) {
				t.Fatalf("row %+v", r)
			}
		}
	})
}

// ParseTicketsCSV reads a whole ticket-history CSV held in memory:
// ReadTicketsCSV with every row and bad line collected.
func ParseTicketsCSV(name string, data []byte, loc *time.Location) (*TicketsCSV, error) {
	var rows []TicketRow
	var bad []extract.BadLine
	out, err := ReadTicketsCSV(name, strings.NewReader(string(data)), !utf8.Valid(trimBOM(data)), loc, 1<<20, func(p TicketsPage) error {
		rows = append(rows, p.Rows...)
		bad = append(bad, p.Bad...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Rows, out.Bad = rows, bad
	if out.Rows == nil {
		out.Rows = []TicketRow{}
	}
	return out, nil
}
