package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/devserver"
	"github.com/lift-hq/lift/internal/sendgridfake"
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

	httpPort, metricsPort := freePort(t), freePort(t)
	env := append(os.Environ(),
		"LIFT_DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporal.FrontendAddr, "TEMPORAL_NAMESPACE=default",
		"LIFT_API_KEY="+apiKey, "LIFT_HTTP=127.0.0.1:"+strconv.Itoa(httpPort), "LIFT_DAY=1s",
		"SENDGRID_API_KEY=", "LIFT_UNSUBSCRIBE_SECRET=production-test-secret-0123456789abcdef",
		"LIFT_PUBLIC_URL=http://127.0.0.1:"+strconv.Itoa(httpPort), "LIFT_LOG_FORMAT=json")
	logs := map[string]string{}
	run := func(role string) *exec.Cmd {
		cmd := exec.Command(bin, role)
		cmd.Env = env
		if role == "worker" {
			cmd.Env = append(slices.Clone(env), "LIFT_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(metricsPort))
		}
		if role == "migrate" { // migrating needs no unsubscribe secret
			cmd.Env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "LIFT_UNSUBSCRIBE_SECRET=") })
		}
		logs[role] = filepath.Join(t.TempDir(), role+".log")
		out, err := os.Create(logs[role])
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

	// Prometheus scrapes the worker on LIFT_METRICS_ADDR, and the API on
	// its own port with an admin key: Lift's metrics and the SDK's.
	st, _ = scrape(t, url+"/metrics", "")
	require.Equal(t, 401, st, "the API's /metrics needs a key")
	st, text := scrape(t, url+"/metrics", secret)
	require.Equal(t, 403, st, "an ingest key may not read metrics")
	prom := exec.Command(bin, "keys", "create", "--name", "prometheus", "--scopes", "metrics")
	prom.Env = env
	out, err = prom.CombinedOutput()
	require.NoError(t, err, "%s", out)
	promKey := regexp.MustCompile(`lift_[A-Za-z0-9_-]{43}`).FindString(string(out))
	st, _ = (api{url: url, key: promKey}).do(t, "GET", "/v1/campaigns", nil)
	require.Equal(t, 403, st, "a metrics key reads metrics only")
	st, text = scrape(t, url+"/metrics", promKey)
	require.Equal(t, 200, st, "%s", text)
	require.Equal(t, "1", metricLine(text, "lift_events_ingested_total", `type="purchase"`, `outcome="enrolled"`), "%s", text)
	require.Equal(t, "1", metricLine(text, "lift_enrolments_total", `campaign="camera-accessories"`), "%s", text)
	require.NotEmpty(t, metricLine(text, "http_server_request_duration_seconds_count", `http_route="/v1/events"`), "%s", text)
	require.NotContains(t, text, "server_port=", "no label a caller's Host header can vary")
	require.NotEmpty(t, metricLine(text, "temporal_request_total"), "the SDK's client metrics: %s", text)
	st, text = scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort), "")
	require.Equal(t, 200, st, "%s", text)
	for _, step := range []string{"complement", "guide", "bundle"} {
		require.Equal(t, "1", metricLine(text, "lift_emails_total", `campaign="camera-accessories"`, `step="`+step+`"`, `outcome="sent"`), "%s", text)
	}
	require.NotEmpty(t, metricLine(text, "lift_send_latency_seconds_count", `provider="outbox"`), "%s", text)
	require.NotEmpty(t, metricLine(text, "temporal_activity_execution_latency_seconds_count", `activity_type="RunStep"`), "%s", text)
	require.NotContains(t, text, `erin"`, "no customer in a metric")
	workerText := text

	// The Grafana dashboard charts metrics the roles really export (two
	// appear only once something failed; the webhook's with SendGrid,
	// checked by the chaos test).
	_, apiText := scrape(t, url+"/metrics", apiKey)
	dashboard, err := os.ReadFile("../../deploy/grafana/lift.json")
	require.NoError(t, err)
	for _, name := range regexp.MustCompile(`\b(?:lift|temporal|http_server)_[a-z_]+`).FindAllString(string(dashboard), -1) {
		if name == "temporal_activity_execution_failed_total" || name == "temporal_request_failure_total" || name == "lift_webhook_events_total" {
			continue
		}
		require.True(t, strings.Contains(workerText, "\n"+name) || strings.Contains(apiText, "\n"+name),
			"deploy/grafana/lift.json charts %s, which neither role exports", name)
	}

	// JSON logs: the event's line carries the request ID and the workflow.
	raw, err := os.ReadFile(logs["api"])
	require.NoError(t, err)
	var eventLine map[string]any
	for _, line := range strings.Split(string(raw), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "event" {
			eventLine = rec
		}
	}
	require.NotNil(t, eventLine, "%s", raw)
	require.NotEmpty(t, eventLine["request_id"], "%v", eventLine)
	require.NotEmpty(t, eventLine["trace_id"], "%v", eventLine)
	require.Equal(t, []any{"seq/camera-accessories/erin"}, eventLine["started"], "%v", eventLine)
}

