package platforms_test

import (
	"slices"
	"testing"

	"syncer/internal/config"
	"syncer/internal/extract"
	_ "syncer/internal/platforms"
	"syncer/internal/transform"
)

// Every platform linked in offers the streams the config contract names
// for it, in the same order, each with its mapping, and a mapping for each
// of its file formats.
func TestRegistryMatchesTheConfigContract(t *testing.T) {
	ps := extract.Platforms()
	if len(ps) == 0 {
		t.Fatal("no platform registered")
	}
	for _, p := range ps {
		want, ok := config.PlatformStreams[p.Name]
		if !ok {
			t.Errorf("platform %s is registered but the config does not know it", p.Name)
			continue
		}
		var got []string
		for _, s := range p.Streams {
			got = append(got, s.Name)
			if _, ok := transform.Lookup(p.Name, s.Name); !ok {
				t.Errorf("%s/%s has no mapping", p.Name, s.Name)
			}
			if s.Mode == extract.ModeFullRefresh && s.Table == "" {
				t.Errorf("%s/%s is a full refresh without a table", p.Name, s.Name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s registers streams %v, the config contract names %v", p.Name, got, want)
		}
		for _, f := range p.Formats {
			if _, ok := transform.Lookup(p.Name, f.Name); !ok {
				t.Errorf("%s format %s has no mapping", p.Name, f.Name)
			}
		}
	}
}
