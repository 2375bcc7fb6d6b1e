package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/testbrowser"
	liftworker "github.com/lift-hq/lift/worker"
)

// destination is a webhook receiver as a customer would write one: it
// verifies each request's signature, deduplicates on the idempotency
// key, and can be told to fail or hang.
type destination struct {
	secret string
	mu     sync.Mutex
	// attempts per idempotency key, and the first body accepted per key.
	attempts map[string]int
	accepted map[string]app.WebhookPayload
	bad      []string // requests whose signature did not verify
	// fail makes the first n attempts of every key answer 503.
	fail int
	// hold, when set, is closed to let a held request answer (and
	// requests are held until then).
	hold chan struct{}
	held chan struct{} // receives when a request is being held
}

func newDestination(secret string) *destination {
	return &destination{secret: secret, attempts: map[string]int{}, accepted: map[string]app.WebhookPayload{}}
}

func (d *destination) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(app.HeaderIdempotency)
	if err := app.VerifyWebhook(d.secret, r.Header.Get(app.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil || key == "" {
		d.mu.Lock()
		d.bad = append(d.bad, fmt.Sprintf("%v (key %q)", err, key))
		d.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	d.mu.Lock()
	d.attempts[key]++
	n, hold, held := d.attempts[key], d.hold, d.held
	d.mu.Unlock()
	if hold != nil {
		held <- struct{}{}
		<-hold
	}
	if n <= d.fail {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var p app.WebhookPayload
	_ = json.Unmarshal(body, &p)
	d.mu.Lock()
	if _, dup := d.accepted[key]; !dup { // a retry of a request already taken: acknowledged, not acted on twice
		d.accepted[key] = p
	}
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (d *destination) snapshot() (map[string]int, map[string]app.WebhookPayload, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ac := map[string]int{}, map[string]app.WebhookPayload{}
	for k, v := range d.attempts {
		at[k] = v
	}
	for k, v := range d.accepted {
		ac[k] = v
	}
	return at, ac, append([]string(nil), d.bad...)
}

// lensFlow is the contract's two examples in one campaign: a
// physical-goods cross-sell that waits for the delivery and sends two
// days after it, then waits for a click of that email and alerts sales
// when there is one, or sends a reminder when there is not.
const lensFlow = `{"id":"lens-flow","name":"Lens after the camera","kind":"cross_sell",
 "trigger":{"event":"purchase","where":{"category":"cameras"}},"exit_on":["purchase_of_recommended"],
 "steps":[
  {"id":"delivery","wait_for":{"event":"delivered","within":"20d"},"on_timeout":"continue"},
  {"id":"complement","at":"1d","subject":"A lens for your camera","template":"recommendation","recommend":{"strategy":"complements","limit":1}},
  {"id":"clicked-wait","wait_for":{"event":"click","step":"complement","within":"20d"}},
  {"id":"engaged","branch":{"if":{"clicked":"complement"},
    "then":[{"id":"tell-sales","webhook":{"destination":"crm"}}],
    "else":[{"id":"reminder","at":"1d","subject":"Still thinking about it?","template":"education","cta":"See lenses","cta_url":"https://shop.example/lenses"}]}}
 ]}`

// TestFlowBranchesWaitsAndWebhooksThroughTheRealWorker drives two
// customers through the flow with one-second days: both wait for their
// delivery; one clicks the email (a signed SendGrid click event) and
// sales hear of it through the destination, which refuses the first
// attempt; the other gets the reminder once the wait runs out. The
// destination sees valid signatures and exactly one accepted delivery.
func TestFlowBranchesWaitsAndWebhooksThroughTheRealWorker(t *testing.T) {
	d, a := startDevWith(t, map[string]string{"LIFT_SENDGRID_FAKE": "true"})
	defer d.Stop(context.Background())
	fake := d.SendGridFake()
	dest := newDestination("s3cret-s3cret-s3cret-s3cret")
	dest.fail = 1
	srv := httptest.NewServer(dest)
	defer srv.Close()

	seed(t, a, "fl-click", "fl-quiet")
	a.must(t, "PUT", "/v1/destinations/crm", map[string]any{"url": srv.URL + "/lift", "secret": dest.secret}, 200)
	a.must(t, "POST", "/v1/campaigns", lensFlow, 201)
	a.must(t, "POST", "/v1/campaigns/lens-flow/publish", nil, 201)

	for _, c := range []string{"fl-click", "fl-quiet"} {
		out := a.must(t, "POST", "/v1/events", purchase(c, "o-"+c, "cam"), 202)
		require.Len(t, out["started"], 2, "the seeded campaign and the flow: %v", out)
	}
	waiting := func(c, step string) func() bool {
		return func() bool {
			for _, j := range a.journeys(t, c) {
				if j.WorkflowID == "seq/lens-flow/"+c {
					for _, s := range j.Steps {
						if s.ID == step && s.Status == "waiting" {
							return true
						}
					}
				}
			}
			return false
		}
	}
	for _, c := range []string{"fl-click", "fl-quiet"} {
		eventually(t, 30*time.Second, c+" waiting for the delivery", waiting(c, "delivery"))
		out := a.must(t, "POST", "/v1/events", `{"type":"delivered","customer_id":"`+c+`","properties":{"order_id":"o-`+c+`"}}`, 202)
		require.Contains(t, fmt.Sprint(out["signalled"]), "flow_event", "the delivery ends the wait: %v", out)
	}
	sentFlow := func(c string) []string {
		var out []string
		for _, m := range a.messages(t, c) {
			// The seeded campaign has a complement step too: its subject differs.
			if m.Status == "sent" && (m.Subject == "A lens for your camera" || m.Subject == "Still thinking about it?") {
				out = append(out, m.StepID)
			}
		}
		return out
	}
	eventually(t, 30*time.Second, "the complement email to fl-click", func() bool { return len(sentFlow("fl-click")) == 1 })
	eventually(t, 30*time.Second, "fl-click waiting for a click", waiting("fl-click", "clicked-wait"))
	var acc []map[string]any
	for _, m := range fake.AcceptedFor("fl-click@example.com") {
		if m.CustomArgs["step_id"] == "complement" && m.Subject == "A lens for your camera" {
			acc = append(acc, fake.Event(m, "click"))
		}
	}
	require.Len(t, acc, 1)
	resp, err := fake.PostEvents(context.Background(), d.APIURL+"/v1/webhooks/sendgrid", acc)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)

	flowJourney := func(c string) journey {
		for _, j := range a.journeys(t, c) {
			if j.WorkflowID == "seq/lens-flow/"+c {
				return j
			}
		}
		return journey{}
	}
	eventually(t, 90*time.Second, "fl-click's flow to end", func() bool { return flowJourney("fl-click").Status == "completed" })
	eventually(t, 90*time.Second, "fl-quiet's flow to end", func() bool { return flowJourney("fl-quiet").Status == "completed" })

	require.Equal(t, []string{"complement"}, sentFlow("fl-click"), "no reminder after a click")
	require.Equal(t, []string{"complement", "reminder"}, sentFlow("fl-quiet"))
	steps := map[string]string{}
	for _, s := range flowJourney("fl-click").Steps {
		steps[s.ID] = s.Status + " " + s.Path + " " + s.Reason
	}
	require.Contains(t, steps["delivery"], "met")
	require.Contains(t, steps["clicked-wait"], "met")
	require.Contains(t, steps["engaged"], "branched then")
	require.Contains(t, steps["tell-sales"], "sent")
	require.NotContains(t, steps, "reminder", "the path not taken")
	for _, s := range flowJourney("fl-quiet").Steps {
		if s.ID == "engaged" {
			require.Equal(t, "else", s.Path)
		}
		require.NotEqual(t, "tell-sales", s.ID)
	}

	attempts, accepted, bad := dest.snapshot()
	require.Empty(t, bad, "every request is signed with the destination's secret")
	require.Len(t, accepted, 1, "one delivery: fl-click's")
	for key, p := range accepted {
		require.Equal(t, 2, attempts[key], "the refused attempt was retried once")
		require.Equal(t, p.EnrollmentID+":tell-sales", key)
		require.Equal(t, "fl-click", p.CustomerID)
		require.Empty(t, p.Email, "no address unless the destination asks for it")
		require.Equal(t, "lens-flow", p.Campaign)
		require.Equal(t, []string{"complement"}, p.Engagement.Clicked)
		require.Equal(t, "purchase", p.Trigger.Type)
	}

	// The console draws the flow with the ended journeys' counts.
	flowInChromium(t, a)

	// The flow's history replays, and is kept for the replay tests.
	h := history(t, d.Temporal, "seq/lens-flow/fl-click")
	r := worker.NewWorkflowReplayer()
	liftworker.RegisterWorkflows(r)
	require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), h))
	recordHistory(t, "sequence_flow", h)
}

