package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/testdb"
)

// buyers makes n consenting customers, <prefix>-0 … <prefix>-(n-1), and
// returns a camera purchase event for each, in order.
func buyers(t *testing.T, b *bundle, prefix string, n int) []string {
	t.Helper()
	var evs []string
	for i := range n {
		c := fmt.Sprintf("%s-%d", prefix, i)
		st, body := b.do(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		evs = append(evs, fmt.Sprintf(`{"type":"purchase","customer_id":%q,"properties":{"order_id":"o-%s","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`, c, c))
	}
	return evs
}

// A batch runs customers side by side and each customer's events in the
// order sent: a purchase that starts a sequence, then a complaint that
// ends it, for 300 customers at once.
func TestBatchKeepsEachCustomersOrder(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	b.seed(t)
	var evs []string
	for i, c := range buyers(t, b, "b", 300) {
		evs = append(evs, c, fmt.Sprintf(`{"type":"complaint","customer_id":"b-%d"}`, i))
	}
	st, body := b.do(t, "POST", "/v1/events:batch", `{"events":[`+strings.Join(evs, ",")+`]}`)
	require.Equal(t, 200, st, "%v", body)
	results := body["results"].([]any)
	require.Len(t, results, 600)
	for i, r := range results {
		item := r.(map[string]any)
		require.EqualValues(t, i, item["index"])
		require.EqualValues(t, 202, item["status"], "%v", item)
		res := item["result"].(map[string]any)
		if i%2 == 0 {
			require.Len(t, res["started"], 1, "item %d", i)
		} else {
			require.Len(t, res["signalled"], 1, "item %d: the complaint came after the purchase", i)
		}
	}
}

// An exit event reaches the customer's running sequences by their
// enrolment rows: one signal per running sequence, not one per published
// campaign, and not the sequences that began after the event.
func TestExitsReachOnlyWhatIsRunning(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	b.seed(t)
	for i := range 50 {
		st, body := b.do(t, "POST", "/v1/campaigns", fmt.Sprintf(`{"id":"other-%d","name":"Other","kind":"cross_sell",
		  "trigger":{"event":"milestone"},"steps":[{"id":"a","at":"1d","subject":"Hi","template":"education"}]}`, i))
		require.Equal(t, 201, st, "%v", body)
		st, _ = b.do(t, "POST", fmt.Sprintf("/v1/campaigns/other-%d/publish", i), "")
		require.Equal(t, 201, st)
	}
	st, body := b.do(t, "POST", "/v1/events", `{"type":"purchase","customer_id":"ada","properties":{"order_id":"o-1","items":[{"sku":"cam-1","quantity":1,"price":899}]}}`)
	require.Equal(t, 202, st, "%v", body)
	require.Len(t, body["started"], 1)
	before := b.seq.SignalRPCs()
	st, body = b.do(t, "POST", "/v1/events", `{"type":"complaint","customer_id":"ada"}`)
	require.Equal(t, 202, st, "%v", body)
	require.Len(t, body["signalled"], 1, "%v", body)
	require.Equal(t, 1, b.seq.SignalRPCs()-before, "one signal for the one running sequence, with 51 campaigns published")
}

// TestBatchOutlivesTheServerWriteTimeout: a batch whose events keep
// finishing is answered even when, on a loaded Temporal, the whole batch
// takes longer than the server's write timeout.
func TestBatchOutlivesTheServerWriteTimeout(t *testing.T) {
	t.Parallel()
	b := on(t, testdb.SQLite(t))
	b.seed(t)
	evs := buyers(t, b, "slow", 24)
	b.seq.StartDelay = 150 * time.Millisecond // three rounds of eight: 450 ms
	srv := httptest.NewUnstartedServer(b.h)
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	req, err := http.NewRequest("POST", srv.URL+"/v1/events:batch", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "the server gave up on the answer")
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	require.Equal(t, 200, res.StatusCode, "%s", out)
	require.Len(t, b.seq.Started(), 24)
}
