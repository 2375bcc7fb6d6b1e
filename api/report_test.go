package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/models"
)

// TestReportMatchesAHandComputedFixture: four customers in variant A, four
// held out, and one A enrolment outside the period. Every number below is
// worked out by hand from the rows.
func TestReportMatchesAHandComputedFixture(t *testing.T) {
	b := setup(t)
	b.seed(t)
	db := b.store.DB()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	enrol := func(id, variant string, at time.Time) {
		require.NoError(t, db.Create(&models.Enrollment{ID: id, CustomerID: "cust-" + id, CampaignID: "camera-accessories", Version: 1,
			WorkflowID: "seq/" + id, Variant: variant, Status: models.StatusCompleted, EnrolledAt: at}).Error)
	}
	send := func(enr, step string, opened, clicked bool) {
		m := &models.Message{ID: enr + "-" + step, IdempotencyKey: models.MessageKey(enr, step), EnrollmentID: enr, StepID: step,
			CustomerID: "cust-" + enr, CampaignID: "camera-accessories", Variant: "A", Status: models.MessageSent, SentAt: &t0}
		if opened {
			m.OpenedAt = &t0
		}
		if clicked {
			m.ClickedAt = &t0
		}
		require.NoError(t, db.Create(m).Error)
	}
	convert := func(enr, variant, step string, minor int64) {
		require.NoError(t, db.Create(&models.Conversion{EnrollmentID: enr, OrderID: "o-" + enr, CustomerID: "cust-" + enr,
			CampaignID: "camera-accessories", Variant: variant, Goal: "purchase", RevenueMinor: minor, Currency: "USD", StepID: step, OrderedAt: t0}).Error)
	}
	for i := 1; i <= 4; i++ {
		enrol(fmt.Sprint("a", i), "A", t0)
		enrol(fmt.Sprint("h", i), "holdout", t0)
		send(fmt.Sprint("a", i), "complement", i <= 2, i == 1)
		if i <= 3 {
			send(fmt.Sprint("a", i), "guide", i == 1, false)
		}
	}
	convert("a1", "A", "complement", 10000)
	convert("a2", "A", "guide", 500)
	convert("h1", "holdout", "", 8000)
	enrol("old", "A", t0.AddDate(0, -1, 0)) // before the period
	convert("old", "A", "complement", 99900)

	st, body := b.do(t, "GET", "/v1/campaigns/camera-accessories/report?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z", "")
	require.Equal(t, 200, st, "%v", body)
	variants := body["variants"].([]any)
	require.Len(t, variants, 2)
	a, h := variants[0].(map[string]any), variants[1].(map[string]any)
	require.Equal(t, "A", a["variant"])
	require.EqualValues(t, 4, a["enrolled"])
	require.EqualValues(t, 2, a["converted"])
	require.InDelta(t, 0.5, a["conversion_rate"], 1e-9)
	require.InDelta(t, 105.00, a["revenue"], 1e-9)
	require.InDelta(t, 26.25, a["revenue_per_recipient"], 1e-9)
	require.EqualValues(t, 7, a["sent"])
	require.Equal(t, "holdout", h["variant"])
	require.InDelta(t, 0.25, h["conversion_rate"], 1e-9)
	require.EqualValues(t, 0, h["sent"])
	// 0.5 - 0.25, se = sqrt(0.5*0.5/4 + 0.25*0.75/4) = 0.330719; z = 1.959964.
	lift := a["conversion_lift_vs_holdout"].(map[string]any)
	require.InDelta(t, 0.25, lift["estimate"], 1e-9)
	require.InDelta(t, -0.398197, lift["low"], 1e-5)
	require.InDelta(t, 0.898197, lift["high"], 1e-5)
	require.InDelta(t, 1.0, a["incremental_conversions"], 1e-9, "2 converted against 4 x 25 % expected without email")
	require.Nil(t, h["conversion_lift_vs_holdout"])

	steps := body["steps"].([]any)
	require.Len(t, steps, 2)
	complement, guide := steps[0].(map[string]any), steps[1].(map[string]any)
	require.Equal(t, "complement", complement["step"])
	require.EqualValues(t, 4, complement["sent"])
	require.EqualValues(t, 2, complement["unique_opens"])
	require.EqualValues(t, 1, complement["unique_clicks"])
	require.InDelta(t, 0.5, complement["click_to_open_rate"], 1e-9)
	require.InDelta(t, 25.00, complement["revenue_per_email"], 1e-9)
	require.InDelta(t, 100.0/105, complement["share_of_sequence_revenue"], 1e-9)
	require.Equal(t, false, complement["trim_candidate"])
	require.Equal(t, "guide", guide["step"])
	require.EqualValues(t, 3, guide["sent"])
	require.InDelta(t, 5.0/105, guide["share_of_sequence_revenue"], 1e-9)
	require.Equal(t, true, guide["trim_candidate"], "under 5 % of the sequence's revenue")

	st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories/report?from=yesterday", "")
	requireError(t, st, body, 422, "invalid", "from")
	st, body = b.do(t, "GET", "/v1/campaigns/nope/report", "")
	require.Equal(t, 404, st, "%v", body)
}
