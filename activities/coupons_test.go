package activities_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Each recipient of a pooled incentive gets a code of their own, never
// one another got; an empty pool holds the step instead of sending it
// without a code; a purchase with the code credits the step, opened or
// not.
func TestCouponPoolsGiveEachRecipientTheirOwnCode(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		d := campaign.Definition{ID: "bf", Name: "Black Friday", Kind: campaign.CrossSell, Trigger: campaign.Trigger{Event: "purchase"},
			ExitOn: []campaign.Goal{campaign.GoalPurchaseAny},
			Steps: []campaign.Step{{ID: "offer", At: "1d", Subject: "Your code", Template: "offer",
				Incentive: &campaign.Incentive{PercentOff: 20, Pool: "bf-codes", ExpiresIn: "7d"}}}}
		require.NoError(t, d.Validate())
		raw, _ := json.Marshal(d)
		require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "bf", Name: "BF", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
		_, err := b.store.PublishCampaign(ctx, "bf")
		require.NoError(t, err)
		pool, err := b.app.AddCoupons(ctx, "bf-codes", []string{"BF-AAA", "BF-BBB"})
		require.NoError(t, err)
		require.EqualValues(t, 2, pool.Available)

		run := func(i int) workflows.StepOutcome {
			id := fmt.Sprint("bf-", i)
			require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: id, CustomerID: "ada", CampaignID: "bf", Version: 1,
				WorkflowID: "seq/bf/" + id, Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusRunning, EnrolledAt: b.orderedAt.Add(-time.Hour)}))
			out, err := b.acts.RunStep(ctx, workflows.RunStepInput{Ref: workflows.StepRef{EnrollmentID: id, CustomerID: "ada", CampaignID: "bf",
				Version: 1, StepID: "offer", Variant: "A", TriggerEventID: "ev-1"}, Day: 24 * time.Hour})
			require.NoError(t, err)
			// Each enrolment is its own sequence; end it, so the next may run.
			require.NoError(t, b.store.FinishEnrollment(ctx, id, models.EnrollmentOutcome{Status: domain.StatusCompleted, EndedAt: time.Now()}))
			return out
		}
		codes := map[string]bool{}
		for i := range 2 {
			out := run(i)
			require.NotEmpty(t, out.Sent.ProviderMessageID, "%+v", out)
			msg, err := b.store.GetMessage(ctx, out.Prepared.MessageID)
			require.NoError(t, err)
			c, err := b.store.IssuedCoupon(ctx, msg.ID)
			require.NoError(t, err)
			require.Contains(t, msg.Text, c.Code, "the email shows the recipient's own code")
			require.NotNil(t, c.ExpiresAt)
			codes[c.Code] = true
		}
		require.Len(t, codes, 2, "never the same code twice")
		held := run(2)
		require.True(t, held.Sent.Deferred)
		require.Equal(t, "coupon pool bf-codes has no unused code: the step waits until codes are added", held.Sent.Reason)
		require.Len(t, b.mailer.Sent(), 2, "not sent without a code")

		// The first recipient buys with their code, without opening: the
		// step that issued it is credited.
		first, err := b.store.IssuedCoupon(ctx, "x")
		require.NoError(t, err)
		require.Nil(t, first)
		msgs, err := b.store.ListMessages(ctx, models.MessageFilter{EnrollmentID: "bf-0"})
		require.NoError(t, err)
		c0, err := b.store.IssuedCoupon(ctx, msgs[0].ID)
		require.NoError(t, err)
		buy := func(order string, at time.Time) workflows.PurchaseResult {
			o := &models.Order{ID: order, CustomerID: "ada", EventID: "ev-" + order, Currency: "USD", OccurredAt: at, RevenueMinor: 5000,
				Items: []models.OrderItem{{SKU: "lens", Quantity: 1, PriceMinor: 5000}}}
			require.NoError(t, b.store.RecordEvent(ctx, &models.Event{ID: "ev-" + order, Type: "purchase", CustomerID: "ada", OccurredAt: at,
				Properties: map[string]any{"order_id": order, "coupon": c0.Code}}, o))
			res, err := b.acts.EvaluatePurchase(ctx, workflows.PurchaseInput{EnrollmentID: "bf-0", OrderID: order,
				Goals: []campaign.Goal{campaign.GoalPurchaseAny}, Day: 24 * time.Hour})
			require.NoError(t, err)
			require.True(t, res.Converts)
			return res
		}
		require.Equal(t, "offer", buy("o-bf", c0.ExpiresAt.Add(-time.Hour)).Step, "credited to the step that issued the code, though never opened")
		require.Empty(t, buy("o-late", c0.ExpiresAt.Add(time.Hour)).Step, "an expired code credits nothing")
	})
}
