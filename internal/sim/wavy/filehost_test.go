package wavysim

import (
	"net/http"
	"strings"
	"testing"
)

// The file host serves over https with a certificate its Client trusts
// and a default client does not.
func TestFileHost(t *testing.T) {
	t.Parallel()
	s := New(Config{Seed: 7, Sessions: 2})
	fh, err := NewFileHost(s.Files(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	s.SetFileBase(fh.URL)
	if !strings.HasPrefix(fh.URL, "https://127.0.0.1:") || !strings.Contains(string(fh.CertPEM), "BEGIN CERTIFICATE") {
		t.Fatalf("url %s", fh.URL)
	}
	if r := get(t, fh.Client(), fh.URL+"/nope", "", ""); r.status != http.StatusNotFound {
		t.Errorf("trusted client: %d", r.status)
	}
	if _, err := http.Get(fh.URL + "/nope"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a default client trusted the file host: %v", err)
	}
}
