package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"syncer/internal/sim/fault"
	ogmmasim "syncer/internal/sim/ogmma"
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
	if r := get(t, srv.URL+"/wavy/", ""); r.status != http.StatusNotFound {
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
