package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	camp "github.com/lift-hq/lift/internal/campaign"
)

// TestSimulatedPopulationReportAndConsole is the check: a
// population with known true conversion rates per variant (holdout 10 %,
// A 20 %, B 40 %) goes through the compressed-day sequence on the real
// worker; the report must count exactly the simulated buyers, and each
// true rate must lie in the report's 95 % interval. Then a marketer reads
// it in the console in headless Chromium, promotes B with the button, and
// the screenshots are kept ($LIFT_ARTIFACTS_DIR).
func TestSimulatedPopulationReportAndConsole(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	a.must(t, "PUT", "/v1/products/widget", `{"name":"Widget","category":"tools","price":40}`, 200)
	a.must(t, "POST", "/v1/campaigns", `{"id":"pop","name":"Population test","kind":"cross_sell",
	  "trigger":{"event":"milestone"}, "holdout": 20, "exit_on":["purchase_any"], "attribution_window":"60d",
	  "experiment":{"id":"pop-1","variants":[{"id":"A","weight":1},
	    {"id":"B","weight":1,"steps":{"hello":{"subject":"B: {{.Customer.FirstName}}, a tip for you"}}}]},
	  "steps":[{"id":"hello","at":"0d","subject":"A: welcome, {{.Customer.FirstName}}","template":"education",
	    "body":"Three ways to get more out of your account."}]}`, 201)
	a.must(t, "POST", "/v1/campaigns/pop/publish", nil, 201)
	a.must(t, "POST", "/v1/campaigns/pop/experiments", `{"min_sends":50}`, 201)

	truth := map[string]float64{camp.VariantHoldout: 0.10, "A": 0.20, "B": 0.40}
	variants := []camp.Weighted{{ID: "A", Weight: 1}, {ID: "B", Weight: 1}}
	rng := rand.New(rand.NewPCG(2026, 11))
	const n = 240
	enrolled, buyers := map[string]int{}, map[string][]string{}
	var events []string
	for i := 0; i < n; i++ {
		c := fmt.Sprintf("pop-%03d", i)
		v := camp.Assign(c, "pop", "pop-1", 20, variants)
		enrolled[v]++
		if rng.Float64() < truth[v] {
			buyers[v] = append(buyers[v], c)
		}
		a.must(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","name":"Pat `+c+`","marketing_consent":true}`, 200)
		events = append(events, `{"type":"milestone","customer_id":"`+c+`","properties":{"name":"signed_up"}}`)
	}
	a.must(t, "POST", "/v1/events:batch", `{"events":[`+strings.Join(events, ",")+`]}`, 200)
	emailed := enrolled["A"] + enrolled["B"]
	eventually(t, 90*time.Second, "every emailed customer's email", func() bool {
		_, body := a.do(t, "GET", "/v1/messages?campaign_id=pop&limit=1000", nil)
		ms, _ := body["messages"].([]any)
		sent := 0
		for _, m := range ms {
			if m.(map[string]any)["status"] == "sent" {
				sent++
			}
		}
		return sent == emailed
	})

	// The simulated buyers buy; everyone else does not.
	events = events[:0]
	for _, cs := range buyers {
		for _, c := range cs {
			events = append(events, `{"type":"purchase","customer_id":"`+c+`","properties":{"order_id":"ord-`+c+
				`","currency":"USD","items":[{"sku":"widget","quantity":1,"price":40}]}}`)
		}
	}
	a.must(t, "POST", "/v1/events:batch", `{"events":[`+strings.Join(events, ",")+`]}`, 200)
	total := len(events)
	var report map[string]any
	eventually(t, 90*time.Second, "every simulated purchase counted", func() bool {
		_, report = a.do(t, "GET", "/v1/campaigns/pop/report", nil)
		got := 0
		for _, v := range report["variants"].([]any) {
			got += int(v.(map[string]any)["converted"].(float64))
		}
		return got == total
	})

	t.Logf("%-8s %8s %8s %10s %10s %22s", "variant", "enrolled", "bought", "true rate", "reported", "95 % interval")
	for _, raw := range report["variants"].([]any) {
		v := raw.(map[string]any)
		name := v["variant"].(string)
		ci := v["conversion_rate_ci"].(map[string]any)
		low, high := ci["low"].(float64), ci["high"].(float64)
		t.Logf("%-8s %8.0f %8.0f %10.2f %10.3f %10.3f – %.3f", name, v["enrolled"], v["converted"], truth[name],
			v["conversion_rate"], low, high)
		require.EqualValues(t, enrolled[name], v["enrolled"], name)
		require.EqualValues(t, len(buyers[name]), v["converted"], "%s: the report counts exactly the simulated buyers", name)
		require.True(t, low <= truth[name] && truth[name] <= high, "%s: the true rate %.2f is in [%.3f, %.3f]", name, truth[name], low, high)
		if name != camp.VariantHoldout {
			require.EqualValues(t, enrolled[name], v["sent"], "one email each")
		} else {
			require.EqualValues(t, 0, v["sent"], "the holdout is never emailed")
		}
	}
	// B's lift over the holdout is real (30 points) and the interval says so.
	for _, raw := range report["variants"].([]any) {
		if v := raw.(map[string]any); v["variant"] == "B" {
			lift := v["conversion_lift_vs_holdout"].(map[string]any)
			require.Greater(t, lift["low"].(float64), 0.0, "B's lift over the holdout excludes zero")
			require.InDelta(t, 0.30, lift["estimate"].(float64), 3*(lift["high"].(float64)-lift["estimate"].(float64))/1.96)
		}
	}

	consoleInChromium(t, a)
}

// consoleInChromium signs in to the console, reads the campaign page,
// promotes B and keeps screenshots.
func consoleInChromium(t *testing.T, a api) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("LIFT_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium is not installed but LIFT_REQUIRE_CHROMIUM=1")
		}
		t.Log("Chromium not installed (apt-get install chromium): console screenshots skipped")
		return
	}
	artifacts := os.Getenv("LIFT_ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(artifacts, name), png, 0o644))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return s
	}
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...))
	}

	run(chromedp.Navigate(a.url+"/console"), chromedp.WaitVisible(chromedp.ID("api_key")))
	shot("console-login.png")
	run(chromedp.SendKeys(chromedp.ID("api_key"), a.key), chromedp.Submit(chromedp.ID("api_key")),
		chromedp.WaitVisible(chromedp.CSS("table")))
	require.Contains(t, text("main"), "Population test")
	require.Contains(t, text("main"), "pop-1 (running)")
	shot("console-campaigns.png")

	run(chromedp.Navigate(a.url+"/console/campaigns/pop"), chromedp.WaitVisible(chromedp.ID("variants")))
	variants := text("#variants")
	for _, v := range []string{"A", "B", "holdout"} {
		require.Contains(t, variants, v)
	}
	require.Contains(t, text("#verdict"), "B beats the control A", "B's 40 %% against A's 20 %% over ~96 each is a clear win")
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#variants .chart .ci').length`))
	require.NoError(t, err)
	require.Equal(t, 3, bars, "a conversion-rate bar with its interval per variant")
	require.Contains(t, text("#steps"), "hello")
	shot("console-campaign.png")

	// Promote B with the page's button (the one in B's form).
	run(chromedp.Click(chromedp.Search(`//form[.//input[@name="winner" and @value="B"]]//button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	require.Contains(t, text(".flash"), "Variant B promoted.")
	require.Contains(t, text("main"), "winner B")
	shot("console-promoted.png")

	run(chromedp.Navigate(a.url+"/console/campaigns/pop/preview?step=hello&variant=B&lang=en"),
		chromedp.WaitVisible(chromedp.CSS("iframe")))
	require.Contains(t, text("main"), "B: Ada, a tip for you")
	shot("console-preview.png")
	t.Logf("console screenshots in %s", artifacts)
}
