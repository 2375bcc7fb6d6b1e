package activities

import (
	"context"

	"github.com/lift-hq/lift/workflows"
)

// LoadInactivityPlans returns the live inactivity campaigns the customer
// may enter; the same enrolment gate as event triggers decides (see
// app.InactivityPlans).
func (a *Activities) LoadInactivityPlans(ctx context.Context, in workflows.InactivityQuery) (workflows.InactivityPlans, error) {
	return a.App.InactivityPlans(ctx, in.CustomerID, in.Day)
}