// TestSIGTERMLetsWorkInFlightFinish stops both production roles with
// SIGTERM while each has slow work in flight through the SendGrid fake:
// the worker a sequence's send, the API a test send. Each finishes its
// work (SendGrid accepts the email, Lift records it sent, the client gets
// its answer) before the process exits 0; a restarted worker completes
// the sequence with one email per step.
func TestSIGTERMLetsWorkInFlightFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the lift binary")
	}
	bin := binary(t, "lift")
	dbURL := testdb.PostgresURL(t)
	temporal, err := devserver.Start(devserver.Options{DatabaseFile: filepath.Join(t.TempDir(), "temporal.db")})
	require.NoError(t, err)
	defer temporal.Stop()
	fake, err := sendgridfake.Start()
	require.NoError(t, err)
	defer fake.Close()
	httpPort := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	fake.SetWebhook(url + "/v1/webhooks/sendgrid")
	env := append(os.Environ(),
		"LIFT_DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporal.FrontendAddr, "TEMPORAL_CONFIG_FILE="+filepath.Join(t.TempDir(), "none.toml"),
		"LIFT_API_KEY="+apiKey, "LIFT_HTTP=127.0.0.1:"+strconv.Itoa(httpPort), "LIFT_DAY=1s",
		"SENDGRID_API_KEY=SG.test", "SENDGRID_BASE_URL="+fake.URL(), "SENDGRID_WEBHOOK_PUBLIC_KEY="+fake.PublicKey(),
		"LIFT_POSTAL_ADDRESS=1 Test Street", "LIFT_UNSUBSCRIBE_SECRET=production-test-secret-0123456789abcdef",
		"LIFT_PUBLIC_URL=https://lift.test", "LIFT_SHUTDOWN_TIMEOUT=20s", "LIFT_TEST_SEND_ALLOW=example.com")
	logs := t.TempDir()
	start := func(role string) *exec.Cmd {
		cmd := exec.Command(bin, role)
		cmd.Env = env
		out, err := os.OpenFile(filepath.Join(logs, role+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		require.NoError(t, err)
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd
	}
	terminate := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		state, err := cmd.Process.Wait()
		require.NoError(t, err)
		logged, _ := os.ReadFile(filepath.Join(logs, filepath.Base(cmd.Args[1])+".log"))
		require.Equal(t, 0, state.ExitCode(), "%s", logged)
	}
	migrate := exec.Command(bin, "migrate")
	migrate.Env = env
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, "%s", out)
	worker, apiProc := start("worker"), start("api")
	waitReady(t, url)
	a := api{url: url, key: apiKey}
	seed(t, a, "sam")

	// The worker: SIGTERM while SendGrid takes 3 s to answer its send.
	fake.InjectFor("sam@example.com", "complement", sendgridfake.Fault{Delay: 3 * time.Second})
	before := fake.Requests()
	a.must(t, "POST", "/v1/events", purchase("sam", "o-sam", "cam"), 202)
	eventually(t, 30*time.Second, "the slow send to be in flight", func() bool { return fake.Requests() > before })
	terminate(worker)
	require.Len(t, fake.AcceptedFor("sam@example.com"), 1, "the send in flight finished")
	ms := a.messages(t, "sam")
	require.Len(t, ms, 1)
	require.Equal(t, "sent", ms[0].Status, "and Lift recorded it: nothing ambiguous left behind")

	// The API: SIGTERM while a test send waits on SendGrid.
	fake.InjectFor("qa@example.com", "complement", sendgridfake.Fault{Delay: 3 * time.Second})
	answered := make(chan int, 1)
	before = fake.Requests()
	go func() {
		st, _ := a.do(t, "POST", "/v1/campaigns/camera-accessories/test-send",
			map[string]any{"customer_id": "sam", "step": "complement", "to": "qa@example.com"})
		answered <- st
	}()
	eventually(t, 30*time.Second, "the test send to be in flight", func() bool { return fake.Requests() > before })
	terminate(apiProc)
	require.Equal(t, 202, <-answered, "the request in flight got its answer")

	start("worker")
	start("api")
	waitReady(t, url)
	eventually(t, 60*time.Second, "sam's sequence to complete", func() bool {
		j := a.journeys(t, "sam")
		return len(j) == 1 && j[0].Status == "completed"
	})
	var steps []string
	for _, acc := range fake.AcceptedFor("sam@example.com") {
		steps = append(steps, acc.CustomArgs["step_id"])
	}
	require.Equal(t, []string{"complement", "guide", "bundle"}, steps, "one email per step")
}
