package activities

import (
	"context"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/recs"
	"github.com/lift-hq/lift/models"
)

// Previewer renders what a step would send a customer right now, without
// sending or storing anything. It is not an activity: the API calls it for
// POST /v1/campaigns/{id}/preview.
type Previewer struct {
	A *Activities
}

// PreviewInput names the step, the customer and, optionally, the products
// the sequence would be about (default: the customer's latest order).
type PreviewInput struct {
	StepID      string
	CustomerID  string
	Variant     string
	TriggerSKUs []string
}

// PreviewResult is the email and the recommendations with their reasons.
type PreviewResult struct {
	Email models.Rendered
	Recs  recs.Result
	// Skipped says why the step would be skipped instead ("" when sent).
	Skipped string
}

// Preview renders a step of def for a customer.
func (p Previewer) Preview(ctx context.Context, def *campaign.Definition, in PreviewInput) (PreviewResult, error) {
	a := p.A
	step, ok := def.StepByID(in.StepID)
	if !ok {
		return PreviewResult{}, errs.Field(errs.NotFound, "step", "no step %q in campaign %s", in.StepID, def.ID)
	}
	cust, err := a.Store.GetCustomer(ctx, in.CustomerID)
	if errs.Is(err, errs.NotFound) {
		return PreviewResult{}, errs.Field(errs.NotFound, "customer_id", "customer %q not found", in.CustomerID)
	}
	if err != nil {
		return PreviewResult{}, err
	}
	trigger := in.TriggerSKUs
	if len(trigger) == 0 {
		if trigger, err = a.Store.LatestOrderSKUs(ctx, cust.ID); err != nil {
			return PreviewResult{}, err
		}
	}
	var res PreviewResult
	var recommended []string
	if step.Recommend != nil {
		owned, err := a.Store.OwnedSKUs(ctx, cust.ID)
		if err != nil {
			return PreviewResult{}, err
		}
		res.Recs, err = a.recommender().Recommend(ctx, recs.Request{Spec: *step.Recommend, Trigger: trigger, Owned: owned,
			Country: cust.Country, Tier: cust.Tier})
		if err != nil {
			return PreviewResult{}, err
		}
		recommended = res.Recs.SKUs()
		if len(recommended) == 0 && !step.Recommend.Optional {
			res.Skipped = "nothing to recommend: every candidate is owned, out of stock, blocked or unsuited"
		}
	}
	if in.Variant == "" {
		in.Variant = "A"
	}
	res.Email, err = a.compose(ctx, def, step, cust, in.Variant, trigger, recommended, nil)
	return res, err
}
