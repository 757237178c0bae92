package config

import (
	"slices"
	"testing"
	"time"
)

// The keys that say how exported files are read: time_zone (digisac and
// wavy), transcript_line_pattern and transcript_time_layouts (digisac).
func TestExportFileKeys(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := Parse([]byte(source(digisacLines...)), env())
		if err != nil {
			t.Fatal(err)
		}
		d := c.Sources[0]
		if d.TimeZone != "America/Sao_Paulo" || d.TranscriptLinePattern != DefaultTranscriptLinePattern ||
			!slices.Equal(d.TranscriptTimeLayouts, []string{"02/01/2006 15:04:05", "02/01/2006 15:04"}) {
			t.Errorf("digisac defaults: %q %q %q", d.TimeZone, d.TranscriptLinePattern, d.TranscriptTimeLayouts)
		}
		c, err = Parse([]byte(source(wavyLines...)), env())
		if err != nil {
			t.Fatal(err)
		}
		if w := c.Sources[0]; w.TimeZone != DefaultTimeZone || w.TranscriptLinePattern != "" || w.TranscriptTimeLayouts != nil {
			t.Errorf("wavy defaults: %+v", w)
		}
		c, err = Parse([]byte(source(oxentyLines...)), env())
		if err != nil {
			t.Fatal(err)
		}
		if x := c.Sources[0]; x.TimeZone != "" || x.TranscriptLinePattern != "" {
			t.Errorf("oxenty got export keys: %+v", x)
		}
	})

	t.Run("set", func(t *testing.T) {
		c, err := Parse([]byte(source(with(digisacLines,
			"time_zone: America/Manaus",
			`transcript_line_pattern: '^(?P<time>\S+ \S+) - (?P<author>[^:]+): (?P<text>.*)$'`,
			`transcript_time_layouts: ["2006-01-02 15:04:05"]`)...)), env())
		if err != nil {
			t.Fatal(err)
		}
		d := c.Sources[0]
		if d.TimeZone != "America/Manaus" || !slices.Equal(d.TranscriptTimeLayouts, []string{"2006-01-02 15:04:05"}) {
			t.Errorf("got %+v", d)
		}
		if _, err := time.LoadLocation(d.TimeZone); err != nil {
			t.Errorf("the embedded tzdata does not know %s: %v", d.TimeZone, err)
		}
	})

	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"unknown zone", with(digisacLines, "time_zone: America/Atlantis"), []string{`time_zone "America/Atlantis" is not an IANA time zone name`}},
		{"empty zone", with(wavyLines, "time_zone: ''"), []string{`time_zone must be an IANA time zone name such as America/Sao_Paulo, not empty`}},
		{"local zone", with(digisacLines, "time_zone: Local"), []string{`time_zone "Local" is not an IANA time zone name`}},
		{"zone on oxenty", with(oxentyLines, "time_zone: UTC"), []string{`time_zone is not used by platform oxenty (only by digisac and wavy)`}},
		{"pattern that does not compile", with(digisacLines, "transcript_line_pattern: '^(?P<time>['"), []string{`transcript_line_pattern "^(?P<time>[" is not a Go regular expression: error parsing regexp`}},
		{"pattern without groups", with(digisacLines, `transcript_line_pattern: '^\[(?P<time>[^]]+)\] (.*)$'`),
			[]string{`lacks the named group(s) (?P<author>...), (?P<text>...)`}},
		{"pattern on wavy", with(wavyLines, "transcript_line_pattern: '(?P<time>.)(?P<author>.)(?P<text>.)'"), []string{`transcript_line_pattern is not used by platform wavy (only by digisac)`}},
		{"layout without a reference time", with(digisacLines, `transcript_time_layouts: ["dd/mm/yyyy hh:mm"]`), []string{`transcript_time_layouts[0] "dd/mm/yyyy hh:mm" is not a Go time layout`}},
		{"empty layout", with(digisacLines, `transcript_time_layouts: ["02/01/2006", ""]`), []string{`transcript_time_layouts[1] "" is not a Go time layout`}},
		{"layouts on wavy", with(wavyLines, `transcript_time_layouts: ["02/01/2006"]`), []string{`transcript_time_layouts is not used by platform wavy (only by digisac)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(source(tc.lines...)), env())
			if c != nil {
				t.Errorf("got a Config with the error")
			}
			wantProblems(t, err, tc.want...)
		})
	}
}
