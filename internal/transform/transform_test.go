package transform

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"syncer/internal/config"
)

func TestDigits(t *testing.T) {
	for in, want := range map[string]string{
		"+55 (11) 97777-6666": "5511977776666",
		"5511999998888@c.us":  "5511999998888",
		"":                    "",
		"abc":                 "",
	} {
		if got := Digits(in); got != want {
			t.Errorf("Digits(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadLine(t *testing.T) {
	r := BadLine("tickets.csv", 7, `column "Aberto em": time "x" does not parse`, "1;a;x")
	if r.ExternalID != "tickets.csv:7" || r.Reason != `line 7: column "Aberto em": time "x" does not parse` ||
		string(r.Payload) != `{"file":"tickets.csv","line":7,"text":"1;a;x"}` {
		t.Errorf("got %+v %s", r, r.Payload)
	}
}

// TestChannelKindsAgreeWithTheConfig: the config checks a channel's kind
// against its own copy of the list (it cannot import this package).
func TestChannelKindsAgreeWithTheConfig(t *testing.T) {
	if !slices.Equal(config.ChannelKinds, ChannelKinds) {
		t.Errorf("config.ChannelKinds %v, transform.ChannelKinds %v", config.ChannelKinds, ChannelKinds)
	}
}

// TestRecordsMappings: a mapping of JSON records serves quarantine retry
// by itself; one of other records does only with RegisterRecords.
func TestRecordsMappings(t *testing.T) {
	platform := fmt.Sprintf("test-%d", time.Now().UnixNano()) // -count=2 registers again
	Register(platform, "json", func([]json.RawMessage) Batch { return Batch{} })
	Register(platform, "pages", func([]struct{ N int }) Batch { return Batch{} })
	if _, ok := LookupRecords(platform, "json"); !ok {
		t.Error("a mapping of JSON records is not one for retry")
	}
	if _, ok := LookupRecords(platform, "pages"); ok {
		t.Error("a mapping of pages is one for retry")
	}
	RegisterRecords(platform, "pages", func([]json.RawMessage) Batch { return Batch{} })
	if _, ok := LookupRecords(platform, "pages"); !ok {
		t.Error("RegisterRecords did not register")
	}
}
