package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/workflows"
)

// LoadInactivityPlans answers a watcher workflow from before the
// re-engagement scan: it is to end. The scan (app.StartQuiet) finds the
// same customers from the store: their last event is in
// customer_activity, and the campaigns a watcher started this quiet spell
// are enrolments since it.
func (*Activities) LoadInactivityPlans(context.Context, workflows.InactivityQuery) (workflows.InactivityPlans, error) {
	return workflows.InactivityPlans{Retire: true}, nil
}

// FindQuietCustomers starts re-engagement campaigns for the customers who
// have gone quiet (app.StartQuiet), heartbeating after each page.
func (a *Activities) FindQuietCustomers(ctx context.Context) (workflows.QuietScan, error) {
	scan, err := a.App.StartQuiet(ctx, func(s app.QuietScan) { activity.RecordHeartbeat(ctx, s.Considered) })
	return workflows.QuietScan(scan), err
}
