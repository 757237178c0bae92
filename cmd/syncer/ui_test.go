package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"syncer/internal/browsertest"
	"syncer/internal/dbtest"
	"syncer/internal/sim"
	ogmmasim "syncer/internal/sim/ogmma"
)

// TestJobUIListsTheFleetsJobs opens /ui/ of a running `syncer run` in
// headless Chromium, behind the config's basic auth, and finds the jobs of
// the fleet listed; it saves a screenshot.
func TestJobUIListsTheFleetsJobs(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	og := ogmmasim.New(ogmmasim.Config{Seed: 71, ConversationsPerChannel: 3, MessagesPerConversation: 20})
	srv := httptest.NewServer(sim.NewServer(og))
	defer srv.Close()
	addr := freeAddr(t)
	cfg := ogmmaConfig(t, srv.URL, og.APIKey(), og, "    schedule: \"@every 2s\"\n")
	writeFile(t, cfg, strings.Replace(readFile(t, cfg), "concurrency: 2\n",
		"concurrency: 2\nlisten: "+addr+"\nui:\n  username: ops\n  password: ui-secret-71\n", 1))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg, "--database-url", db.URL, "--log-level", "warn"}, &strings.Builder{}, &strings.Builder{})
	}()
	waitFor(t, time.Minute, "a completed sync job", func() bool {
		var n int
		err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE kind = 'sync' AND state = 'completed'").Scan(&n)
		return err == nil && n > 0
	})

	// Without the credentials, or with wrong ones: 401.
	for _, pass := range []string{"", "wrong-password"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/ui/", nil)
		if pass != "" {
			req.SetBasicAuth("ops", pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("/ui/ with password %q: %d, want 401 asking for credentials", pass, resp.StatusCode)
		}
	}

	b := browsertest.New(t)
	b.SetBasicAuth("ops", "ui-secret-71")
	b.Navigate("http://" + addr + "/ui/jobs?state=completed")
	b.WaitFor(`document.body.innerText.includes("sync") && document.body.innerText.includes("acme-ogmma")`)
	text := browsertest.Eval[string](b, "document.body.innerText")
	if !strings.Contains(text, "messages") {
		t.Errorf("the job list does not show the stream's job:\n%s", text)
	}
	b.Screenshot("river-ui-jobs.png")

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("run exited %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s")
	}
}

func TestUIWithoutCredentialsAnswersLoopbackNamesOnly(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := loopbackHostOnly(ok)
	for host, want := range map[string]int{"127.0.0.1:9090": 204, "localhost:9090": 204, "[::1]:9090": 204, "localhost": 204,
		"evil.example:9090": 403, "10.0.0.5:9090": 403, "127.0.0.1.nip.io:9090": 403} {
		req := httptest.NewRequest(http.MethodGet, "/ui/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:9090": true, "localhost:9090": true, "[::1]:9090": true,
		"0.0.0.0:9090": false, ":9090": false, "10.1.2.3:9090": false} {
		if got := loopbackListen(addr); got != want {
			t.Errorf("loopbackListen(%s) = %v, want %v", addr, got, want)
		}
	}
}
