package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/workflows"
)

// TestDormancyClockScansEveryPeriod: the re-engagement scan runs at once
// and then every period; a new period (EnsureClock's signal) applies from
// then on; a scan that fails for good does not stop the clock; after 500
// ticks the clock continues as new with its current period.
func TestDormancyClockScansEveryPeriod(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	start := env.Now()
	var at []time.Duration
	env.OnActivity(workflows.ActivityFindQuietCustomers, mock.Anything).Return(
		func(context.Context) (workflows.QuietScan, error) {
			at = append(at, env.Now().Sub(start))
			if len(at) == 3 {
				return workflows.QuietScan{}, temporal.NewNonRetryableApplicationError("store down", "test", errors.New("down"))
			}
			return workflows.QuietScan{Campaigns: 1}, nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalEvery, 30*time.Minute)
	}, 10*time.Hour+time.Minute)
	env.ExecuteWorkflow(workflows.DormancyWorkflowName, workflows.ClockInput{Every: time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	var cont *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &cont)
	require.Equal(t, workflows.DormancyWorkflowName, cont.WorkflowType.Name)
	var next workflows.ClockInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next))
	require.Equal(t, 30*time.Minute, next.Every)

	require.Len(t, at, 500)
	require.Equal(t, []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour}, at[:4], "the failed third scan did not stop the clock")
	require.Equal(t, 10*time.Hour, at[10])
	require.Equal(t, 10*time.Hour+time.Minute, at[11], "the new period starts when it is given")
	require.Equal(t, 10*time.Hour+31*time.Minute, at[12])
}

// TestExperimentClockChecksEveryPeriod: the experiment clock runs the
// same check as the scheduled workflow did, every period.
func TestExperimentClockChecksEveryPeriod(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	checks := 0
	env.OnActivity(workflows.ActivityCheckExperiments, mock.Anything).Return(
		func(context.Context) ([]workflows.Promotion, error) {
			checks++
			return nil, nil
		})
	env.RegisterDelayedCallback(func() {
		require.Equal(t, 3, checks, "at once, then a day and two days later")
		env.CancelWorkflow()
	}, 48*time.Hour+time.Minute)
	env.ExecuteWorkflow(workflows.ExperimentClockWorkflowName, workflows.ClockInput{Every: 24 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.Equal(t, 3, checks)
}

// TestWatcherRetires: a watcher from before the scan ends at its next
// wake-up without starting anything.
func TestWatcherRetires(t *testing.T) {
	t.Parallel()
	env := supportEnv(t)
	env.OnActivity(workflows.ActivityLoadInactivityPlans, mock.Anything, mock.Anything).Return(
		workflows.InactivityPlans{Retire: true}, nil)
	env.ExecuteWorkflow(workflows.InactivityWorkflowName, workflows.InactivityInput{CustomerID: "ada", LastActivity: env.Now(), Day: 24 * time.Hour})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
}
