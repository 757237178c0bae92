package digisac

import (
	"slices"
	"testing"

	"syncer/internal/config"
)

// TestCheckedLists: one list for each kind of list stream a source syncs,
// tickets for transcripts alone.
func TestCheckedLists(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		streams, want []string
	}{
		{[]string{"services", "users", "departments", "contacts", "tickets", "messages"}, []string{"services", "contacts"}},
		{[]string{"messages", "users"}, []string{"users", "messages"}},
		{[]string{"departments"}, []string{"departments"}},
		{[]string{"transcripts"}, []string{"tickets"}},
		{[]string{"messages", "transcripts"}, []string{"messages"}},
		{nil, nil},
	} {
		if got := checkedLists(&config.Source{Streams: tt.streams}); !slices.Equal(got, tt.want) {
			t.Errorf("streams %q: lists %q, want %q", tt.streams, got, tt.want)
		}
	}
}
