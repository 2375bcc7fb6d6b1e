package activities

import (
	"context"
	"time"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// EvaluatePurchase decides whether an order meets one of the goals and,
// if it does, records the conversion, credited to the step whose email the
// customer last opened or clicked before buying, within the campaign's
// attribution window. The order that started the sequence never ends it.
func (a *Activities) EvaluatePurchase(ctx context.Context, in workflows.PurchaseInput) (workflows.PurchaseResult, error) {
	order, err := a.Store.GetOrder(ctx, in.OrderID)
	if errs.Is(err, errs.NotFound) {
		return workflows.PurchaseResult{}, nil
	}
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	if in.TriggerEventID != "" && order.EventID == in.TriggerEventID {
		return workflows.PurchaseResult{}, nil
	}
	msgs, err := a.Store.ListMessages(ctx, models.MessageFilter{EnrollmentID: in.EnrollmentID})
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	goal, err := a.purchaseGoal(ctx, in, order, msgs)
	if err != nil || goal == "" {
		return workflows.PurchaseResult{}, err
	}
	enr, err := a.Store.GetEnrollment(ctx, in.EnrollmentID)
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	def, err := a.App.Definitions().Version(ctx, enr.CampaignID, enr.Version)
	if err != nil {
		return workflows.PurchaseResult{}, err
	}
	day := in.Day
	if day <= 0 {
		day = 24 * time.Hour
	}
	credited := attribute(msgs, order.OccurredAt, def.Attribution().Scaled(day))
	if m, err := a.couponCredit(ctx, order, msgs); err != nil {
		return workflows.PurchaseResult{}, err
	} else if m != nil {
		credited = m
	}
	conv := &models.Conversion{
		EnrollmentID: enr.ID, OrderID: order.ID, CustomerID: enr.CustomerID, CampaignID: enr.CampaignID,
		Variant: enr.Variant, Goal: string(goal), RevenueMinor: order.RevenueMinor, Currency: order.Currency,
		OrderedAt: order.OccurredAt,
	}
	if credited != nil {
		conv.StepID, conv.MessageID = credited.StepID, credited.ID
		if credited.SentAt != nil {
			lag := int64(order.OccurredAt.Sub(*credited.SentAt) / time.Second)
			conv.LagSeconds = &lag
		}
	}
	if err := a.Store.RecordConversion(ctx, conv); err != nil {
		return workflows.PurchaseResult{}, err
	}
	return workflows.PurchaseResult{Converts: true, Goal: goal, RevenueMinor: order.RevenueMinor, Step: conv.StepID}, nil
}

// attribute returns the sent message the customer last opened or clicked
// at or before t and within window of it, or nil.
func attribute(msgs []models.Message, t time.Time, window time.Duration) *models.Message {
	var best *models.Message
	var bestAt time.Time
	for i := range msgs {
		m := &msgs[i]
		if m.Status != domain.MessageSent {
			continue
		}
		for _, at := range []*time.Time{m.OpenedAt, m.ClickedAt} {
			if at == nil || at.After(t) || t.Sub(*at) > window {
				continue
			}
			if best == nil || at.After(bestAt) {
				best, bestAt = m, *at
			}
		}
	}
	return best
}

// purchaseGoal returns the first goal the order meets, or "".
func (a *Activities) purchaseGoal(ctx context.Context, in workflows.PurchaseInput, order *models.Order, msgs []models.Message) (campaign.Goal, error) {
	bought := map[string]bool{}
	var skus []string
	for _, it := range order.Items {
		bought[it.SKU] = true
		skus = append(skus, it.SKU)
	}
	for _, goal := range in.Goals {
		switch goal {
		case campaign.GoalPurchaseAny:
			return goal, nil
		case campaign.GoalPurchaseOfRecommended:
			for _, m := range msgs {
				if m.Status != domain.MessageSent {
					continue
				}
				for _, sku := range m.Recommended {
					if bought[sku] {
						return goal, nil
					}
				}
			}
		case campaign.GoalPurchaseInCategory:
			enr, err := a.Store.GetEnrollment(ctx, in.EnrollmentID)
			if err != nil {
				return "", err
			}
			trigger, err := a.App.TriggerSKUs(ctx, enr.TriggerEventID)
			if err != nil {
				return "", err
			}
			ps, err := a.Store.GetProducts(ctx, append(trigger, skus...))
			if err != nil {
				return "", err
			}
			cats := map[string]bool{}
			for _, sku := range trigger {
				if c := ps[sku].Category; c != "" {
					cats[c] = true
				}
			}
			for _, sku := range skus {
				if cats[ps[sku].Category] {
					return goal, nil
				}
			}
		}
	}
	return "", nil
}

// couponCredit is the message whose one-time code the order used
// (properties.coupon of its event), opened or not, if the code was still
// valid when the customer bought; nil otherwise.
func (a *Activities) couponCredit(ctx context.Context, order *models.Order, msgs []models.Message) (*models.Message, error) {
	if order.EventID == "" {
		return nil, nil
	}
	ev, err := a.Store.GetEvent(ctx, order.EventID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	code, _ := ev.Properties["coupon"].(string)
	if code == "" {
		return nil, nil
	}
	c, err := a.Store.CouponByCode(ctx, code)
	if err != nil || c == nil || (c.ExpiresAt != nil && order.OccurredAt.After(*c.ExpiresAt)) {
		return nil, err
	}
	for i := range msgs {
		if msgs[i].ID == *c.MessageID && msgs[i].Status == domain.MessageSent {
			return &msgs[i], nil
		}
	}
	return nil, nil
}
