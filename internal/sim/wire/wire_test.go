package wire

import "testing"

func TestEncode(t *testing.T) {
	t.Parallel()
	v := map[string]string{"text": "<a & b>\x00"}
	if got, want := string(Encode(v)), "{\"text\":\"<a & b>\\u0000\"}\n"; got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got, want := string(Marshal(v)), "{\"text\":\"<a & b>\\u0000\"}"; got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
	}
}

func TestFormatMillis(t *testing.T) {
	t.Parallel()
	if got := FormatMillis(1705314600123); got != "2024-01-15T10:30:00.123Z" {
		t.Errorf("FormatMillis = %s", got)
	}
}
