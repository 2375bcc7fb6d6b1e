package e2e_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	liftworker "github.com/lift-hq/lift/worker"
)

// TestPublishingMovesRunningEnrolmentsOntoTheNewVersion publishes a
// second version with move_running through the real worker: each running
// sequence keeps the email it was sent, then follows v2 (its new step,
// then its copy of the last one), and its journey and enrolment say v2.
func TestPublishingMovesRunningEnrolmentsOntoTheNewVersion(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	v1 := `{"id":"onboard","name":"Onboarding","kind":"cross_sell","trigger":{"event":"milestone"},
	  "steps":[{"id":"hello","at":"0d","subject":"v1: welcome","template":"education","body":"Hello."},
	    {"id":"later","at":"8d","subject":"v1: still here","template":"education","body":"More."}]}`
	a.must(t, "POST", "/v1/campaigns", v1, 201)
	a.must(t, "POST", "/v1/campaigns/onboard/publish", nil, 201)
	customers := []string{"mv-0", "mv-1", "mv-2"}
	for _, c := range customers {
		a.must(t, "PUT", "/v1/customers/"+c, `{"email":"`+c+`@example.com","name":"Cu `+c+`","marketing_consent":true}`, 200)
		a.must(t, "POST", "/v1/events", `{"type":"milestone","customer_id":"`+c+`","properties":{"name":"signed_up"}}`, 202)
	}
	for _, c := range customers {
		eventually(t, 30*time.Second, "the first email to "+c, func() bool { return len(sentSteps(a.messages(t, c))) == 1 })
	}

	v2 := strings.NewReplacer(`"v1: still here"`, `"v2: still here"`,
		`{"id":"later"`, `{"id":"tips","at":"3d","subject":"v2: tips","template":"education","body":"Tips."},{"id":"later"`).Replace(v1)
	a.must(t, "PUT", "/v1/campaigns/onboard", v2, 200)
	out := a.must(t, "POST", "/v1/campaigns/onboard/publish", `{"move_running":true}`, 201)
	require.Equal(t, true, out["moving_running_enrolments"], "%v", out)

	for _, c := range customers {
		eventually(t, 60*time.Second, "v2's emails to "+c, func() bool { return len(sentSteps(a.messages(t, c))) == 3 })
		ms := a.messages(t, c)
		require.Equal(t, []string{"hello", "tips", "later"}, sentSteps(ms), c)
		require.Equal(t, []string{"v1: welcome", "v2: tips", "v2: still here"}, []string{ms[0].Subject, ms[1].Subject, ms[2].Subject},
			"%s keeps the email v1 sent and gets v2's from then on", c)
	}
	j := a.journeys(t, customers[0])
	require.Equal(t, 2, j[0].Version, "%+v", j[0])
	if j[0].Source == "workflow" {
		require.Equal(t, 1, j[0].MovedFromVersion)
	}

	// The move and a moved sequence replay, and are kept for the replay tests.
	move := fmt.Sprintf("move-version/onboard/%d", 2)
	require.NoError(t, d.Temporal.GetWorkflow(context.Background(), move, "").Get(context.Background(), nil))
	seq := "seq/onboard/" + customers[0]
	eventually(t, 60*time.Second, "the moved sequence to end", func() bool { return a.journeys(t, customers[0])[0].Status == "completed" })
	for name, id := range map[string]string{"move_to_version": move, "sequence_moved": seq} {
		h := history(t, d.Temporal, id)
		r := worker.NewWorkflowReplayer()
		liftworker.RegisterWorkflows(r)
		require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), h), name)
		recordHistory(t, name, h)
	}
}
