// Package version holds the build version of syncer. It is set at link time
// (-ldflags "-X syncer/internal/version.Version=v1.2.3") and defaults to "dev".
package version

// Version is the syncer release, sent as User-Agent: syncer/<Version>.
var Version = "dev"

// UserAgent is the User-Agent header every request to a platform carries.
func UserAgent() string { return "syncer/" + Version }
