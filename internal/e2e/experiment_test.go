package e2e_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	camp "github.com/lift-hq/lift/internal/campaign"
	liftworker "github.com/lift-hq/lift/worker"
)

// TestExperimentVariantsAndHoldoutThroughTheRealWorker runs an A/B test
// with a holdout through the embedded Temporal server and the real worker:
// each customer gets their assigned variant's subject, and the held-out
// customers enter the sequence but receive nothing. Then B is promoted
// with move_running: the customers in A get B's second email, and the
// holdout still gets nothing.
func TestExperimentVariantsAndHoldoutThroughTheRealWorker(t *testing.T) {
	d, a := startDev(t, t.TempDir(), "")
	defer d.Stop(context.Background())
	a.must(t, "POST", "/v1/campaigns", `{"id":"welcome-ab","name":"Welcome A/B","kind":"cross_sell",
	  "trigger":{"event":"milestone"}, "holdout": 30,
	  "experiment":{"id":"subject-1","variants":[{"id":"A","weight":1},
	    {"id":"B","weight":1,"steps":{"hello":{"subject":"B: a tip for {{.Customer.FirstName}}"},
	      "later":{"subject":"B: one more tip","at":"6d"}}}]},
	  "steps":[{"id":"hello","at":"0d","subject":"A: welcome, {{.Customer.FirstName}}","template":"education",
	    "body":"Three ways to get more out of your account."},
	    {"id":"later","at":"8d","subject":"A: still here","template":"education","body":"More."}]}`, 201)
	a.must(t, "POST", "/v1/campaigns/welcome-ab/publish", nil, 201)
	a.must(t, "POST", "/v1/campaigns/welcome-ab/experiments", `{}`, 201)

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

	// Promote B and move the running enrolments: everyone's second email
	// is B's, sent on B's day 6 or, for those already past it, at once.
	a.must(t, "POST", "/v1/campaigns/welcome-ab/experiments/subject-1/conclude", `{"winner":"B","move_running":true}`, 200)
	for c, v := range want {
		if v == camp.VariantHoldout {
			continue
		}
		eventually(t, 30*time.Second, "the second email to "+c, func() bool { return len(sentSteps(a.messages(t, c))) == 2 })
		second := a.messages(t, c)[1]
		require.Equal(t, "B: one more tip", second.Subject, "%s (assigned %s) gets the winner's second email", c, v)
		require.Equal(t, "B", second.Variant)
		j := a.journeys(t, c)
		require.Equal(t, v, j[0].Variant, "the enrolment keeps its assignment, so the experiment's numbers stay intention-to-treat")
		if v == "A" {
			require.Equal(t, "B", j[0].PromotedTo, c)
		}
	}
	for c, v := range want {
		if v == camp.VariantHoldout {
			require.Empty(t, a.messages(t, c), "the holdout is never moved")
		}
	}

	// The promotion replays, and is kept for the replay tests.
	promote := "promote/welcome-ab/subject-1"
	require.NoError(t, d.Temporal.GetWorkflow(context.Background(), promote, "").Get(context.Background(), nil))
	promoted := history(t, d.Temporal, promote)
	r := worker.NewWorkflowReplayer()
	liftworker.RegisterWorkflows(r)
	require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), promoted))
	recordHistory(t, "promote_winner", promoted)

	// The switch replays, and is kept for the replay tests.
	for c, v := range want {
		if v != "A" {
			continue
		}
		hist := history(t, d.Temporal, "seq/welcome-ab/"+c)
		r := worker.NewWorkflowReplayer()
		liftworker.RegisterWorkflows(r)
		require.NoError(t, r.ReplayWorkflowHistory(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), hist), c)
		if dir := os.Getenv("LIFT_RECORD_HISTORY_DIR"); dir != "" {
			raw, err := protojson.Marshal(hist)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sequence_switched_"+os.Getenv("LIFT_RECORD_HISTORY_TAG")+".json"), raw, 0o644))
		}
		break
	}
}
