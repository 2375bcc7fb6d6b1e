package activities

import (
	"context"

	"github.com/lift-hq/lift/workflows"
)

// CheckEligibility decides, at send time, whether the customer may get
// this campaign's email; see app.Eligibility.
func (a *Activities) CheckEligibility(ctx context.Context, ref workflows.StepRef) (workflows.Eligibility, error) {
	el, _, err := a.App.Eligibility(ctx, ref.CustomerID, ref.CampaignID)
	return el, err
}
