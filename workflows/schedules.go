package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the affinity rebuild: a Temporal Schedule starts the workflow,
// which runs the rebuild activity, off the send path.
const (
	RebuildWorkflowName = "RebuildAffinities"
	RebuildScheduleID   = "lift-rebuild-affinities"
)

// RebuildInput says which pairs to keep.
type RebuildInput struct {
	MinSupport int `json:"min_support"`
}

// RebuildAffinitiesWorkflow recomputes bought_together's affinities.
func RebuildAffinitiesWorkflow(ctx workflow.Context, in RebuildInput) (int64, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute, // a big history takes a while; it is not on the send path
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "rebuild affinities",
	})
	var pairs int64
	err := workflow.ExecuteActivity(ctx, ActivityRebuildAffinities, in.MinSupport).Get(ctx, &pairs)
	return pairs, err
}

// EnsureRebuildSchedule creates the schedule that rebuilds affinities
// every interval, if it does not exist yet.
func EnsureRebuildSchedule(ctx context.Context, c client.Client, every time.Duration, minSupport int) error {
	return ensureSchedule(ctx, c, client.ScheduleOptions{
		ID:   RebuildScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{
			ID: "rebuild-affinities", Workflow: RebuildWorkflowName, TaskQueue: TaskQueue,
			Args: []any{RebuildInput{MinSupport: minSupport}},
		},
		Note: "Recomputes bought_together's co-purchase affinities from order history.",
	})
}

// ensureSchedule creates a schedule unless it exists: every start of Lift
// (and every lift migrate) calls it, and an operator's changes to an
// existing schedule are kept.
func ensureSchedule(ctx context.Context, c client.Client, opts client.ScheduleOptions) error {
	_, err := c.ScheduleClient().Create(ctx, opts)
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", opts.ID, err)
	}
	return nil
}
