package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	camp "github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/demo"
	"github.com/lift-hq/lift/internal/testbrowser"
)

// TestSimulatedPopulationReportAndConsole is the check: the
// demo's simulated population with known true conversion rates per
// variant (holdout 10 %, A 20 %, B 40 %) goes through the compressed-day
// sequence on the real worker; the report must count exactly the simulated buyers, and each
// true rate must lie in the report's 95 % interval. Then a marketer reads
// it in the console in headless Chromium, promotes B with the button, and
// the screenshots are kept ($LIFT_ARTIFACTS_DIR).
func TestSimulatedPopulationReportAndConsole(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	pop, err := demo.Simulate(context.Background(), a.url, a.key, 500, 2026)
	require.NoError(t, err)
	truth, enrolled, buyers := demo.TrueRates, pop.Enrolled, pop.Buyers
	total := 0
	for _, b := range buyers {
		total += len(b)
	}
	var report map[string]any
	// 500 sequences on a two-core machine that may be busy: a generous
	// ceiling; the poll returns as soon as the count is right.
	eventually(t, 5*time.Minute, "every simulated purchase counted", func() bool {
		_, report = a.do(t, "GET", "/v1/campaigns/welcome-test/report", nil)
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

	t.Run("console in Chromium", func(t *testing.T) { consoleInChromium(t, a) })
}

// consoleInChromium signs in to the console, reads the campaign page,
// promotes B and keeps screenshots.
func consoleInChromium(t *testing.T, a api) {
	ctx, artifacts := testbrowser.Start(t, 90*time.Second)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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
	require.Contains(t, text("main"), "Welcome subject-line test")
	require.Contains(t, text("main"), "subject-1 (running)")
	shot("console-campaigns.png")

	run(chromedp.Navigate(a.url+"/console/campaigns/welcome-test"), chromedp.WaitVisible(chromedp.ID("variants")))
	variants := text("#variants")
	for _, v := range []string{"A", "B", "holdout"} {
		require.Contains(t, variants, v)
	}
	require.Contains(t, text("#verdict"), "B beats the control A", "B's 40 %% against A's 20 %% over about 200 each is a clear win")
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

	run(chromedp.Navigate(a.url+"/console/campaigns/welcome-test/preview?step=hello&variant=B&lang=en"),
		chromedp.WaitVisible(chromedp.CSS("iframe")))
	require.Contains(t, text("main"), "Ada, your kit is one lens away")
	shot("console-preview.png")
	t.Logf("console screenshots in %s", artifacts)
}
