package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/devserver"
	"github.com/lift-hq/lift/internal/testdb"
)

var (
	buildMu  sync.Mutex
	binDir   string
	binaries = map[string]string{}
)

// binary builds a command of cmd/ (lift, lift-dev) once per test run.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := binaries[name]; ok {
		return path
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "lift-e2e-bin")
		require.NoError(t, err)
		binDir = dir
	}
	path := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", path, "../../cmd/"+name)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run(), "go build ./cmd/%s", name)
	binaries[name] = path
	return path
}

// TestProductionRoles runs `lift migrate`, `lift worker` and `lift api` as
// separate processes against PostgreSQL and a Temporal server, the way a
// deployment does, and takes a customer through a whole sequence.
func TestProductionRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the lift binary")
	}
	bin := binary(t, "lift")
	dbURL := testdb.PostgresURL(t)
	temporal, err := devserver.Start(devserver.Options{DatabaseFile: filepath.Join(t.TempDir(), "temporal.db")})
	require.NoError(t, err)
	defer temporal.Stop()

	httpPort := freePort(t)
	env := append(os.Environ(),
		"LIFT_DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporal.FrontendAddr, "TEMPORAL_NAMESPACE=default",
		"LIFT_API_KEY="+apiKey, "LIFT_HTTP=127.0.0.1:"+strconv.Itoa(httpPort), "LIFT_DAY=1s",
		"SENDGRID_API_KEY=", "LIFT_UNSUBSCRIBE_SECRET=production-test-secret-0123456789abcdef",
		"LIFT_PUBLIC_URL=http://127.0.0.1:"+strconv.Itoa(httpPort))
	run := func(role string) *exec.Cmd {
		cmd := exec.Command(bin, role)
		cmd.Env = env
		if role == "migrate" { // migrating needs no unsubscribe secret
			cmd.Env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "LIFT_UNSUBSCRIBE_SECRET=") })
		}
		out, err := os.Create(filepath.Join(t.TempDir(), role+".log"))
		require.NoError(t, err)
		cmd.Stdout, cmd.Stderr = out, out
		return cmd
	}

	migrate := run("migrate")
	require.NoError(t, migrate.Run(), "lift migrate")
	require.NoError(t, run("migrate").Run(), "lift migrate is idempotent")

	for _, role := range []string{"worker", "api"} {
		cmd := run(role)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _, _ = cmd.Process.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
			}
		})
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	waitReady(t, url)
	a := api{url: url, key: apiKey}
	seed(t, a, "erin")

	// An operator makes a key for a backend service with lift keys: it
	// may send events, not read campaigns.
	keys := exec.Command(bin, "keys", "create", "--name", "checkout", "--scopes", "ingest")
	keys.Env = env
	out, err := keys.CombinedOutput()
	require.NoError(t, err, "%s", out)
	secret := regexp.MustCompile(`lift_[A-Za-z0-9_-]{43}`).FindString(string(out))
	require.NotEmpty(t, secret, "%s", out)
	ingest := api{url: url, key: secret}
	st, body := ingest.do(t, "GET", "/v1/campaigns", nil)
	require.Equal(t, 403, st, "%v", body)
	list := exec.Command(bin, "keys", "list")
	list.Env = env
	out, err = list.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "checkout")
	require.NotContains(t, string(out), secret, "a key is shown once")
	audit := a.must(t, "GET", "/v1/audit-log?action=key.create&key_id=cli", nil, 200)
	require.Len(t, audit["entries"], 1, "lift keys is in the audit log too: %v", audit)
	ingest.must(t, "POST", "/v1/events", purchase("erin", "o-erin", "cam"), 202)
	eventually(t, 30*time.Second, "erin's sequence to complete", func() bool {
		j := a.journeys(t, "erin")
		return len(j) == 1 && j[0].Status == "completed"
	})
	require.Equal(t, []string{"complement", "guide", "bundle"}, sentSteps(a.messages(t, "erin")))
}
