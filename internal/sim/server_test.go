package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	digisacsim "syncer/internal/sim/digisac"
	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
	oxentysim "syncer/internal/sim/oxenty"
	wavysim "syncer/internal/sim/wavy"
)

func TestServer(t *testing.T) {
	t.Parallel()
	o := ogmmasim.New(ogmmasim.Config{Seed: 1, APIKey: testKey})
	srv := httptest.NewServer(NewServer(o))
	t.Cleanup(srv.Close)

	r := get(t, srv.URL+"/", "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "/ogmma/v1/channels/") {
		t.Errorf("index %d %s", r.status, r.body)
	}
	ch := o.Channels()[0]
	r = get(t, srv.URL+"/ogmma/v1/channels/"+ch.ID+"/conversations/"+ch.Conversations[0]+"?limit=5", testKey)
	var p struct{ Data []ogmmasim.Message }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil || len(p.Data) != 5 {
		t.Errorf("%d messages through the server: %d %s", len(p.Data), r.status, r.body)
	}
	r = get(t, srv.URL+"/ogmma/v1/nothing", testKey)
	if r.status != http.StatusNotFound || string(r.body) != `{"message":"Rota nao encontrada.","code":"NOT_FOUND"}` {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	if r := get(t, srv.URL+"/oxenty/", ""); r.status != http.StatusNotFound {
		t.Errorf("unmounted prefix: %d", r.status)
	}
}

// TestServerCutBody checks a cut body through the prefix stripping: the
// connection is still hijacked.
func TestServerCutBody(t *testing.T) {
	t.Parallel()
	o := ogmmasim.New(ogmmasim.Config{Seed: 1, APIKey: testKey, Faults: fault.Faults{CutBodyShare: 1}})
	srv := httptest.NewServer(NewServer(o))
	t.Cleanup(srv.Close)
	ch := o.Channels()[0]
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/ogmma/v1/channels/"+ch.ID+"/conversations/"+ch.Conversations[0], nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("through NewServer: %v", err)
	}
}

func TestServerControlsChangeTheData(t *testing.T) {
	t.Parallel()
	o := ogmmasim.New(ogmmasim.Config{Seed: 1, ConversationsPerChannel: 2, MessagesPerConversation: 3})
	srv := httptest.NewServer(NewServer(o))
	t.Cleanup(srv.Close)
	before := o.MessageCount()
	r := post(t, srv.URL+"/_sim/ogmma/add?n=4", "", "")
	var body struct{ Data []ogmmasim.Message }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || len(body.Data) != 4 || o.MessageCount() != before+4 {
		t.Fatalf("add: status %d, %d messages returned, count %d → %d", r.status, len(body.Data), before, o.MessageCount())
	}
	if r := post(t, srv.URL+"/_sim/ogmma/touch?n=zero", "", ""); r.status != http.StatusBadRequest {
		t.Fatalf("touch?n=zero: status %d", r.status)
	}
}

func TestServers(t *testing.T) {
	t.Parallel()
	og := ogmmasim.New(ogmmasim.Config{Seed: 1, APIKey: testKey})
	dg := digisacsim.New(digisacsim.Config{Seed: 1, Tickets: 10})
	srv := httptest.NewServer(NewServers(Simulators{Ogmma: og, Digisac: dg}))
	t.Cleanup(srv.Close)
	r := get(t, srv.URL+"/", "")
	for _, want := range []string{"/ogmma/v1/channels/", "/digisac/api/v1/", "/_sim/digisac/edit"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("index lacks %q:\n%s", want, r.body)
		}
	}
	e := decodeEnvelope(t, get(t, srv.URL+"/digisac/api/v1/tickets?perPage=5", dg.Token()))
	if e.Total != 10 {
		t.Errorf("tickets through the server: %+v", e)
	}
	var created struct {
		Data []string `json:"data"`
	}
	r = post(t, srv.URL+"/_sim/digisac/create?resource=tickets&n=2", "", "")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &created) != nil || len(created.Data) != 2 {
		t.Fatalf("create control: %d %s", r.status, r.body)
	}
	if e := decodeEnvelope(t, get(t, srv.URL+"/digisac/api/v1/tickets", dg.Token())); e.Total != 12 {
		t.Errorf("%d tickets after create", e.Total)
	}
	r = post(t, srv.URL+"/_sim/digisac/edit?resource=messages&n=3", "", "")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &created) != nil || len(created.Data) != 3 {
		t.Errorf("edit control: %d %s", r.status, r.body)
	}
	r = post(t, srv.URL+"/_sim/digisac/remove?resource=messages", "", "")
	if r.status != http.StatusOK || string(r.body) != "{\"data\":[]}\n" {
		t.Errorf("remove control on messages: %d %s", r.status, r.body)
	}
	for _, q := range []string{"edit?resource=nope", "create?resource=tickets&n=0", "edit?resource=tickets&n=x"} {
		if r := post(t, srv.URL+"/_sim/digisac/"+q, "", ""); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	// Digisac alone; Ogmma unmounted.
	only := httptest.NewServer(NewServers(Simulators{Digisac: dg}))
	t.Cleanup(only.Close)
	if r := get(t, only.URL+"/ogmma/v1/channels/x/conversations", testKey); r.status != http.StatusNotFound {
		t.Errorf("unmounted ogmma: %d", r.status)
	}
	decodeEnvelope(t, get(t, only.URL+"/digisac/api/v1/services", dg.Token()))
}

