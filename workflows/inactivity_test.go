package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/internal/campaign"
	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

func TestInactivityWatchStartsReEngagementAfterAQuietSpell(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(patientWorker)
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(workflows.InactivityWatchWorkflow, workflow.RegisterOptions{Name: workflows.InactivityWorkflowName})
	env.RegisterWorkflowWithOptions(workflows.SequenceWorkflow, workflow.RegisterOptions{Name: workflows.SequenceWorkflowName})
	liftworker.RegisterActivities(env, nil)

	plan := workflows.InactivityPlan{Version: 2, After: campaign.Offset{Days: 30}, Timezone: "Europe/Paris",
		Plan: campaign.Plan{ID: "winback", Kind: campaign.CrossSell, Steps: []campaign.PlanStep{{ID: "miss-you"}}}}
	gone := false
	env.OnActivity(workflows.ActivityLoadInactivityPlans, mock.Anything, mock.Anything).Return(
		func(context.Context, workflows.InactivityQuery) (workflows.InactivityPlans, error) {
			return workflows.InactivityPlans{Plans: []workflows.InactivityPlan{plan}, Gone: gone}, nil
		})
	var started []time.Duration
	var inputs []workflows.SequenceInput
	env.OnWorkflow(workflows.SequenceWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in workflows.SequenceInput) (workflows.SequenceResult, error) {
			started = append(started, env.Now().Sub(start))
			inputs = append(inputs, in)
			return workflows.SequenceResult{}, nil
		})

	// Activity on day 10 restarts the spell: the win-back starts 30 days
	// after it, once; the customer is then erased and the watch ends.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalActivity, workflows.ActivitySignal{At: env.Now()})
	}, 10*24*time.Hour)
	env.RegisterDelayedCallback(func() { gone = true }, 50*24*time.Hour)
	env.ExecuteWorkflow(workflows.InactivityWorkflowName, workflows.InactivityInput{CustomerID: "ada", LastActivity: start, Day: 24 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []time.Duration{40 * 24 * time.Hour}, started)
	require.Equal(t, "winback", inputs[0].CampaignID)
	require.Equal(t, "Europe/Paris", inputs[0].Timezone)
	require.Equal(t, 2, inputs[0].Version)
	require.NotEmpty(t, inputs[0].EnrollmentID)
}
