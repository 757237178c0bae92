package platforms_test

import (
	"slices"
	"testing"

	"syncer/internal/config"
	"syncer/internal/extract"
	"syncer/internal/importer"
	_ "syncer/internal/platforms"
	"syncer/internal/transform"
)

// Every platform the config accepts is linked in, and offers the streams
// the config contract names for it, in the same order, each with its
// mapping, a mapping for each of its file formats and for its webhooks.
func TestRegistryMatchesTheConfigContract(t *testing.T) {
	for _, name := range config.Platforms() {
		if _, ok := extract.Lookup(name); !ok {
			t.Errorf("the config accepts platform %s but it is not built", name)
		}
	}
	for _, f := range importer.Formats() {
		if _, _, ok := extract.Format(f); !ok {
			t.Errorf("syncer import offers format %s but it is not built", f)
		}
	}
	ps := extract.Platforms()
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
		if p.Webhook != nil {
			if _, ok := transform.Lookup(p.Name, extract.WebhookStream); !ok {
				t.Errorf("%s decodes webhooks but has no mapping for them", p.Name)
			}
		}
	}
}
