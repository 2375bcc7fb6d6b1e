package e2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/sendgridfake"
)

// TestChaosOnTheProductionTopology runs what `make prod-up` runs (Temporal
// on PostgreSQL, two workers, two APIs: deploy/prod.sh) and takes 300
// customers through a three-email sequence on one-second days, sent
// through the SendGrid fake, while a chaos loop kills a worker, an API
// replica or the Temporal server with SIGKILL at random instants and
// restarts it. Events go to both APIs; a client retries a request that
// died with its API, with the same event ID. Every sequence must end
// completed with exactly one accepted email per step at the fake: none
// lost, none sent twice.
func TestChaosOnTheProductionTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the production topology")
	}
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("LIFT_REQUIRE_POSTGRES") == "1" {
			t.Fatal("TEST_DATABASE_URL is not set but LIFT_REQUIRE_POSTGRES=1")
		}
		t.Skip("the production topology runs on PostgreSQL: set TEST_DATABASE_URL to run it")
	}
	const customers = 300
	seedRNG := uint64(time.Now().UnixNano())
	if s := os.Getenv("LIFT_CHAOS_SEED"); s != "" {
		seedRNG, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seedRNG, 1))
	t.Logf("chaos seed %d (LIFT_CHAOS_SEED=%d repeats the kill schedule)", seedRNG, seedRNG)

	// The cluster's admin URL, and fresh databases for this run.
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/"
	admin := u.String()
	suffix := strconv.FormatUint(seedRNG%1_000_000, 10)
	appDB, temporalDB := "lift_chaos_"+suffix, "temporal_chaos_"+suffix
	drop := func() {
		db, err := sql.Open("pgx", strings.Replace(admin, "/?", "/postgres?", 1))
		if err != nil {
			return
		}
		defer db.Close()
		for _, name := range []string{appDB, temporalDB, temporalDB + "_visibility"} {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		}
	}
	drop() // left by an aborted run with the same seed
	t.Cleanup(drop)

	fake, err := sendgridfake.Start()
	require.NoError(t, err)
	defer fake.Close()

	// Both binaries in one directory, as deploy/prod.sh expects.
	bin := filepath.Dir(binary(t, "lift"))
	binary(t, "lift-temporal")
	dir := t.TempDir()
	ports := make([]int, 8)
	for i := range ports {
		ports[i] = freePort(t)
	}
	api1 := fmt.Sprintf("http://127.0.0.1:%d", ports[2])
	api2 := fmt.Sprintf("http://127.0.0.1:%d", ports[3])
	env := append(os.Environ(),
		"PROD_DIR="+dir, "PROD_BIN="+bin, "PROD_POSTGRES="+admin, "PROD_DB="+appDB, "PROD_TEMPORAL_DB="+temporalDB,
		"PROD_TEMPORAL_PORT="+strconv.Itoa(ports[0]), "PROD_UI_PORT="+strconv.Itoa(ports[1]),
		fmt.Sprintf("PROD_API_PORTS=%d %d", ports[2], ports[3]), fmt.Sprintf("PROD_WORKER_METRICS=%d %d", ports[4], ports[5]),
		fmt.Sprintf("PROD_API_METRICS=%d %d", ports[6], ports[7]), "PROD_TEMPORAL_MAX_CONNS=3",
		"LIFT_DATABASE_MAX_CONNS=4", "LIFT_DATABASE_MAX_IDLE=1",
		"LIFT_API_KEY="+apiKey, "LIFT_DAY=1s", "LIFT_CAP_PER_DAY=0", "LIFT_CAP_PER_WEEK=0",
		"LIFT_POSTAL_ADDRESS=1 Test Street, Testville", "LIFT_PUBLIC_URL=https://lift.test",
		"SENDGRID_API_KEY=SG.fake", "SENDGRID_BASE_URL="+fake.URL(), "SENDGRID_WEBHOOK_PUBLIC_KEY="+fake.PublicKey(),
		// A send whose answer died with its worker waits this long for the
		// webhook's processed event before it may be repeated.
		"SENDGRID_RECONCILE_AFTER=20s", "LIFT_SHUTDOWN_TIMEOUT=5s")
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "LIFT_DATABASE_URL=") })
	prod := func(args ...string) error {
		cmd := exec.Command("bash", "../../deploy/prod.sh")
		cmd.Args = append(cmd.Args, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("deploy/prod.sh %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	start := time.Now()
	// Down even when up fails half-way: what it started must not outlive
	// the test.
	t.Cleanup(func() {
		if err := prod("down"); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			for _, name := range []string{"temporal", "worker-1", "worker-2", "api-1", "api-2"} {
				if b, err := os.ReadFile(filepath.Join(dir, name+".log")); err == nil {
					t.Logf("--- %s.log (last 3000 bytes)\n%s", name, tail(b, 3000))
				}
			}
		}
	})
	require.NoError(t, prod("up"))
	t.Logf("prod up in %s", time.Since(start).Round(time.Second))
	fake.SetWebhook(api1 + "/v1/webhooks/sendgrid")

	a := api{url: api1, key: apiKey}
	names := make([]string, customers)
	for i := range names {
		names[i] = fmt.Sprintf("c%03d", i)
	}
	seed(t, a, names...)

	// The chaos loop: every 2–5 s, SIGKILL one process, and restart it
	// 0–2 s later.
	victims := []string{"worker-1", "worker-2", "api-1", "api-2", "temporal"}
	kills := map[string]int{}
	stop := make(chan struct{})
	var chaos sync.WaitGroup
	var chaosErr error
	var stopOnce sync.Once
	stopChaos := func() { stopOnce.Do(func() { close(stop); chaos.Wait() }) }
	// Registered after prod up's cleanup, so it runs first: a failing test
	// stops the chaos before prod down, and nothing is restarted after.
	t.Cleanup(stopChaos)
	chaos.Add(1)
	go func() {
		defer chaos.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(2000+rng.IntN(3000)) * time.Millisecond):
			}
			victim := victims[rng.IntN(len(victims))]
			pid, err := os.ReadFile(filepath.Join(dir, victim+".pid"))
			if err != nil {
				chaosErr = err
				return
			}
			n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
			if p, err := os.FindProcess(n); err == nil && p.Kill() == nil {
				kills[victim]++
			}
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			if err := prod("start", victim); err != nil {
				chaosErr = err
				return
			}
		}
	}()

	// Events through both APIs; a request that died with its API is sent
	// again, to either, with the same event ID.
	client := &http.Client{Timeout: 20 * time.Second}
	var retries int
	for i, c := range names {
		time.Sleep(100 * time.Millisecond) // spread over the chaos: an API dies mid-stream
		body := purchase(c, "o-"+c, "cam")
		for attempt := 0; ; attempt++ {
			target := []string{api1, api2}[(i+attempt)%2]
			req, err := http.NewRequest("POST", target+"/v1/events", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+apiKey)
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err == nil {
				_ = res.Body.Close()
				if res.StatusCode == 202 {
					break
				}
				require.GreaterOrEqual(t, res.StatusCode, 500, "event for %s refused", c)
			}
			require.Less(t, attempt, 200, "event for %s never accepted: %v", c, err)
			retries++
			time.Sleep(250 * time.Millisecond)
		}
	}
	t.Logf("%d events accepted in %s (%d requests retried)", customers, time.Since(start).Round(time.Second), retries)

	// Let the chaos go on while the sequences run, then wait for them all
	// to end.
	db, err := sql.Open("pgx", strings.Replace(admin, "/?", "/"+appDB+"?", 1))
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	done := func() (int, map[string]int) {
		rows, err := db.Query("SELECT status, count(*) FROM enrollments GROUP BY status")
		if err != nil {
			return 0, nil
		}
		defer rows.Close()
		by := map[string]int{}
		for rows.Next() {
			var s string
			var n int
			_ = rows.Scan(&s, &n)
			by[s] = n
		}
		return by["completed"], by
	}
	chaosUntil, chaosStopped := time.Now().Add(45*time.Second), false
	deadline := time.Now().Add(10 * time.Minute)
	for {
		n, by := done()
		if time.Now().After(chaosUntil) && !chaosStopped {
			stopChaos()
			chaosStopped = true
			require.NoError(t, chaosErr)
			t.Logf("chaos stopped after %s: kills %v; enrolments %v", time.Since(start).Round(time.Second), kills, by)
		}
		if n == customers && chaosStopped {
			break
		}
		require.True(t, time.Now().Before(deadline), "sequences not all completed: %v", by)
		time.Sleep(time.Second)
	}

	// Count at the fake: one accepted email per customer and step.
	perStep := map[string]int{}
	for _, acc := range fake.Accepted() {
		perStep[acc.To+"/"+acc.CustomArgs["step_id"]]++
	}
	var lost, dup, total int
	for _, c := range names {
		for _, step := range []string{"complement", "guide", "bundle"} {
			n := perStep[c+"@example.com/"+step]
			total += n
			if n == 0 {
				lost++
			}
			if n > 1 {
				dup += n - 1
			}
		}
	}
	totalKills := 0
	for _, n := range kills {
		totalKills += n
	}
	require.GreaterOrEqual(t, kills["temporal"]+kills["worker-1"]+kills["worker-2"], 1, "the chaos must have hit a worker or Temporal: %v", kills)
	result := fmt.Sprintf("chaos result: %d sequences completed, %d emails accepted for %d due steps, %d lost, %d duplicates; %d SIGKILLs %v; %s in all (seed %d)",
		customers, total, customers*3, lost, dup, totalKills, kills, time.Since(start).Round(time.Second), seedRNG)
	t.Log(result)
	// CI prints it: go test shows nothing of a passing test otherwise.
	if dir := os.Getenv("LIFT_ARTIFACTS_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "chaos.txt"), []byte(result+"\n"), 0o644)
		}
	}
	// The replica's metrics count the webhook's events (one posted now:
	// chaos may have restarted api-1 after the last of the run's).
	res, err := fake.PostEvents(context.Background(), api1+"/v1/webhooks/sendgrid", []map[string]any{fake.Event(fake.Accepted()[0], "open")})
	require.NoError(t, err)
	_ = res.Body.Close()
	_, apiMetrics := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[6]), "")
	require.Equal(t, "1", metricLine(apiMetrics, "lift_webhook_events_total", `type="open"`, `outcome="applied"`), "%s", apiMetrics)
	require.Zero(t, lost, "emails lost")
	require.Zero(t, dup, "emails sent twice")
	require.Equal(t, customers*3, total)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
