package workflows_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/internal/campaign"
	liftworker "github.com/lift-hq/lift/worker"
	"github.com/lift-hq/lift/workflows"
)

func supportEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(patientWorker)
	env.SetStartTime(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	liftworker.RegisterWorkflows(env)
	liftworker.RegisterActivities(env, nil)
	return env
}

func TestExperimentCheckMovesEveryPendingPromotion(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	moves := []workflows.Promotion{{CampaignID: "a", ExperimentID: "e1", Winner: "B"}, {CampaignID: "b", ExperimentID: "e2", Winner: "C"}}
	env.OnActivity(workflows.ActivityCheckExperiments, mock.Anything).Return(moves, nil).Once()
	var moved []string
	env.OnActivity(workflows.ActivityMoveToWinner, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p workflows.Promotion) (int, error) {
			moved = append(moved, p.CampaignID+"→"+p.Winner)
			return map[string]int{"a": 7, "b": 3}[p.CampaignID], nil
		}).Twice()
	env.ExecuteWorkflow(workflows.CheckExperimentsWorkflowName)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var total int
	require.NoError(t, env.GetWorkflowResult(&total))
	require.Equal(t, 10, total, "the enrolments moved by every pending promotion")
	require.Equal(t, []string{"a→B", "b→C"}, moved, "in the order the check returned them")
}

func TestExperimentCheckWithNothingPendingMovesNothing(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	env.OnActivity(workflows.ActivityCheckExperiments, mock.Anything).Return([]workflows.Promotion(nil), nil).Once()
	env.ExecuteWorkflow(workflows.CheckExperimentsWorkflowName)
	require.NoError(t, env.GetWorkflowError())
	var total int
	require.NoError(t, env.GetWorkflowResult(&total))
	require.Zero(t, total)
	env.AssertNotCalled(t, workflows.ActivityMoveToWinner, mock.Anything, mock.Anything)
}

func TestPromotionMovesTheWinnersRunningEnrolments(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	p := workflows.Promotion{CampaignID: "welcome", ExperimentID: "subject-1", Winner: "B"}
	env.OnActivity(workflows.ActivityMoveToWinner, mock.Anything, p).Return(42, nil).Once()
	env.ExecuteWorkflow(workflows.PromoteWorkflowName, p)
	require.NoError(t, env.GetWorkflowError())
	var moved int
	require.NoError(t, env.GetWorkflowResult(&moved))
	require.Equal(t, 42, moved)
}

func TestAffinityRebuildRunsWithTheConfiguredSupport(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	attempts := 0
	env.OnActivity(workflows.ActivityRebuildAffinities, mock.Anything, 5).Return(
		func(context.Context, int) (int64, error) {
			attempts++
			if attempts == 1 {
				return 0, errors.New("database restarting")
			}
			return 1234, nil
		})
	env.ExecuteWorkflow(workflows.RebuildWorkflowName, workflows.RebuildInput{MinSupport: 5})
	require.NoError(t, env.GetWorkflowError())
	var pairs int64
	require.NoError(t, env.GetWorkflowResult(&pairs))
	require.EqualValues(t, 1234, pairs)
	require.Equal(t, 2, attempts, "a failed rebuild is tried again")
}

// TestInactivityWatchContinuesAsNewKeepingItsSpell: after 200 activity
// signals the watcher starts over with a short history, carrying the last
// activity and the campaigns already started this quiet spell, so a
// continue-as-new never starts a campaign twice.
func TestInactivityWatchContinuesAsNewKeepingItsSpell(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	start := env.Now()
	plan := workflows.InactivityPlan{Version: 1, After: campaign.Offset{Days: 30}, Timezone: "UTC",
		Plan: campaign.Plan{ID: "winback", Kind: campaign.CrossSell, Steps: []campaign.PlanStep{{ID: "miss-you"}}}}
	env.OnActivity(workflows.ActivityLoadInactivityPlans, mock.Anything, mock.Anything).Return(
		workflows.InactivityPlans{Plans: []workflows.InactivityPlan{plan}}, nil)
	started := 0
	env.OnWorkflow(workflows.SequenceWorkflowName, mock.Anything, mock.Anything).Return(
		func(workflow.Context, workflows.SequenceInput) (workflows.SequenceResult, error) {
			started++
			return workflows.SequenceResult{}, nil
		})
	// 31 quiet days start the win-back; then 200 late, out-of-order
	// signals (about activity before the spell began) fill the history.
	env.RegisterDelayedCallback(func() {
		for range 200 {
			env.SignalWorkflow(workflows.SignalActivity, workflows.ActivitySignal{At: start.Add(-time.Hour)})
		}
	}, 31*24*time.Hour)
	env.ExecuteWorkflow(workflows.InactivityWorkflowName, workflows.InactivityInput{CustomerID: "ada", LastActivity: start, Day: 24 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	var cont *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &cont)
	require.Equal(t, workflows.InactivityWorkflowName, cont.WorkflowType.Name)
	var next workflows.InactivityInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next))
	require.Equal(t, 1, started, "the win-back started once")
	require.Equal(t, "ada", next.CustomerID)
	require.True(t, start.Equal(next.LastActivity), "older activity does not restart the spell: %s", next.LastActivity)
	require.Equal(t, []string{"winback"}, next.Fired, "the next run knows the win-back already started")
	require.Equal(t, 24*time.Hour, next.Day)
}

func TestPurgeRunsOnItsSchedule(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	env.OnActivity(workflows.ActivityPurgeExpired, mock.Anything).Return(workflows.Purged{IdempotencyKeys: 3, SendSlots: 1}, nil).Once()
	env.ExecuteWorkflow(workflows.PurgeWorkflowName)
	require.NoError(t, env.GetWorkflowError())
	var p workflows.Purged
	require.NoError(t, env.GetWorkflowResult(&p))
	require.Equal(t, workflows.Purged{IdempotencyKeys: 3, SendSlots: 1}, p)
}
