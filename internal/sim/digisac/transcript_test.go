package digisacsim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// dsFixture indexes a simulator's records, decoded once.
type dsFixture struct {
	names    map[string]string           // id → name of services, users, departments, contacts
	contacts map[string]map[string]any   // id → contact
	messages map[string][]map[string]any // ticketId → messages, oldest first
}

func newFixture(t *testing.T, d *Simulator) dsFixture {
	t.Helper()
	f := dsFixture{names: map[string]string{}, contacts: map[string]map[string]any{}, messages: map[string][]map[string]any{}}
	for _, res := range []string{"services", "users", "departments", "contacts"} {
		for _, r := range decodeMaps(t, d.Records(res)) {
			f.names[str(r["id"])] = str(r["name"])
			if res == "contacts" {
				f.contacts[str(r["id"])] = r
			}
		}
	}
	for _, m := range decodeMaps(t, d.Records("messages")) {
		f.messages[str(m["ticketId"])] = append(f.messages[str(m["ticketId"])], m)
	}
	for _, msgs := range f.messages {
		slices.SortFunc(msgs, func(a, b map[string]any) int { return strings.Compare(str(a["createdAt"]), str(b["createdAt"])) })
	}
	return f
}

// expectedTranscript rebuilds a ticket's transcript from the records, the
// way a reader of the layout would.
func expectedTranscript(t *testing.T, f dsFixture, loc *time.Location, ticket map[string]any) string {
	t.Helper()
	names := f.names
	contact := f.contacts[str(ticket["contactId"])]
	at := func(s string) string {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.In(loc).Format("02/01/2006 15:04:05")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Protocolo: %s\nContato: %s (%s)\nConexão: %s\n", ticket["protocol"], contact["name"],
		contact["data"].(map[string]any)["number"], names[str(contact["serviceId"])])
	if ticket["departmentId"] != nil {
		fmt.Fprintf(&b, "Departamento: %s\n", names[str(ticket["departmentId"])])
	}
	if ticket["userId"] != nil {
		fmt.Fprintf(&b, "Atendente: %s\n", names[str(ticket["userId"])])
	}
	fmt.Fprintf(&b, "Aberto em: %s\n", at(str(ticket["startedAt"])))
	if ticket["endedAt"] != nil {
		fmt.Fprintf(&b, "Fechado em: %s\n", at(str(ticket["endedAt"])))
	}
	b.WriteString("\n")
	msgs := f.messages[str(ticket["id"])]
	labels := map[string]string{"image": "[Imagem]", "audio": "[Áudio]", "ptt": "[Mensagem de voz]", "video": "[Vídeo]", "document": "[Documento]", "sticker": "[Figurinha]"}
	for _, m := range msgs {
		author, text := names[str(m["userId"])], str(m["text"])
		data := m["data"].(map[string]any)
		switch {
		case m["type"] == "ticket":
			author = "Sistema"
			switch {
			case data["ticketOpen"] == true:
				text = "Chamado aberto"
			case data["ticketClose"] == true:
				text = "Chamado fechado"
			default:
				text = "Chamado transferido para " + names[str(m["ticketDepartmentId"])]
			}
		case m["isFromMe"] == false:
			author = str(contact["name"])
		case m["isFromBot"] == true:
			author = "Bot"
		case m["type"] == "comment":
			author += " (comentário interno)"
		}
		if l := labels[str(m["type"])]; l != "" {
			text = strings.TrimSpace(l + " " + text)
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", at(str(m["timestamp"])), author, text)
	}
	return b.String()
}

func TestTranscript(t *testing.T) {
	t.Parallel()
	d, srv := serve(t, Config{Seed: 17, Tickets: 30})
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	lineRe := regexp.MustCompile(`^\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\] [^:]+: `)
	multiline := 0
	fixture := newFixture(t, d)
	for _, tk := range decodeMaps(t, d.Records("tickets")) {
		got, ok := d.Transcript(str(tk["protocol"]))
		if !ok {
			t.Fatalf("no transcript for %s", tk["protocol"])
		}
		if want := expectedTranscript(t, fixture, loc, tk); got != want {
			t.Fatalf("transcript of %s\n got:\n%s\nwant:\n%s", tk["protocol"], got, want)
		}
		head, body, _ := strings.Cut(got, "\n\n")
		if !strings.HasPrefix(head, "Protocolo: "+str(tk["protocol"])+"\nContato: ") || strings.Contains(got, "\r") || !strings.HasSuffix(got, "\n") {
			t.Errorf("layout of %s:\n%s", tk["protocol"], got)
		}
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if !lineRe.MatchString(line) {
				multiline++
			}
		}
	}
	if multiline == 0 {
		t.Error("no multi-line texts in 30 tickets")
	}
	if _, ok := d.Transcript("0000000000000"); ok {
		t.Error("transcript of an unknown protocol")
	}

	p := d.Protocols()[2]
	want, _ := d.Transcript(p)
	r := post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":"`+p+`"}`)
	if r.status != http.StatusOK || string(r.body) != want || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("export: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":`+p+`}`)
	if r.status != http.StatusOK || string(r.body) != want {
		t.Errorf("export with a numeric protocol: %d", r.status)
	}
	wantError(t, post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{"protocol":"0000000000000"}`), http.StatusNotFound, "NotFoundHttpError", "Ticket not found")
	wantError(t, post(t, srv.URL+"/api/v1/tickets/export", d.Token(), `{`), http.StatusBadRequest, "BadRequestHttpError", "")
	wantError(t, post(t, srv.URL+"/api/v1/tickets/export", "wrong", `{"protocol":"`+p+`"}`), http.StatusUnauthorized, "HttpError", "Invalid token: access token is invalid")
}

func TestTranscriptLayout(t *testing.T) {
	t.Parallel()
	// A closed ticket of the default data, checked line by line against the
	// documented layout.
	d := New(Config{Seed: 1})
	var tk map[string]any
	for _, r := range decodeMaps(t, d.Records("tickets")) {
		if r["isOpen"] == false && r["userId"] != nil && r["departmentId"] != nil {
			tk = r
			break
		}
	}
	got, _ := d.Transcript(str(tk["protocol"]))
	lines := strings.Split(got, "\n")
	prefixes := []string{"Protocolo: ", "Contato: ", "Conexão: ", "Departamento: ", "Atendente: ", "Aberto em: ", "Fechado em: "}
	for i, p := range prefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Fatalf("line %d %q, want prefix %q", i+1, lines[i], p)
		}
	}
	if !regexp.MustCompile(`^Contato: .+ \(55\d{11}\)$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^Aberto em: \d\d/\d\d/\d{4} \d\d:\d\d:\d\d$`).MatchString(lines[5]) || lines[7] != "" {
		t.Errorf("header:\n%s", strings.Join(lines[:8], "\n"))
	}
	if !strings.HasSuffix(lines[8], "] Sistema: Chamado aberto") || !strings.HasSuffix(lines[len(lines)-2], "] Sistema: Chamado fechado") {
		t.Errorf("events:\n%s", got)
	}
}
