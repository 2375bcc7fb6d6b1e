package config_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lift-hq/lift/config"
)

// The deployment files cannot run here (no Docker engine): these tests keep
// them true to the binary and to make prod-up instead.

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     any               `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test        []string `yaml:"test"`
			Timeout     string   `yaml:"timeout"`
			StartPeriod string   `yaml:"start_period"`
		} `yaml:"healthcheck"`
		Restart string `yaml:"restart"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c))
	return c
}

// variables is every environment variable the lift binary reads: the
// configuration's, the Temporal SDK's environment configuration's, and
// OpenTelemetry's.
func variables() (names []string, prefixes []string) {
	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	names = append(names, "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE",
		"TEMPORAL_CONFIG_FILE", "TEMPORAL_TLS", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION")
	return names, []string{"TEMPORAL_GRPC_META_", "OTEL_"}
}

var composeVar = regexp.MustCompile(`\$\{([A-Z_]+)(:-|:\?)([^}]*)\}`)

// substitute resolves compose's ${VAR:-default} and ${VAR:?error} the way
// an operator's shell would with only the required variables set.
func substitute(v string) string {
	return composeVar.ReplaceAllStringFunc(v, func(m string) string {
		parts := composeVar.FindStringSubmatch(m)
		if parts[2] == ":-" {
			return parts[3]
		}
		return "required-value-for-" + parts[1] + "-0123456789abcdef0123456789abcdef"
	})
}

func TestComposeMatchesWhatTheBinaryReads(t *testing.T) {
	c := readCompose(t)
	known, prefixes := variables()
	roles := map[string]config.Role{}
	for name, svc := range c.Services {
		if svc.Build == nil { // not a lift container
			continue
		}
		cmd, ok := svc.Command.([]any)
		require.True(t, ok && len(cmd) == 1, "%s: command is one lift role", name)
		role := config.Role(cmd[0].(string))
		roles[name] = role
		env := map[string]string{}
		for k, v := range svc.Environment {
			known := slices.Contains(known, k) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) })
			require.True(t, known, "%s sets %s, which lift does not read", name, k)
			env[k] = substitute(v)
		}
		// The role starts on this environment (validation only: nothing is dialled).
		_, err := config.Load(role, env, nil)
		require.NoError(t, err, "%s: lift %s refuses the compose environment", name, role)
		if role == config.RoleAPI {
			require.Contains(t, svc.Environment, "LIFT_API_KEY", "%s: the bootstrap key", name)
		}
	}
	count := func(r config.Role) (n int) {
		for _, role := range roles {
			if role == r {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, count(config.RoleMigrate), "%v", roles)
	require.Equal(t, 2, count(config.RoleWorker), "two workers, as make prod-up runs: %v", roles)
	require.Equal(t, 2, count(config.RoleAPI), "two APIs, as make prod-up runs: %v", roles)
}

func TestComposeMatchesProdUp(t *testing.T) {
	c := readCompose(t)
	script, err := os.ReadFile("../deploy/prod.sh")
	require.NoError(t, err)
	ports := regexp.MustCompile(`PROD_API_PORTS:-([0-9 ]+)\}`).FindSubmatch(script)
	require.NotNil(t, ports, "deploy/prod.sh names its API ports")
	var published []string
	for name, svc := range c.Services {
		if strings.HasPrefix(name, "lift-api") {
			for _, p := range svc.Ports {
				published = append(published, strings.Split(p, ":")[0])
			}
		}
	}
	slices.Sort(published)
	require.Equal(t, strings.Fields(string(ports[1])), published, "the APIs' ports are prod-up's")
	require.Contains(t, string(script), "PROD_TEMPORAL_PORT:-7233")
	require.Contains(t, string(script), "PROD_UI_PORT:-8233")
	require.Contains(t, c.Services["temporal"].Ports, "127.0.0.1:7233:7233")
	require.Contains(t, c.Services["temporal-ui"].Ports, "127.0.0.1:8233:8080")

	// The same Temporal server and UI versions as the ones Lift builds with.
	mod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	server := regexp.MustCompile(`go\.temporal\.io/server v([0-9.]+)`).FindSubmatch(mod)
	ui := regexp.MustCompile(`github\.com/temporalio/ui-server/v2 v([0-9.]+)`).FindSubmatch(mod)
	require.Equal(t, "temporalio/server:"+string(server[1]), c.Services["temporal"].Image)
	require.Equal(t, "temporalio/admin-tools:"+string(server[1]), c.Services["temporal-schema"].Image)
	require.Equal(t, "temporalio/ui:"+string(ui[1]), c.Services["temporal-ui"].Image)
}

func TestComposeServicesAreHealthCheckedAndNotExposed(t *testing.T) {
	c := readCompose(t)
	for name, svc := range c.Services {
		oneShot := svc.Restart == "no"
		if !oneShot {
			require.NotNil(t, svc.Healthcheck, "%s has a health check", name)
			require.NotEmpty(t, svc.Healthcheck.Timeout, "%s: health check timeout", name)
			require.NotEmpty(t, svc.Healthcheck.StartPeriod, "%s: health check start period", name)
		}
		for dep, cond := range svc.DependsOn {
			require.Contains(t, []string{"service_healthy", "service_completed_successfully"}, cond.Condition, "%s waits for %s", name, dep)
		}
		for _, p := range svc.Ports {
			if strings.HasPrefix(name, "lift-api") { // authenticated by API keys
				continue
			}
			require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %s beyond loopback without authentication", name, p)
		}
	}
}

func TestDockerfileBuildsTheLeanBinaryWithCacheMounts(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	d := string(raw)
	require.Contains(t, d, "./cmd/lift\n", "the production binary, not lift-dev")
	require.Contains(t, d, "--mount=type=cache,target=/go/pkg/mod")
	require.Contains(t, d, "--mount=type=cache,target=/root/.cache/go-build")
	require.Contains(t, d, "GOTOOLCHAIN=local")
	require.Regexp(t, `FROM golang:`+regexp.QuoteMeta(strings.TrimPrefix(goVersion(t), "go "))+`-`, d, "the Go of go.mod")
}

func goVersion(t *testing.T) string {
	mod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	return regexp.MustCompile(`(?m)^go [0-9.]+`).FindString(string(mod))
}
