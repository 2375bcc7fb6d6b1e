package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/internal/testbrowser"
)

// TestRecommendationsLearnedFromTheShopsOrders: a shop imports its order
// history (a generated one whose customers buy within product families),
// asks for a rebuild, which runs as the Temporal workflow on the real
// worker and evaluates every strategy on those orders; auto then stands
// for the strategy that won, a campaign recommending with auto sends the
// family's products through it, the report says which strategy answered,
// and the console's Recommendations page shows the evaluation in Chromium.
func TestRecommendationsLearnedFromTheShopsOrders(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())

	h := recs.Generate(600, 12, 5, 3)
	var customers, products, orders strings.Builder
	customers.WriteString("customer_id,email,marketing_consent,consent_source,consent_at\n")
	products.WriteString("sku,name,category,price,in_stock,url\n")
	orders.WriteString("order_id,customer_id,occurred_at,sku,quantity,price,currency\n")
	seen := map[string]bool{}
	for _, p := range h.Products {
		fmt.Fprintf(&products, "%s,%s,%s,10,true,https://shop.example.com/p/%s\n", p.SKU, p.Name, p.Category, p.SKU)
	}
	for _, o := range h.Orders {
		if !seen[o.Customer] {
			seen[o.Customer] = true
			fmt.Fprintf(&customers, "%s,%s@example.com,true,checkout,2025-01-01T00:00:00Z\n", o.Customer, o.Customer)
		}
		at := o.At.AddDate(-1, 0, 0) // a year ago: history, nothing to enrol
		for _, s := range o.SKUs {
			fmt.Fprintf(&orders, "%s,%s,%s,%s,1,10,USD\n", o.ID, o.Customer, at.Format(time.RFC3339), s)
		}
	}
	post := func(kind, body string) {
		req, err := http.NewRequest("POST", a.url+"/v1/imports/"+kind, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "text/csv")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		require.Equal(t, 200, res.StatusCode, "%s", out)
		require.Contains(t, string(out), `"rejected":0`, "%s", out)
	}
	post("customers", customers.String())
	post("products", products.String())
	post("orders", orders.String())

	// The rebuild runs in the background on the worker, one at a time.
	st := a.must(t, "POST", "/v1/recommendations/rebuild", nil, 202)
	require.Equal(t, "running", st["state"])
	again := a.must(t, "POST", "/v1/recommendations/rebuild", nil, 202)
	require.Equal(t, false, again["started"], "one rebuild at a time: the second ask joins the first")
	var status map[string]any
	eventually(t, 3*time.Minute, "the rebuild to finish", func() bool {
		status = a.must(t, "GET", "/v1/recommendations/rebuild", nil, 200)
		return status["state"] == "idle" && status["model"] != nil
	})
	model := status["model"].(map[string]any)
	require.EqualValues(t, len(h.Orders), model["orders"])
	auto := status["auto"].(map[string]any)
	require.Contains(t, []any{"similar_customers", "bought_together"}, auto["strategy"], "%v", auto)
	require.Contains(t, auto["reason"], "cases (95% interval", "decided on this shop's own orders: %v", auto)
	require.NotNil(t, status["evaluation"])

	// A cross-sell that recommends with auto.
	a.must(t, "POST", "/v1/campaigns", `{"id":"family","name":"Family","kind":"cross_sell","trigger":{"event":"purchase"},
	  "exit_on":["complaint"],"steps":[{"id":"more","at":"1d","subject":"Made for your {{.Trigger.ProductName}}",
	  "template":"recommendation","recommend":{"strategy":"auto","limit":2}}]}`, 201)
	pub := a.must(t, "POST", "/v1/campaigns/family/publish", nil, 201)
	t.Logf("publish warnings: %v", pub["warnings"])
	a.must(t, "PUT", "/v1/customers/newbie", `{"email":"newbie@example.com","marketing_consent":true}`, 200)
	a.must(t, "POST", "/v1/events", purchase("newbie", "o-newbie", "f000-00"), 202)
	var sent []message
	eventually(t, time.Minute, "the cross-sell email", func() bool {
		sent = nil
		for _, m := range a.messages(t, "newbie") {
			if m.Status == "sent" {
				sent = append(sent, m)
			}
		}
		return len(sent) == 1
	})
	require.Len(t, sent[0].Recommended, 2)
	for _, sku := range sent[0].Recommended {
		require.True(t, strings.HasPrefix(sku, "f000-"), "the camera's own family, learned from the orders: %v", sent[0].Recommended)
	}
	full := a.must(t, "GET", "/v1/messages/"+sent[0].ID, nil, 200)
	require.Equal(t, auto["strategy"], full["strategy"], "the message keeps the strategy that answered")
	report := a.must(t, "GET", "/v1/campaigns/family/report", nil, 200)
	step := report["steps"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{auto["strategy"].(string): 1.0}, step["strategies"])
	require.Equal(t, auto["strategy"], report["auto"].(map[string]any)["strategy"])

	recommendationsInChromium(t, a)
}

// recommendationsInChromium signs in and reads the Recommendations page:
// a row per strategy and baseline with its hit rates, fitting 1,280 and
// 390 px; the screenshot goes to the artifacts.
func recommendationsInChromium(t *testing.T, a api) {
	ctx, artifacts := testbrowser.Start(t, 2*time.Minute)
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...))
	}
	fits := func(what string) {
		t.Helper()
		over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, over, 0, "%s is %d px wider than the window", what, over)
	}
	run(chromedp.Navigate(a.url+"/console"), chromedp.WaitVisible(chromedp.ID("api_key")),
		chromedp.SendKeys(chromedp.ID("api_key"), a.key), chromedp.Submit(chromedp.ID("api_key")),
		chromedp.WaitVisible(chromedp.CSS("table")))
	run(chromedp.Navigate(a.url+"/console/recommendations"), chromedp.WaitVisible(chromedp.CSS(`table[data-protocol="next_order"]`)))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('table[data-protocol="next_order"] tbody tr')].map(r => r.dataset.strategy + ' ' + r.cells[3].innerText)`))
	require.NoError(t, err)
	joined := strings.Join(rows, "; ")
	for _, s := range []string{"bought_together", "similar_customers", "popular_in_category", "complements", "popular_all_time", "popular_window"} {
		require.Regexp(t, `(^|; )`+s+` \d+\.\d %`, joined, "a row for %s with its hit rate at 3", s)
	}
	autoText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("auto")))
	require.NoError(t, err)
	require.Contains(t, autoText, "auto stands for")
	run(chromedp.EmulateViewport(1280, 900))
	fits("the recommendations page at 1280 px")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "console-recommendations.png"), png, 0o644))
	run(chromedp.EmulateViewport(390, 844))
	fits("the recommendations page at 390 px")
}