// TestWebhookDeliveredOnceAcrossAWorkerKill kills the real lift-dev
// binary with SIGKILL while the destination holds its first request
// unanswered, then starts it again: the lost attempt is retried with the
// same idempotency key once its 30 seconds run out, the destination
// (deduplicating on the key, as it should) acts on it once, and Lift
// posts nothing more once a delivery was accepted.
func TestWebhookDeliveredOnceAcrossAWorkerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the lift binary")
	}
	bin := binary(t, "lift-dev")
	dest := newDestination("kill-kill-kill-kill-kill-kill")
	dest.hold, dest.held = make(chan struct{}), make(chan struct{}, 1)
	srv := httptest.NewServer(dest)
	defer srv.Close()

	dataDir := t.TempDir()
	httpPort, temporalPort := freePort(t), freePort(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--data-dir", dataDir, "--day", "1s",
			"--http", "127.0.0.1:"+strconv.Itoa(httpPort), "--temporal-port", strconv.Itoa(temporalPort), "--ui-port", "0")
		cmd.Env = append(os.Environ(), "LIFT_API_KEY="+apiKey)
		log, err := os.Create(filepath.Join(t.TempDir(), "lift.log"))
		require.NoError(t, err)
		cmd.Stdout, cmd.Stderr = log, log
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait(); _ = log.Close() })
		waitReady(t, fmt.Sprintf("http://127.0.0.1:%d", httpPort))
		return cmd
	}
	cmd := start()
	a := api{url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), key: apiKey}
	a.must(t, "PUT", "/v1/destinations/sales", map[string]any{"url": srv.URL, "secret": dest.secret}, 200)
	a.must(t, "POST", "/v1/campaigns", `{"id":"big-account","name":"Big account alert","kind":"upsell","trigger":{"event":"usage"},
	  "steps":[{"id":"tell-sales","webhook":{"destination":"sales"}},
	    {"id":"hello","at":"1d","subject":"Room to grow","template":"education","body":"Hi."}]}`, 201)
	a.must(t, "POST", "/v1/campaigns/big-account/publish", nil, 201)
	a.must(t, "PUT", "/v1/customers/kw", `{"email":"kw@example.com","name":"K W","marketing_consent":true}`, 200)
	a.must(t, "POST", "/v1/events", `{"type":"usage","customer_id":"kw","properties":{"metric":"seats","used":8,"limit":10}}`, 202)

	select {
	case <-dest.held:
	case <-time.After(60 * time.Second):
		t.Fatal("the destination got no request")
	}
	dest.mu.Lock()
	release := dest.hold
	dest.hold = nil // the next attempt is answered at once
	dest.mu.Unlock()
	require.NoError(t, cmd.Process.Kill()) // SIGKILL mid-request: Lift never hears the answer
	_, _ = cmd.Process.Wait()
	close(release)
	start()

	eventually(t, 120*time.Second, "the sequence to complete after the restart", func() bool {
		j := a.journeys(t, "kw")
		return len(j) == 1 && j[0].Status == "completed"
	})
	attempts, accepted, bad := dest.snapshot()
	require.Empty(t, bad)
	require.Len(t, accepted, 1, "one delivery acted on")
	for key := range accepted {
		require.Equal(t, 2, attempts[key], "the lost attempt, then one retry with the same key, and nothing after the 200")
	}
	j := a.journeys(t, "kw")[0]
	require.Equal(t, "tell-sales", j.Steps[0].ID)
	require.Equal(t, "sent", j.Steps[0].Status, "%+v", j.Steps[0])
	require.Equal(t, []string{"hello"}, sentSteps(a.messages(t, "kw")))
}

