package e2e_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReEngagementAfterAQuietSpell needs no event to start: three quiet
// sequence days after the customer's last event, the win-back campaign
// starts on its own and sends its email.
func TestReEngagementAfterAQuietSpell(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	a.must(t, "PUT", "/v1/customers/quinn", `{"email":"quinn@example.com","name":"Quinn","marketing_consent":true}`, 200)
	a.must(t, "POST", "/v1/campaigns", `{"id":"winback","name":"We miss you","kind":"cross_sell",
	  "trigger":{"event":"inactivity","after":"3d"},
	  "steps":[{"id":"miss-you","at":"0d","subject":"We miss you, {{.Customer.FirstName}}","template":"education",
	    "body":"Here is what is new since your last visit."}]}`, 201)
	a.must(t, "POST", "/v1/campaigns/winback/publish", nil, 201)

	start := time.Now()
	a.must(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"quinn","properties":{"name":"signed_up"}}`, 202)
	eventually(t, 30*time.Second, "the win-back email", func() bool {
		return len(sentSteps(a.messages(t, "quinn"))) == 1
	})
	require.GreaterOrEqual(t, time.Since(start), 3*time.Second, "not before the quiet spell")
	ms := a.messages(t, "quinn")
	require.Equal(t, "We miss you, Quinn", ms[0].Subject)
	j := a.journeys(t, "quinn")
	require.Len(t, j, 1)
	require.Equal(t, "seq/winback/quinn", j[0].WorkflowID)

	// The watcher's enrolment is counted, like an event's.
	text := httptest.NewRecorder()
	d.Telemetry.Handler().ServeHTTP(text, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, "1", metricLine(text.Body.String(), "lift_enrolments_total", `campaign="winback"`), "%s", text.Body)
}
