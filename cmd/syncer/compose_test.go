package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"syncer/internal/roles"
)

// composeService is what the tests read of a service of docker-compose.yml.
type composeService struct {
	Image       string
	Profiles    []string
	Command     []string
	Environment map[string]string
	Ports       []string
	Volumes     []string
	DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
}

func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService
		Volumes  map[string]any
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			if src, _, ok := strings.Cut(v, ":"); ok && !strings.HasPrefix(src, ".") {
				if _, declared := f.Volumes[src]; !declared {
					t.Errorf("service %s mounts the volume %s, which is not declared", name, src)
				}
			}
		}
	}
	return f.Services
}

// The default services run without a profile; the bi profile adds the
// roles step and Metabase, pinned, reading as the analyst's login.
func TestComposeBIProfile(t *testing.T) {
	services := readCompose(t)
	var always []string
	for name, s := range services {
		if len(s.Profiles) == 0 {
			always = append(always, name)
		}
	}
	slices.Sort(always)
	if want := []string{"migrate", "postgres", "syncer-1", "syncer-2"}; !slices.Equal(always, want) {
		t.Errorf("services without a profile: %v, want %v", always, want)
	}
	if got := services["syncer-1"].Command; !slices.Equal(got, []string{"run"}) {
		t.Errorf("syncer-1 runs %v", got)
	}

	rolesSvc, ok := services["roles"]
	if !ok || !slices.Equal(rolesSvc.Profiles, []string{"bi"}) {
		t.Fatalf("no roles service in the bi profile: %+v", rolesSvc)
	}
	if c := rolesSvc.DependsOn["migrate"].Condition; c != "service_completed_successfully" {
		t.Errorf("roles waits for migrate with %q", c)
	}
	cmd := rolesSvc.Command
	if len(cmd) < 2 || cmd[0] != "migrate" || cmd[1] != "roles" {
		t.Fatalf("roles runs %v, want syncer migrate roles", cmd)
	}
	// The command's flags are the real ones.
	if code, stdout, stderr := cli(t, append(slices.Clone(cmd), "--help")...); code != exitOK || stderr != "" || !strings.Contains(stdout, "--analyst-login NAME") {
		t.Errorf("%v --help: exit %d, stderr %q", cmd, code, stderr)
	}
	login, pwEnv := flagValue(cmd, "--analyst-login"), flagValue(cmd, "--analyst-password-env")
	if login == "" || pwEnv == "" || rolesSvc.Environment[pwEnv] != "${"+pwEnv+":-}" {
		t.Errorf("roles makes the login %q with the password in %q (environment %v)", login, pwEnv, rolesSvc.Environment)
	}
	if rolesSvc.Environment["DATABASE_URL"] == "" || rolesSvc.Environment["SYNCER_CONFIG"] == "" {
		t.Errorf("roles has not the syncer services' environment: %v", rolesSvc.Environment)
	}

	mb, ok := services["metabase"]
	if !ok || !slices.Equal(mb.Profiles, []string{"bi"}) {
		t.Fatalf("no metabase service in the bi profile: %+v", mb)
	}
	if !regexp.MustCompile(`^metabase/metabase:v\d+\.\d+\.\d+(\.\d+)?$`).MatchString(mb.Image) {
		t.Errorf("metabase image %q: want a pinned release tag such as metabase/metabase:v0.64.2.2", mb.Image)
	}
	if c := mb.DependsOn["roles"].Condition; c != "service_completed_successfully" {
		t.Errorf("metabase waits for roles with %q", c)
	}
	if !slices.Equal(mb.Ports, []string{"127.0.0.1:3000:3000"}) {
		t.Errorf("metabase ports %v", mb.Ports)
	}
	if f := mb.Environment["MB_DB_FILE"]; !strings.HasPrefix(f, "/metabase-data/") || !slices.Contains(mb.Volumes, "metabase-data:/metabase-data") {
		t.Errorf("Metabase's own database %q is not in the volume: %v", f, mb.Volumes)
	}
	// It reads as the analyst's login, never with the writer's or the
	// superuser's credentials.
	if u := mb.Environment["WAREHOUSE_USER"]; u != login {
		t.Errorf("metabase connects as %q, want the analyst login %q", u, login)
	}
	for k, v := range mb.Environment {
		for _, bad := range []string{"DATABASE_URL", "POSTGRES_PASSWORD", "postgres@", roles.DefaultWriter, "SYNCER_WRITER"} {
			if strings.Contains(k, bad) || strings.Contains(v, bad) {
				t.Errorf("metabase's environment %s=%s holds %q", k, v, bad)
			}
		}
		if strings.HasSuffix(k, "_USER") && (v == "postgres" || v == roles.DefaultWriter) {
			t.Errorf("metabase's environment %s=%s", k, v)
		}
	}
}

// flagValue is the value after flag in args, or "".
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}
