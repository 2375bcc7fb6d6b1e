package app

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/workflows"
)

// InactivityPlans returns the live inactivity campaigns the customer may
// enter, with the customer's time zone: the same gate as event triggers
// (where filters on customer attributes, the upsell pause, re-entry
// rules) decides. Gone is set when the customer no longer exists. day
// scales re-entry periods like the watcher's own clock.
func (a *App) InactivityPlans(ctx context.Context, customerID string, day time.Duration) (workflows.InactivityPlans, error) {
	cust, err := a.Store.GetCustomer(ctx, customerID)
	if errs.Is(err, errs.NotFound) {
		return workflows.InactivityPlans{Gone: true}, nil
	}
	if err != nil {
		return workflows.InactivityPlans{}, err
	}
	live, err := a.defs.Live(ctx, campaign.TriggerInactivity)
	if err != nil {
		return workflows.InactivityPlans{}, err
	}
	var out workflows.InactivityPlans
	for _, lv := range live {
		v, err := a.gate(ctx, entry{def: lv.Definition, customer: cust, facts: customerFacts(cust), now: a.now(), day: day})
		if err != nil {
			return workflows.InactivityPlans{}, err
		}
		if !v.matched || v.blocked != "" {
			continue
		}
		after, _ := campaign.ParseOffset(lv.Definition.Trigger.After)
		out.Plans = append(out.Plans, workflows.InactivityPlan{Version: lv.Version, After: after, Plan: lv.Definition.Plan(), Timezone: cust.Timezone})
	}
	return out, nil
}
