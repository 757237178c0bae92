package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the command and read
// from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// simulate prints a Wavy source whose session API answers a link to its
// https file host, and the certificate to trust it by.
func TestSimulateServesWavy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"simulate", "--listen", "127.0.0.1:0", "--conversations", "3"}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("simulate did not stop")
		}
	})
	re := regexp.MustCompile(`(?s)name: sim-wavy\n    platform: wavy\n    base_url: (\S+)\n    username: (\S+)\n    token: (\S+)\n    customer_id: "(\d+)"\n    file_hosts: \[127\.0\.0\.1\].*SSL_CERT_FILE=(\S+) `)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; {
		if m = re.FindStringSubmatch(out.String()); m == nil {
			select {
			case code := <-done:
				t.Fatalf("simulate exited %d: %s", code, errb.String())
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no Wavy source printed:\n%s", out.String())
			}
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m[1]+"/v1/session?customerId="+m[4], nil)
	req.Header.Set("userName", m[2])
	req.Header.Set("authenticationToken", m[3])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var link struct {
		FileURL string `json:"file_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(link.FileURL, "https://127.0.0.1:") {
		t.Fatalf("file_url %q, %v", link.FileURL, err)
	}
	pem, err := os.ReadFile(m[5])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", m[5])
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err = c.Get(link.FileURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "origem;session_created_at\n") || strings.Count(string(body), "\n") != 4 {
		t.Fatalf("session file: %d %q", resp.StatusCode, body)
	}
}
