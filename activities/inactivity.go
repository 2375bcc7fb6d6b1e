package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/workflows"
)

// LoadInactivityPlans answers a watcher workflow from before the
// re-engagement scan: it retires (see app.RetireInactivityWatch).
func (a *Activities) LoadInactivityPlans(context.Context, workflows.InactivityQuery) (workflows.InactivityPlans, error) {
	return a.App.RetireInactivityWatch(), nil
}

// FindQuietCustomers starts re-engagement campaigns for the customers who
// have gone quiet (app.StartQuiet), heartbeating after each page.
func (a *Activities) FindQuietCustomers(ctx context.Context) (workflows.QuietScan, error) {
	scan, err := a.App.StartQuiet(ctx, func(s app.QuietScan) { activity.RecordHeartbeat(ctx, s.Considered) })
	return workflows.QuietScan(scan), err
}
