package workflows

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the purge: a Temporal Schedule runs it to delete what Lift
// keeps only for a while (stored Idempotency-Key answers, which may name
// customers; applied SendGrid event IDs; frequency-cap slots).
const (
	PurgeWorkflowName = "Purge"
	PurgeScheduleID   = "lift-purge"
)

// Purged counts what a purge deleted.
type Purged struct {
	IdempotencyKeys int64 `json:"idempotency_keys"`
	WebhookEvents   int64 `json:"webhook_events"`
	SendSlots       int64 `json:"send_slots"`
	AuditEntries    int64 `json:"audit_entries,omitempty"`
	ConsoleSessions int64 `json:"console_sessions,omitempty"`
}

// PurgeWorkflow deletes what has outlived its retention.
func PurgeWorkflow(ctx workflow.Context) (Purged, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3}, // the next run tries again anyway
		Summary:             "delete expired records",
	})
	var p Purged
	err := workflow.ExecuteActivity(ctx, ActivityPurgeExpired).Get(ctx, &p)
	return p, err
}

// EnsurePurgeSchedule creates the schedule that purges every interval, if
// it does not exist yet.
func EnsurePurgeSchedule(ctx context.Context, c client.Client, every time.Duration) error {
	return ensureSchedule(ctx, c, client.ScheduleOptions{
		ID:     PurgeScheduleID,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{ID: "purge", Workflow: PurgeWorkflowName, TaskQueue: TaskQueue},
		Note:   "Deletes stored Idempotency-Key answers, SendGrid event IDs and frequency-cap slots past their retention.",
	})
}
