// Package transformtest holds what the tests of the transform/<platform>
// packages share: reading JSON fixtures, seeding fuzz corpora, and the
// checks every message mapping must pass. It is imported by tests only.
package transformtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"syncer/internal/transform"
)

// ReadPage reads testdata/name, a JSON array of records.
func ReadPage(t testing.TB, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(b, &records); err != nil {
		t.Fatal(err)
	}
	return records
}

// ReadJSON reads testdata/name into v.
func ReadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// AddSeeds adds every record of a testdata page to a fuzz corpus.
func AddSeeds(f *testing.F, page string) {
	for _, r := range ReadPage(f, page) {
		f.Add([]byte(r))
	}
}

// MapOne maps one fuzzed record and checks what every message mapping
// promises: one record becomes exactly one message or one rejection, and a
// message satisfies the warehouse's constraints.
func MapOne(t *testing.T, mapping func([]json.RawMessage) transform.Batch, raw []byte) []transform.Message {
	t.Helper()
	if !json.Valid(raw) {
		return nil
	}
	out := mapping([]json.RawMessage{raw})
	if len(out.Messages)+len(out.Rejections) != 1 {
		t.Fatalf("one record became %d messages and %d rejections", len(out.Messages), len(out.Rejections))
	}
	directions := []string{transform.DirectionInbound, transform.DirectionOutbound, transform.DirectionInternal}
	for _, m := range out.Messages {
		if !slices.Contains(directions, m.Direction) || !slices.Contains(transform.MessageKinds, m.Kind) ||
			(m.Status != "" && !slices.Contains(transform.MessageStatuses, m.Status)) || m.SentAt.IsZero() || m.ExternalID == "" {
			t.Fatalf("bad message %+v", m)
		}
	}
	return out.Messages
}
