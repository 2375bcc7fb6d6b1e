package activities_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/lift-hq/lift/activities"
	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

// experimentStore publishes a campaign with an A/B experiment, starts the
// experiment and enrols n customers per variant (and n/5 in the holdout),
// each sent step s1; conv[v] of variant v convert and complaints[v] report
// spam.
func experimentStore(t *testing.T, s *models.Store, autoPromote bool, n int, conv, complaints map[string]int) (*apptest.Bundle, *activities.Activities) {
	t.Helper()
	d := def
	d.ID = "exp"
	d.Experiment = &campaign.Experiment{ID: "e1", Variants: []campaign.Variant{{ID: "A", Weight: 1}, {ID: "B", Weight: 1,
		Steps: map[string]campaign.VariantStep{"s2": {At: "5d"}}}}}
	raw, err := json.Marshal(d)
	require.NoError(t, err)
	require.NoError(t, s.CreateCampaign(ctx, &models.Campaign{ID: "exp", Name: "Exp", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
	_, err = s.PublishCampaign(ctx, "exp")
	require.NoError(t, err)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, s.StartExperiment(ctx, &models.Experiment{CampaignID: "exp", ID: "e1", Version: 1, Status: domain.ExperimentRunning,
		Metric: "conversion_rate", MinSends: 200, Alpha: 0.05, AutoPromote: autoPromote, MoveRunning: autoPromote, GuardrailMinSends: 200,
		StartedAt: t0}))
	var enrs []models.Enrollment
	var msgs []models.Message
	var convs []models.Conversion
	for _, v := range []string{"A", "B", campaign.VariantHoldout} {
		count := n
		if v == campaign.VariantHoldout {
			count = n / 5
		}
		for i := 0; i < count; i++ {
			id := fmt.Sprintf("%s-%04d", v, i)
			enrs = append(enrs, models.Enrollment{ID: id, CustomerID: "c" + id, CampaignID: "exp", Version: 1, WorkflowID: "seq/exp/c" + id,
				Variant: v, Status: domain.StatusRunning, EnrolledAt: t0.Add(time.Hour)})
			if v == campaign.VariantHoldout {
				continue
			}
			m := models.Message{ID: "m" + id, IdempotencyKey: id + "/s1", EnrollmentID: id, StepID: "s1", CustomerID: "c" + id,
				CampaignID: "exp", Variant: v, Status: domain.MessageSent, SentAt: &t0}
			if i < complaints[v] {
				m.ComplainedAt = &t0
			}
			msgs = append(msgs, m)
			if i < conv[v] {
				convs = append(convs, models.Conversion{EnrollmentID: id, OrderID: "o" + id, CustomerID: "c" + id, CampaignID: "exp",
					Variant: v, Goal: "purchase_any", RevenueMinor: 5000, Currency: "USD"})
			}
		}
	}
	db := s.DB()
	require.NoError(t, db.CreateInBatches(enrs, 200).Error)
	require.NoError(t, db.CreateInBatches(msgs, 200).Error)
	if len(convs) > 0 {
		require.NoError(t, db.CreateInBatches(convs, 200).Error)
	}
	b := apptest.New(t, s)
	b.SetNow(t0.Add(48 * time.Hour))
	return b, &activities.Activities{App: b.App}
}

// run executes an activity the way a worker does, with an activity
// context (logger, heartbeats).
func run[T any](t *testing.T, acts *activities.Activities, fn any, args ...any) T {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.Interceptor()}})
	liftworker.RegisterActivities(env, acts)
	v, err := env.ExecuteActivity(fn, args...)
	require.NoError(t, err)
	var out T
	require.NoError(t, v.Get(&out))
	return out
}

func TestCheckExperimentsPausesAVariantPastItsComplaintGuardrail(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	_, acts := experimentStore(t, s, true, 300, map[string]int{"A": 15, "B": 15}, map[string]int{"B": 1}) // 1/300 = 0.33 % > 0.1 %
	moves := run[[]workflows.Promotion](t, acts, acts.CheckExperiments)
	require.Empty(t, moves, "no winner: the variants convert alike")
	e, err := s.GetExperiment(ctx, "exp", "e1")
	require.NoError(t, err)
	require.Equal(t, domain.ExperimentRunning, e.Status)
	require.Contains(t, e.Paused["B"], "spam-complaint rate 0.33% over 0.1% after 300 sends")
	require.Contains(t, e.Paused["B/s1"], "spam-complaint rate")
	require.NotContains(t, e.Paused, "A")
	require.NotNil(t, e.LastCheckedAt)
	require.Contains(t, e.PValues, "B")

	// B's remaining emails are held back, A's go on.
	p, err := acts.Prepare(ctx, workflows.StepRef{EnrollmentID: "B-0001", CustomerID: "cB-0001", CampaignID: "exp", Version: 1, StepID: "s2", Variant: "B"})
	require.NoError(t, err)
	require.True(t, p.Skip)
	require.Contains(t, p.Reason, "guardrail paused variant B")
}