// flowInChromium opens lens-flow's campaign page in headless Chromium:
// the diagram shows each step with its counts, and fits a phone's width
// by scrolling inside its card. The screenshot goes to the artifacts.
func flowInChromium(t *testing.T, a api) {
	ctx, artifacts := testbrowser.Start(t, 90*time.Second)
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...))
	}
	run(chromedp.Navigate(a.url+"/console"), chromedp.WaitVisible(chromedp.ID("api_key")),
		chromedp.SendKeys(chromedp.ID("api_key"), a.key), chromedp.Submit(chromedp.ID("api_key")),
		chromedp.WaitVisible(chromedp.CSS("table")))
	run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(a.url+"/console/campaigns/lens-flow"), chromedp.WaitVisible(chromedp.ID("flow")))
	flow, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flow")))
	require.NoError(t, err)
	for _, want := range []string{"delivery", "2 in · 2 met", "engaged", "2 in · 1 then", "tell-sales", "1 in · 1 sent", "reminder"} {
		require.Contains(t, flow, want)
	}
	run(chromedp.ScrollIntoView(chromedp.ID("flow")), chromedp.Sleep(300*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("flow")))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "console-flow.png"), png, 0o644))
	run(chromedp.EmulateViewport(390, 844))
	over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, over, 0, "the page is %d px wider than a phone: the diagram scrolls in its card", over)
}
