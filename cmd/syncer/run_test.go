package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunSyncsOnScheduleAndServesHealthAndMetrics(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 21, ConversationsPerChannel: 3, MessagesPerConversation: 20})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	addr := freeAddr(t)
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "    schedule: \"@every 1h\"\n")
	// listen goes at the top of the file.
	withListen := strings.Replace(readFile(t, cfg), "concurrency: 2\n", "concurrency: 2\nlisten: "+addr+"\n", 1)
	writeFile(t, cfg, withListen)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg, "--database-url", db.URL, "--log-level", "warn"}, &out, &errb)
	}()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(time.Minute)
	want := `syncer_runs_total{source="acme-ogmma",status="succeeded",stream="messages"} 1`
	for {
		if _, body := get("/metrics"); strings.Contains(body, want) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d early: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful run within a minute; stderr: %s", errb.String())
		}
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM messages").Scan(&n); err != nil || n != 60 {
		t.Fatalf("messages = %d (%v), want 60", n, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("run exited %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of shutdown")
	}
}
