package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/demo"
	"github.com/lift-hq/lift/internal/testbrowser"
)

// TestMarketerStartsAnABTestInChromium is issue 15's check, as a marketer
// would do it: in headless Chromium, sign in, open the demo's welcome
// campaign, write a subject-line test in the New A/B test form, preview
// it (at 1,280 and 390 px, the page never wider than the window), start
// it, drive simulated customers through the real worker, and read both
// variants' rows on the campaign page. Screenshots go to
// $LIFT_ARTIFACTS_DIR.
func TestMarketerStartsAnABTestInChromium(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	// The demo's welcome campaign, published without its experiment started.
	a.must(t, "POST", "/v1/campaigns", demo.Experiment, 201)
	a.must(t, "POST", "/v1/campaigns/welcome-test/publish", nil, 201)

	ctx, artifacts := testbrowser.Start(t, 3*time.Minute)
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return s
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(artifacts, name), png, 0o644))
	}
	// fits: the page is no wider than the window; wide tables scroll
	// inside their cards.
	fits := func(what string) {
		t.Helper()
		over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, over, 0, "%s is %d px wider than the window", what, over)
	}
	viewport := func(w, h int64) { run(chromedp.EmulateViewport(w, h)) }

	run(chromedp.Navigate(a.url+"/console"), chromedp.WaitVisible(chromedp.ID("api_key")),
		chromedp.SendKeys(chromedp.ID("api_key"), a.key), chromedp.Submit(chromedp.ID("api_key")),
		chromedp.WaitVisible(chromedp.CSS("table")))
	run(chromedp.Navigate(a.url+"/console/campaigns/welcome-test"), chromedp.WaitVisible(chromedp.ID("new-test")))
	run(chromedp.Click(chromedp.ID("new-test")), chromedp.WaitVisible(chromedp.ID("start-test")))
	require.Contains(t, text("h1"), "New A/B test")

	// B's subject; the split stays 50/50, the holdout the campaign's 20 %.
	run(chromedp.SendKeys(chromedp.CSS(`#variant-B input[name="subject"]`), "{{.Customer.FirstName}}, one lens away from great photos"),
		chromedp.Clear(chromedp.CSS(`input[name="min_sends"]`)), chromedp.SendKeys(chromedp.CSS(`input[name="min_sends"]`), "5"),
		chromedp.Click(chromedp.CSS(`button[value="preview"]`)), chromedp.WaitVisible(chromedp.ID("preview-B")))
	require.Contains(t, text("#preview-A"), "Welcome, Ada")
	require.Contains(t, text("#preview-B"), "Ada, one lens away from great photos")
	phones, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('iframe.phone').length`))
	require.NoError(t, err)
	require.Equal(t, 2, phones, "each variant at phone width")
	viewport(1280, 900)
	fits("the test form at 1280 px")
	shot("console-new-test.png")
	// The variants side by side, as the marketer scrolls to them.
	run(chromedp.ScrollIntoView(chromedp.ID("preview-A")), chromedp.Sleep(500*time.Millisecond))
	view, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "console-new-test-preview.png"), view, 0o644))
	viewport(390, 844)
	fits("the test form at 390 px")
	shot("console-new-test-phone.png")
	viewport(1280, 900)

	run(chromedp.Click(chromedp.ID("start-test")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	require.Contains(t, text(".flash"), "Test test-v2 started: v2 is published with it.")
	require.Contains(t, text("main"), "test-v2")

	// Customers reach the milestone; each gets its variant's subject.
	for i := range 16 {
		c := fmt.Sprint("ab-", i)
		a.must(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","name":"Cu `+c+`","marketing_consent":true}`, 200)
		a.must(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"`+c+`","properties":{"name":"signed_up"}}`, 202)
	}
	subjects := map[string]bool{}
	for i := range 16 {
		c := fmt.Sprint("ab-", i)
		j := a.journeys(t, c)
		require.Len(t, j, 1)
		if j[0].Variant == "holdout" {
			continue
		}
		eventually(t, 60*time.Second, "the welcome email to "+c, func() bool { return len(sentSteps(a.messages(t, c))) == 1 })
		subject := a.messages(t, c)[0].Subject
		want := map[string]string{"A": "Welcome, Cu", "B": "Cu, one lens away"}[j[0].Variant]
		require.True(t, strings.HasPrefix(subject, want), "%s in %s got %q", c, j[0].Variant, subject)
		subjects[j[0].Variant] = true
	}
	require.Len(t, subjects, 2, "16 customers reach both variants")

	run(chromedp.Navigate(a.url+"/console/campaigns/welcome-test"), chromedp.WaitVisible(chromedp.ID("variants")))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#variants tbody tr')].map(r => r.cells[0].innerText + ' ' + r.cells[1].innerText)`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(rows), 2, "%v", rows)
	joined := strings.Join(rows, "; ")
	require.Regexp(t, `(^|; )A [1-9]`, joined, "variant A's row counts its enrolments")
	require.Regexp(t, `(^|; )B [1-9]`, joined, "variant B's row counts its enrolments")
	fits("the campaign page at 1280 px")
	shot("console-test-running.png")
	viewport(390, 844)
	fits("the campaign page at 390 px")
	shot("console-test-running-phone.png")
	t.Logf("screenshots in %s", artifacts)
}
