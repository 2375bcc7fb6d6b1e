package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	camp "github.com/lift-hq/lift/internal/campaign"
)

// TestExperimentVariantsAndHoldoutThroughTheRealWorker runs an A/B test
// with a holdout through the embedded Temporal server and the real worker:
// each customer gets their assigned variant's subject, and the held-out
// customers enter the sequence but receive nothing.
func TestExperimentVariantsAndHoldoutThroughTheRealWorker(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	a.must(t, "POST", "/v1/campaigns", `{"id":"welcome-ab","name":"Welcome A/B","kind":"cross_sell",
	  "trigger":{"event":"milestone"}, "holdout": 30,
	  "experiment":{"id":"subject-1","variants":[{"id":"A","weight":1},
	    {"id":"B","weight":1,"steps":{"hello":{"subject":"B: a tip for {{.Customer.FirstName}}"}}}]},
	  "steps":[{"id":"hello","at":"0d","subject":"A: welcome, {{.Customer.FirstName}}","template":"education",
	    "body":"Three ways to get more out of your account."}]}`, 201)
	a.must(t, "POST", "/v1/campaigns/welcome-ab/publish", nil, 201)

	variants := []camp.Weighted{{ID: "A", Weight: 1}, {ID: "B", Weight: 1}}
	want := map[string]string{}
	groups := map[string]int{}
	for i := 0; i < 12; i++ {
		c := fmt.Sprint("ab-", i)
		want[c] = camp.Assign(c, "welcome-ab", "subject-1", 30, variants)
		groups[want[c]]++
		a.must(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","name":"Cu `+c+`","marketing_consent":true}`, 200)
		a.must(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"`+c+`","properties":{"name":"signed_up"}}`, 202)
	}
	require.Len(t, groups, 3, "these customers cover A, B and the holdout: %v", groups)

	for c, v := range want {
		if v == camp.VariantHoldout {
			continue
		}
		eventually(t, 30*time.Second, "the email to "+c, func() bool { return len(sentSteps(a.messages(t, c))) == 1 })
		subject := a.messages(t, c)[0].Subject
		require.Equal(t, v+": ", subject[:3], "%s is in %s: %q", c, v, subject)
	}
	for c, v := range want {
		j := a.journeys(t, c)
		require.Len(t, j, 1, c)
		require.Equal(t, v, j[0].Variant, "the enrolment records the assignment")
		if v == camp.VariantHoldout {
			require.Empty(t, a.messages(t, c), "%s is held out: enrolled, never emailed", c)
		}
	}
}