func TestAnExperimentWhoseEveryVariantIsPausedHoldsTheCampaign(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	// Both variants, the control too, pass the complaint guardrail.
	b, acts := experimentStore(t, s, false, 300, nil, map[string]int{"A": 1, "B": 1})
	run[[]workflows.Promotion](t, acts, acts.CheckExperiments)
	require.NoError(t, s.UpsertCustomer(ctx, &models.Customer{ID: "new", Email: "new@example.com", Timezone: "UTC", Consent: true}))
	buy := func(id string) app.EventResult {
		res, err := b.App.Ingest(ctx, app.Event{ID: id, Type: "purchase", CustomerID: "new",
			Properties: map[string]any{"order_id": id, "items": []any{map[string]any{"sku": "x", "quantity": 1.0, "price": 10.0}}}})
		require.NoError(t, err)
		return res
	}

	res := buy("o-1")
	require.Empty(t, res.Started, "no one is enrolled into a variant whose every email would be skipped")
	require.Len(t, res.Skipped, 1)
	require.Contains(t, res.Skipped[0].Reason, "experiment e1 is paused: its guardrails paused every variant (A: spam-complaint rate")
	require.Empty(t, b.Sequences.Started())
	require.EqualValues(t, 1, b.Metrics.Count("lift_entries_refused", "campaign=exp", "reason=experiment_paused"))

	v, err := b.App.CurrentExperiment(ctx, "exp")
	require.NoError(t, err)
	require.Equal(t, domain.ExperimentPaused, v.Status, "the experiment says paused, not running")
	require.Contains(t, v.PausedReason, "paused every variant")
	require.Empty(t, v.Routing)
	c, err := b.App.Campaign(ctx, "exp")
	require.NoError(t, err)
	require.Equal(t, v.PausedReason, c.Held, "and so does the campaign")

	// Resuming one variant lets enrolments in again, into that variant.
	_, err = b.App.ResumeVariant(ctx, "exp", "e1", app.Resumption{Variant: "B"})
	require.NoError(t, err)
	res = buy("o-2")
	require.Len(t, res.Started, 1)
	require.Equal(t, "B", res.Started[0].Variant)
	c, err = b.App.Campaign(ctx, "exp")
	require.NoError(t, err)
	require.Empty(t, c.Held)

	// A stopped experiment sends everyone the control: while the control
	// is paused, the campaign is held all the same.
	_, err = b.App.StopExperiment(ctx, "exp", "e1")
	require.NoError(t, err)
	res = buy("o-3")
	require.Empty(t, res.Started)
	require.Contains(t, res.Skipped[0].Reason, "experiment e1 has stopped and sends everyone variant A, which its guardrail paused")
}

func TestAutoPromotionConcludesAndMovesRunningEnrolments(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	b, acts := experimentStore(t, s, true, 600, map[string]int{"A": 18, "B": 60}, nil) // 3 % vs 10 %
	for i := range 600 {
		for _, v := range []string{"A", "B"} {
			b.Sequences.SetRunning(fmt.Sprintf("seq/exp/c%s-%04d", v, i), i != 7 || v != "A") // cA-0007 has ended
		}
	}
	moves := run[[]workflows.Promotion](t, acts, acts.CheckExperiments)
	require.Equal(t, []workflows.Promotion{{CampaignID: "exp", ExperimentID: "e1", Winner: "B"}}, moves)
	e, err := s.GetExperiment(ctx, "exp", "e1")
	require.NoError(t, err)
	require.Equal(t, domain.ExperimentConcluded, e.Status)
	require.Equal(t, "B", e.Winner)

	n := run[int](t, acts, acts.MoveToWinner, moves[0])
	require.Equal(t, 599, n, "every running A enrolment but the one that ended; never B's or the holdout's")
	switched := b.Sequences.Switched()
	require.Len(t, switched, 599)
	for id, sw := range switched {
		require.Contains(t, id, "seq/exp/cA-")
		require.Equal(t, "B", sw.Variant)
		require.Equal(t, 5, sw.Steps[1].Window.Min.Days, "the winner's own timing goes with the switch")
	}
	// A second look at a concluded experiment does nothing.
	require.Empty(t, run[[]workflows.Promotion](t, acts, acts.CheckExperiments))
}
