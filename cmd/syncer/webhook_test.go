package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/dbtest"
	"syncer/internal/sim"
	digisacsim "syncer/internal/sim/digisac"
)

// digisacDelivery is a message.created delivery of message id.
func digisacDelivery(id string) []byte {
	b, _ := json.Marshal(map[string]any{"event": "message.created", "data": map[string]any{
		"id": id, "isFromMe": false, "type": "chat", "timestamp": "2024-01-15T10:00:00.000Z", "contactId": "c1",
		"fromId": "c1", "serviceId": "s1", "ticketId": "t1", "text": "olá " + id,
		"createdAt": "2024-01-15T10:00:00.000Z", "updatedAt": "2024-01-15T10:00:01.000Z", "data": map[string]any{"ack": -1}}})
	return b
}

// TestWebhookLoadSurvivesKill9 sends 20,000 webhook deliveries over
// loopback from 8 connections to `syncer run` while its processor works,
// kills it with SIGKILL in the middle, starts it again and sends again what
// was not acknowledged (as a platform retries): every acknowledged delivery
// ends in the warehouse exactly once. It prints the handler's latency.
func TestWebhookLoadSurvivesKill9(t *testing.T) {
	total := 20_000
	if testing.Short() {
		total = 3_000
	}
	const conns = 8
	const secret = "load-test-webhook-secret"
	bin := buildSyncer(t)
	db := dbtest.New(t)
	ds := digisacsim.New(digisacsim.Config{Seed: 5, Contacts: 5, Tickets: 5, MessagesPerTicket: 2})
	srv := httptest.NewServer(sim.NewServers(sim.Simulators{Digisac: ds}))
	defer srv.Close()
	addr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	writeFile(t, cfg, fmt.Sprintf("listen: %s\nsources:\n  - name: acme-digisac\n    platform: digisac\n    base_url: %s/digisac\n"+
		"    token: %s\n    rate_limit: 1000\n    schedule: \"@every 1h\"\n    webhook_secret: %s\n", addr, srv.URL, ds.Token(), secret))

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "--config", cfg, "--database-url", db.URL, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "SYNCER_CONFIG=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatalf("syncer run did not answer within a minute: %s", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: 10 * time.Second}
	url := "http://" + addr + "/webhooks/acme-digisac"
	acked := make([]atomic.Bool, total)
	var mu sync.Mutex
	var latencies []time.Duration
	var ackCount atomic.Int64
	send := func(ids []int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range conns {
			wg.Go(func() {
				for {
					k := int(next.Add(1)) - 1
					if k >= len(ids) {
						return
					}
					i := ids[k]
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(digisacDelivery(fmt.Sprintf("w%06d", i))))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Webhook-Token", secret)
					began := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						continue // not acknowledged: the platform will retry it
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						took := time.Since(began)
						acked[i].Store(true)
						ackCount.Add(1)
						mu.Lock()
						latencies = append(latencies, took)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	}

	first := start()
	all := make([]int, total)
	for i := range all {
		all[i] = i
	}
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for ackCount.Load() < int64(total*2/5) {
			time.Sleep(time.Millisecond)
		}
		_ = first.Process.Kill()
		_ = first.Wait()
	}()
	send(all)
	<-killed
	t.Logf("killed syncer run with %d of %d deliveries acknowledged", ackCount.Load(), total)

	second := start()
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()
	var retry []int
	for i := range acked {
		if !acked[i].Load() {
			retry = append(retry, i)
		}
	}
	send(retry)
	for i := range acked {
		if !acked[i].Load() {
			t.Fatalf("delivery %d was never acknowledged, even after the restart", i)
		}
	}

	deadline := time.Now().Add(5 * time.Minute)
	for {
		var waiting int
		if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still unprocessed after 5 minutes", waiting)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var msgs, distinct int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT external_id) FROM messages WHERE external_id LIKE 'w%'`).Scan(&msgs, &distinct); err != nil {
		t.Fatal(err)
	}
	if msgs != total || distinct != total {
		t.Fatalf("%d webhook messages (%d distinct) in the warehouse, want every one of the %d acknowledged deliveries once", msgs, distinct, total)
	}
	slices.Sort(latencies)
	p := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	fmt.Printf("webhook handler latency over %d acknowledged calls from %d connections: p50 %s, p99 %s, max %s\n",
		len(latencies), conns, p(0.5).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond), latencies[len(latencies)-1].Round(time.Millisecond))
}
