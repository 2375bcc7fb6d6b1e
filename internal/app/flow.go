package app

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/models"
)

// Flow facts are what a step's only_if (and a flow's branch) is matched
// against, in the trigger's where language, for one enrolment now:
//
//   - the customer: customer.tier, customer.country, customer.locale,
//     customer.timezone, and their order history as Lift recorded it:
//     orders and revenue (also as customer.orders, customer.revenue, and
//     customer.days_since_first_order);
//   - engagement with this enrolment's emails: opened and clicked, the
//     IDs of the steps whose email was opened or clicked
//     ({"clicked": "complement"});
//   - what was bought since enrolment: purchased_sku, purchased_category;
//   - the trigger event's properties, its sku and category.
const (
	FactOpened            = "opened"
	FactClicked           = "clicked"
	FactPurchasedSKU      = "purchased_sku"
	FactPurchasedCategory = "purchased_category"
	FactOrders            = "orders"
	FactRevenue           = "revenue"
)

// FlowFacts gathers the facts of an enrolment now (see the constants).
func (a *App) FlowFacts(ctx context.Context, enrollmentID string) (campaign.Facts, error) {
	enr, err := a.Store.GetEnrollment(ctx, enrollmentID)
	if err != nil {
		return nil, err
	}
	f := campaign.Facts{}
	if enr.TriggerEventID != "" {
		ev, err := a.Store.GetEvent(ctx, enr.TriggerEventID)
		switch {
		case errs.Is(err, errs.NotFound):
		case err != nil:
			return nil, err
		default:
			for k, v := range ev.Properties {
				if !slices.Contains(computedFacts, k) && !strings.HasPrefix(k, "customer.") && !isFlowFact(k) {
					f[k] = v
				}
			}
			skus, err := a.Store.EventSKUs(ctx, ev)
			if err != nil {
				return nil, err
			}
			if len(skus) > 0 {
				products, err := a.Store.GetProducts(ctx, skus)
				if err != nil {
					return nil, err
				}
				var cats []string
				for _, sku := range skus {
					if p, ok := products[sku]; ok && p.Category != "" {
						cats = append(cats, p.Category)
					}
				}
				f["sku"], f["category"] = skus, cats
			}
		}
	}
	cust, err := a.Store.GetCustomer(ctx, enr.CustomerID)
	if err != nil {
		return nil, err
	}
	for k, v := range customerFacts(cust) {
		f[k] = v
	}
	h, err := a.Store.CustomerOrderHistory(ctx, cust.ID)
	if err != nil {
		return nil, err
	}
	revenue := 0.0
	for cur, minor := range h.ByCurrency {
		revenue += money.Major(float64(minor), cur)
	}
	f[FactOrders], f[FactRevenue] = float64(h.Orders), revenue
	f[campaign.FactOrders], f[campaign.FactRevenue] = float64(h.Orders), revenue
	if h.First != nil {
		f[campaign.FactDaysSinceFirstOrder] = math.Floor(a.now().Sub(*h.First).Hours() / 24)
	}
	e, err := a.engagement(ctx, enr.ID)
	if err != nil {
		return nil, err
	}
	f[FactOpened], f[FactClicked] = e.Opened, e.Clicked
	skus, cats, err := a.Store.PurchasedSince(ctx, cust.ID, enr.EnrolledAt)
	if err != nil {
		return nil, err
	}
	f[FactPurchasedSKU], f[FactPurchasedCategory] = nonNilStrings(skus), nonNilStrings(cats)
	return f, nil
}

// engagement is what the customer did with an enrolment's emails: the
// IDs of the steps whose email was opened, and clicked (never nil).
func (a *App) engagement(ctx context.Context, enrollmentID string) (WebhookEngagement, error) {
	e := WebhookEngagement{Opened: []string{}, Clicked: []string{}}
	msgs, err := a.Store.ListMessages(ctx, models.MessageFilter{EnrollmentID: enrollmentID})
	for _, m := range msgs {
		if m.OpenedAt != nil || m.ClickedAt != nil { // a click is an open the pixel missed
			e.Opened = append(e.Opened, m.StepID)
		}
		if m.ClickedAt != nil {
			e.Clicked = append(e.Clicked, m.StepID)
		}
	}
	return e, err
}

func isFlowFact(k string) bool {
	switch k {
	case FactOpened, FactClicked, FactPurchasedSKU, FactPurchasedCategory, FactOrders, FactRevenue:
		return true
	}
	return false
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// OnlyIfUnmet says why a step's only_if fails for the enrolment now, or
// "" when the step has none or it holds.
func (a *App) OnlyIfUnmet(ctx context.Context, enrollmentID string, step campaign.Step) (string, error) {
	if len(step.OnlyIf) == 0 {
		return "", nil
	}
	facts, err := a.FlowFacts(ctx, enrollmentID)
	if err != nil {
		return "", err
	}
	if campaign.Match(step.OnlyIf, facts) {
		return "", nil
	}
	return "only_if not met (" + campaign.Describe(step.OnlyIf) + ")", nil
}