func TestServersWavy(t *testing.T) {
	t.Parallel()
	wv := wavysim.New(wavysim.Config{Seed: 1, Sessions: 3})
	srv := httptest.NewServer(NewServers(Simulators{Wavy: wv}))
	t.Cleanup(srv.Close)
	if r := get(t, srv.URL+"/", ""); !strings.Contains(string(r.body), "/wavy/v1/session?customerId=42") || !strings.Contains(string(r.body), "/_sim/wavy/add") {
		t.Errorf("index:\n%s", r.body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/wavy/v1/session?customerId=42", nil)
	req.Header.Set("userName", wv.Username())
	req.Header.Set("authenticationToken", wv.Token())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var link struct {
		FileURL string `json:"file_url"`
	}
	err = json.NewDecoder(res.Body).Decode(&link)
	res.Body.Close()
	// Without a file host, the link is this server's own, over plain http.
	if err != nil || !strings.HasPrefix(link.FileURL, srv.URL+"/files/") {
		t.Fatalf("file_url %q, %v", link.FileURL, err)
	}
	file := get(t, strings.Replace(link.FileURL, "/files/", "/wavy/files/", 1), "")
	if file.status != http.StatusOK || strings.Count(string(file.body), "\n") != 4 {
		t.Errorf("file through the server: %d %q", file.status, file.body)
	}
	r := post(t, srv.URL+"/_sim/wavy/add?n=2", "", "")
	var added struct{ Data []wavysim.Session }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &added) != nil || len(added.Data) != 2 || len(wv.Sessions()) != 5 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	for _, kind := range []string{"mo", "status"} {
		r := post(t, srv.URL+"/_sim/wavy/"+kind+"?n=3", "", "")
		var b struct {
			Total int
			Data  []json.RawMessage
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &b) != nil || b.Total != 3 || len(b.Data) != 3 {
			t.Errorf("%s: %d %s", kind, r.status, r.body)
		}
	}
	if r := post(t, srv.URL+"/_sim/wavy/add?n=0", "", ""); r.status != http.StatusBadRequest {
		t.Errorf("add?n=0: %d", r.status)
	}
}

func TestServerOxenty(t *testing.T) {
	t.Parallel()
	ox := oxentysim.New(oxentysim.Config{Seed: 1, Sessions: 4, APIKey: testKey})
	srv := httptest.NewServer(NewServers(Simulators{Oxenty: ox}))
	t.Cleanup(srv.Close)
	if r := get(t, srv.URL+"/", ""); !strings.Contains(string(r.body), "GET /oxenty/api/sessions") || !strings.Contains(string(r.body), "/_sim/oxenty/churn") {
		t.Errorf("index: %s", r.body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/oxenty/api/sessions?limit=100", nil)
	req.Header.Set("X-API-Key", testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page oxentysim.Page
	err = json.NewDecoder(res.Body).Decode(&page)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(page.Data) != 4 {
		t.Fatalf("sessions through the server: %d %v %+v", res.StatusCode, err, page.Meta)
	}

	var added struct{ Data []oxentysim.Session }
	if r := post(t, srv.URL+"/_sim/oxenty/add?n=2", "", ""); r.status != http.StatusOK || json.Unmarshal(r.body, &added) != nil || len(added.Data) != 2 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	var removed struct{ Data []string }
	if r := post(t, srv.URL+"/_sim/oxenty/remove?n=3", "", ""); r.status != http.StatusOK || json.Unmarshal(r.body, &removed) != nil || len(removed.Data) != 3 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	var changed struct{ Data []oxentysim.Session }
	if r := post(t, srv.URL+"/_sim/oxenty/status?n=2&status=banned", "", ""); r.status != http.StatusOK || json.Unmarshal(r.body, &changed) != nil ||
		len(changed.Data) != 2 || changed.Data[0].Status != "banned" {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	if r := post(t, srv.URL+"/_sim/oxenty/churn?add=1&remove=1", "", ""); r.status != http.StatusOK || string(r.body) != "{\"data\":{\"add\":1,\"remove\":1}}\n" {
		t.Fatalf("churn: %d %s", r.status, r.body)
	}
	if r := post(t, srv.URL+"/_sim/oxenty/churn?add=-1", "", ""); r.status != http.StatusBadRequest {
		t.Fatalf("churn?add=-1: %d", r.status)
	}
	if r := post(t, srv.URL+"/_sim/oxenty/remove?n=0", "", ""); r.status != http.StatusBadRequest {
		t.Fatalf("remove?n=0: %d", r.status)
	}
	if ox.Count() != 3 {
		t.Fatalf("%d sessions held, want 4 + 2 - 3", ox.Count())
	}
}
