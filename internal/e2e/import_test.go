package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHistoryImportThenABatchOfPurchases: on the real server and worker,
// a shop loads its customers and a year of orders while a purchase
// campaign is live (no sequence starts, no email), and then its backend
// sends a batch of 1,000 fresh purchases, which all start sequences
// inside the request's timeout. The batch's time is logged.
func TestHistoryImportThenABatchOfPurchases(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	a.must(t, "PUT", "/v1/products/cam", `{"name":"X100 Camera","category":"cameras","price":899,"url":"https://shop.example.com/p/cam"}`, 200)
	// The first email is far off: the test watches enrolment, not sends.
	a.must(t, "POST", "/v1/campaigns", `{"id":"later","name":"Later","kind":"cross_sell",
	  "trigger":{"event":"purchase"},"exit_on":["complaint"],
	  "steps":[{"id":"one","at":"365d","subject":"Hello","template":"education"}]}`, 201)
	a.must(t, "POST", "/v1/campaigns/later/publish", nil, 201)

	const n = 1000
	var customers, orders strings.Builder
	customers.WriteString("customer_id,email,marketing_consent,consent_source,consent_at\n")
	orders.WriteString("order_id,customer_id,occurred_at,sku,quantity,price,currency\n")
	for i := range n {
		fmt.Fprintf(&customers, "c%d,c%d@example.com,true,checkout,2025-01-01T00:00:00Z\n", i, i)
		fmt.Fprintf(&orders, "old-%d,c%d,2025-06-01T10:00:00Z,cam,1,899,USD\n", i, i)
	}
	post := func(kind, body string) string {
		req, err := http.NewRequest("POST", a.url+"/v1/imports/"+kind, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "text/csv")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		require.Equal(t, 200, res.StatusCode, "%s", out)
		return string(out)
	}
	require.Contains(t, post("customers", customers.String()), fmt.Sprintf(`"inserted":%d`, n))
	require.Contains(t, post("orders", orders.String()), fmt.Sprintf(`"inserted":%d`, n))
	for _, c := range []string{"c0", "c500", "c999"} {
		require.Empty(t, a.journeys(t, c), "a year-old order starts no sequence")
		require.Empty(t, a.messages(t, c))
	}

	evs := make([]string, n)
	for i := range n {
		evs[i] = purchase(fmt.Sprint("c", i), fmt.Sprint("new-", i), "cam")
	}
	start := time.Now()
	st, body := a.do(t, "POST", "/v1/events:batch", `{"events":[`+strings.Join(evs, ",")+`]}`)
	took := time.Since(start)
	require.Equal(t, 200, st, "%v", body)
	for _, r := range body["results"].([]any) {
		item := r.(map[string]any)
		require.EqualValues(t, 202, item["status"], "%v", item)
		require.Len(t, item["result"].(map[string]any)["started"], 1, "%v", item)
	}
	t.Logf("a batch of %d purchases, each starting a sequence on the embedded server: %.1f s (the write timeout is 30 s)", n, took.Seconds())
}
