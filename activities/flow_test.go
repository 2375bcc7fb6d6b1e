package activities_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// A step's only_if is checked right before it sends, over the
// enrolment's facts: engagement with its earlier emails, what was bought
// since it began, the order history. A step that fails it is skipped with
// the condition as the reason, never sent.
func TestOnlyIfIsCheckedRightBeforeTheStepSends(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		d := campaign.Definition{ID: "flow", Name: "Flow", Kind: campaign.CrossSell, Trigger: campaign.Trigger{Event: "purchase"},
			Steps: []campaign.Step{
				{ID: "s1", At: "1d", Subject: "First", Template: "education"},
				{ID: "s2", At: "2d", Subject: "For clickers", Template: "education", OnlyIf: map[string]any{"clicked": "s1"}},
				{ID: "s3", At: "3d", Subject: "Lens owners", Template: "education",
					OnlyIf: map[string]any{"purchased_category": "lenses", "orders_gte": 2.0}},
			}}
		require.NoError(t, d.Validate())
		raw, err := json.Marshal(d)
		require.NoError(t, err)
		require.NoError(t, b.store.CreateCampaign(ctx, &models.Campaign{ID: "flow", Name: "Flow", Kind: "cross_sell", TriggerEvent: "purchase", Definition: raw}))
		_, err = b.store.PublishCampaign(ctx, "flow")
		require.NoError(t, err)
		enrolled := b.orderedAt.Add(-time.Hour)
		require.NoError(t, b.store.EnsureEnrollment(ctx, &models.Enrollment{ID: "f-1", CustomerID: "ada", CampaignID: "flow", Version: 1,
			WorkflowID: "seq/flow/ada", Variant: "A", TriggerEventID: "ev-1", Status: domain.StatusRunning, EnrolledAt: enrolled}))
		ref := func(step string) workflows.StepRef {
			return workflows.StepRef{EnrollmentID: "f-1", CustomerID: "ada", CampaignID: "flow", Version: 1, StepID: step, Variant: "A", TriggerEventID: "ev-1"}
		}
		prepare := func(step string) workflows.Prepared {
			p, err := b.acts.Prepare(ctx, ref(step))
			require.NoError(t, err)
			return p
		}

		// s1 was sent but not clicked: s2 is skipped, and says why.
		p1 := prepare("s1")
		require.False(t, p1.Skip)
		p2 := prepare("s2")
		require.True(t, p2.Skip)
		require.Equal(t, "only_if not met (clicked=s1)", p2.Reason)
		// One order (the camera, before the enrolment): s3 is skipped too.
		facts, err := b.app.FlowFacts(ctx, "f-1")
		require.NoError(t, err)
		require.Equal(t, []string{}, facts["clicked"])
		require.EqualValues(t, 1, facts["orders"])
		require.Equal(t, []string{"cam"}, facts["purchased_sku"], "the trigger's order came after this enrolment began")

		// A click on s1 and a lens bought: the facts say so.
		now := time.Now()
		require.NoError(t, b.store.UpdateDelivery(ctx, p1.MessageID, "delivered", &now, &now))
		b.purchase(t, "ev-2", "o-2", "lens")
		facts, err = b.app.FlowFacts(ctx, "f-1")
		require.NoError(t, err)
		require.Equal(t, []string{"s1"}, facts["clicked"])
		require.Equal(t, []string{"s1"}, facts["opened"])
		require.EqualValues(t, 2, facts["orders"])
		require.Contains(t, facts["purchased_category"], "lenses")
		p3 := prepare("s3")
		require.False(t, p3.Skip, "%+v", p3)
		// s2 decided once: asking again returns the first answer.
		require.True(t, prepare("s2").Skip)
	})
}
